"""config/README.md documents every option of the config schema.

Every property name at every nesting level of workflow/schemas/config.schema.yaml (``properties``,
``additionalProperties`` and ``patternProperties`` schemas, ``$ref`` into ``$defs``, ``items``,
``oneOf``/``anyOf``/``allOf`` and ``if``/``then``/``else`` branches) must appear in config/README.md
as a dotted path in backticks, e.g. ```dataset.otb.otb_root```; map keys are written ``<name>``, as
in ```experiments.<name>.split```. The other way round, every option in the catalog's tables must
exist in the schema, so a removed or renamed key cannot stay documented. Fast: no workflow, no torch.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
DOCS = ROOT / "config" / "README.md"

MAP_KEY = "<name>"
BRANCHES = ("oneOf", "anyOf", "allOf")
CONDITIONALS = ("if", "then", "else", "not")


def _resolve(root: dict, ref: str) -> dict:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref are supported, got {ref!r}")
    node = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def schema_paths(schema: dict) -> set[str]:
    """Every option of ``schema`` as a dotted path (``<name>`` for map keys)."""
    paths: set[str] = set()
    referenced: set[str] = set()

    def walk(node, prefix: str, seen_refs: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            ref = node["$ref"]
            referenced.add(ref)
            if ref not in seen_refs:  # a recursive definition is walked once per path
                walk(_resolve(schema, ref), prefix, seen_refs | {ref})
        for name, sub in (node.get("properties") or {}).items():
            path = f"{prefix}.{name}" if prefix else name
            paths.add(path)
            walk(sub, path, seen_refs)
        map_schemas = [node.get("additionalProperties")] + list((node.get("patternProperties") or {}).values())
        for sub in map_schemas:
            if isinstance(sub, dict):
                path = f"{prefix}.{MAP_KEY}" if prefix else MAP_KEY
                paths.add(path)
                walk(sub, path, seen_refs)
        items = node.get("items")
        for sub in items if isinstance(items, list) else [items]:
            walk(sub, prefix, seen_refs)
        for key in BRANCHES:
            for sub in node.get(key) or []:
                walk(sub, prefix, seen_refs)
        for key in CONDITIONALS:
            walk(node.get(key), prefix, seen_refs)
        for sub in (node.get("dependentSchemas") or {}).values():
            walk(sub, prefix, seen_refs)

    walk(schema, "", frozenset())
    # definitions no option refers to: their keys are still options someone may set
    for name, sub in (schema.get("$defs") or schema.get("definitions") or {}).items():
        if f"#/$defs/{name}" not in referenced and f"#/definitions/{name}" not in referenced:
            walk(sub, name, frozenset())
    return paths


def documented_paths(text: str) -> set[str]:
    """Every backticked token of ``text``."""
    return set(re.findall(r"`([^`\n]+)`", text))


def catalog_paths(text: str, top_level: set[str]) -> set[str]:
    """The options named in the first column of the catalog's tables (rows starting with a path)."""
    found = set()
    for line in text.splitlines():
        m = re.match(r"\|\s*`([^`]+)`", line)
        if m and m.group(1).split(".")[0] in top_level:
            found.add(m.group(1))
    return found


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


@pytest.fixture(scope="module")
def docs() -> str:
    return DOCS.read_text()


def test_walker_sees_every_level(schema):
    paths = schema_paths(schema)
    # a nested property, a map of objects, the branches of a oneOf
    assert "dataset.otb.otb_root" in paths
    assert "experiments.<name>" in paths
    assert "experiments.<name>.train" in paths
    assert "experiments.<name>.label_every" in paths
    assert all(p.split(".")[0] in schema["properties"] for p in paths)


def test_walker_follows_refs_defs_and_conditionals():
    toy = {
        "$defs": {"pair": {"type": "object", "properties": {"left": {}, "right": {}}}, "lonely": {"properties": {"x": {}}}},
        "properties": {
            "a": {"$ref": "#/$defs/pair"},
            "b": {"additionalProperties": {"anyOf": [{"properties": {"c": {}}}, {"properties": {"d": {}}}]}},
            "e": {"if": {"properties": {"f": {}}}, "then": {"properties": {"g": {}}}, "else": {"properties": {"h": {}}}},
            "i": {"type": "array", "items": {"properties": {"j": {}}}},
            "k": {"patternProperties": {"^x": {"properties": {"l": {}}}}},
        },
    }
    assert schema_paths(toy) == {
        "a", "a.left", "a.right",
        "b", "b.<name>", "b.<name>.c", "b.<name>.d",
        "e", "e.f", "e.g", "e.h",
        "i", "i.j",
        "k", "k.<name>", "k.<name>.l",
        "lonely.x",
    }  # fmt: skip


def test_every_schema_option_is_documented(schema, docs):
    missing = sorted(schema_paths(schema) - documented_paths(docs))
    assert not missing, f"options of {SCHEMA.relative_to(ROOT)} not documented in {DOCS.relative_to(ROOT)}: " + ", ".join(
        f"`{p}`" for p in missing
    )


def test_every_documented_option_exists(schema, docs):
    stale = sorted(catalog_paths(docs, set(schema["properties"])) - schema_paths(schema))
    assert not stale, f"{DOCS.relative_to(ROOT)} documents options the schema does not have: " + ", ".join(stale)


def test_an_undocumented_option_fails(schema, docs):
    """The check is not vacuous: a key added to the schema alone is reported."""
    extended = yaml.safe_load(SCHEMA.read_text())
    extended["properties"]["dataset"]["properties"]["otb"]["properties"]["brand_new_key"] = {"type": "string"}
    missing = schema_paths(extended) - documented_paths(docs)
    assert "dataset.otb.brand_new_key" in missing


def test_the_demo_runs_the_neck_maps_the_closed_loop_design_was_chosen_on():
    """studies/closed_loop.py chose the closed-loop ROLO on every neck channel of the demo's data; a
    --configfile is merged into config/config.yaml key by key, whose channel_group 2 would win unless
    the demo gives its own (it did, unnoticed, before this test)."""
    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["extraction"]["neck"]
    demo = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())["extraction"]["neck"]
    assert {**default, **demo} == {"levels": [1, 2], "channel_group": 1}
