"""Unit tests of rolo.utils.provenance: the import closure of a module and the code hash over it.

Sources are edited only in a temporary copy of the package (``PACKAGE_DIR`` is monkeypatched).
"""

import re
import shutil

import pytest

import rolo.utils.provenance as provenance
from conftest import REPO
from rolo.utils.provenance import code_hash, module_closure

TRACKING = "tracking.trackers"


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of src/rolo's modules that provenance reads instead of the real ones."""
    copy = tmp_path / "rolo"
    shutil.copytree(provenance.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "PACKAGE_DIR", copy)
    return copy


def edit(path, text="\n# an edit\n"):
    path.write_text(path.read_text() + text)


def path_of(copy, module):
    return copy.joinpath(*module.split(".")).with_suffix(".py")


def test_tracking_closure():
    closure = module_closure(TRACKING)
    assert {TRACKING, "tracking.registry", "tracking.association", "utils.boxes", "tracking", "utils"} <= set(closure)
    assert "data.synthetic" not in closure
    assert closure == sorted(closure) and len(set(closure)) == len(closure)


def test_closure_of_leaf_module_includes_its_package():
    assert module_closure("utils.boxes") == ["utils", "utils.boxes"]
    assert module_closure("data.synthetic") == sorted(
        {"data", "data.synthetic", "data.sequences", "errors", "utils", "utils.boxes", "utils.io"}
    )


def test_closure_of_several_modules_is_union():
    assert module_closure("utils.boxes", "data.synthetic") == module_closure("data.synthetic")
    union = set(module_closure(TRACKING)) | set(module_closure("data.synthetic"))
    assert set(module_closure(TRACKING, "data.synthetic")) == union


def test_unknown_module_raises():
    with pytest.raises(ValueError, match="no module"):
        module_closure("nonexistent")


def test_code_hash_is_short_hex_and_stable():
    h = code_hash(TRACKING)
    assert re.fullmatch(r"[0-9a-f]{16}", h)
    assert code_hash(TRACKING) == h
    assert code_hash("utils.boxes") != h


def test_copy_hashes_like_the_package(package_copy, monkeypatch):
    # the hash depends on module names and contents, not on where the package lives
    copy_hash, copy_closure = code_hash(TRACKING), module_closure(TRACKING)
    monkeypatch.undo()
    assert provenance.PACKAGE_DIR != package_copy
    assert code_hash(TRACKING) == copy_hash
    assert module_closure(TRACKING) == copy_closure


@pytest.mark.parametrize("changed", [TRACKING, "tracking.models", "tracking.association", "utils.boxes"])
def test_code_hash_changes_with_a_module_in_the_closure(package_copy, changed):
    before = code_hash(TRACKING)
    edit(path_of(package_copy, changed))
    assert code_hash(TRACKING) != before


def test_code_hash_ignores_modules_outside_the_closure(package_copy):
    before_tracking, before_boxes = code_hash(TRACKING), code_hash("utils.boxes")
    edit(path_of(package_copy, "data.synthetic"))
    assert code_hash(TRACKING) == before_tracking
    edit(path_of(package_copy, "tracking.models"))
    assert code_hash("utils.boxes") == before_boxes


def test_new_import_extends_the_closure(package_copy):
    assert "data.synthetic" not in module_closure("utils.boxes")
    before = code_hash("utils.boxes")
    edit(path_of(package_copy, "utils.boxes"), "\nfrom rolo.data.synthetic import CHALLENGES  # noqa\n")
    assert "data.synthetic" in module_closure("utils.boxes")
    after = code_hash("utils.boxes")
    assert after != before
    edit(path_of(package_copy, "data.synthetic"))
    assert code_hash("utils.boxes") != after


def test_import_forms_are_all_followed(package_copy):
    (package_copy / "probe.py").write_text(
        "import rolo.utils.boxes\n"
        "from rolo.evaluation import metrics\n"
        "from rolo import errors\n"
        "def f():\n"
        "    from rolo.data.synthetic import SynthParams\n"
        "import numpy\n"
    )
    closure = module_closure("probe")
    assert {"probe", "utils.boxes", "evaluation", "evaluation.metrics", "errors", "data.synthetic"} <= set(closure)
    assert "numpy" not in closure


def test_each_source_is_parsed_once_per_process(package_copy, monkeypatch):
    # Snakemake asks for a code hash per job while it plans: an unchanged source is not parsed again,
    # an edited one is (the cache is keyed by the text)
    parsed = []
    real_parse = provenance.ast.parse
    monkeypatch.setattr(provenance.ast, "parse", lambda src, filename: parsed.append(filename) or real_parse(src, filename=filename))
    provenance._imported_names.cache_clear()
    first = code_hash(TRACKING)
    assert len(parsed) == len(set(parsed)) == len(module_closure(TRACKING))
    parsed.clear()
    assert code_hash(TRACKING) == first and code_hash("tracking.registry") and parsed == []
    edit(path_of(package_copy, "utils.boxes"))
    assert code_hash(TRACKING) != first
    assert parsed == [str(path_of(package_copy, "utils.boxes"))]


def test_real_sources_untouched_by_copy_edits(package_copy, monkeypatch):
    edit(path_of(package_copy, "utils.boxes"))
    edited = code_hash("utils.boxes")
    monkeypatch.undo()
    assert code_hash("utils.boxes") != edited


# --- the workflow's rules: which code edits rerun which jobs -----------------------------------


def rule_modules() -> dict[str, set[str]]:
    """``{rule file: {module}}`` of every ``code_hash("<module>")`` in the workflow's rule files."""
    out = {}
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        out[smk.name] = set(re.findall(r'code_hash\("([a-z_.]+)"\)', smk.read_text()))
    return out


SCORING_AND_FIGURES = {"evaluation.tables", "figures.plots"}
MODEL_CODE = ["tracking.models", "tracking.training", "tracking.encoding", "tracking.trackers", "tracking.association"]
# (tracking.heatmap, the box <-> grid geometry, is read by the heatmap figures too: editing it may rerun them)


def test_rules_hash_the_modules_of_their_stage():
    used = set().union(*rule_modules().values())
    assert SCORING_AND_FIGURES <= used
    for m in used:
        module_closure(m)  # each exists


@pytest.mark.parametrize("edited", MODEL_CODE)
def test_editing_model_code_leaves_scoring_and_figure_rules_alone(package_copy, edited):
    """Scoring-only and figure-only rules rerun only when their inputs change, not on model edits."""
    before = {m: code_hash(m) for m in SCORING_AND_FIGURES}
    edit(path_of(package_copy, edited))
    assert {m: code_hash(m) for m in SCORING_AND_FIGURES} == before
    if edited != "tracking.training":
        assert edited in module_closure(TRACKING)


def test_scoring_and_figures_import_no_model_code():
    for m in SCORING_AND_FIGURES:
        closure = set(module_closure(m))
        assert not closure & set(MODEL_CODE), (m, sorted(closure & set(MODEL_CODE)))
        assert "detection.detector" not in closure and "detection.extraction" not in closure
