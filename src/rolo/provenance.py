"""Which package code a pipeline stage runs, as a hash, so that a code change reruns that stage.

Snakemake reruns a job when its ``script:`` file changes but not when a module that script imports
changes. Each rule therefore carries ``params: code=code_hash("<module>")``: the hash of the
module's source and of every ``rolo`` module it imports, transitively. Changing
``rolo/tracking.py`` changes the hash of the tracking and evaluation rules only, and Snakemake's
``params`` rerun trigger replans exactly those jobs.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    """Names of the ``rolo`` modules a source file imports (``rolo.x`` -> ``x``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "rolo":
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from rolo import x
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "rolo" and len(parts) > 1:
                    found.add(parts[1])
    return {m for m in found if (PACKAGE_DIR / f"{m}.py").is_file()}


def module_closure(*modules: str) -> list[str]:
    """The given ``rolo`` modules and everything they import from ``rolo``, sorted."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        path = PACKAGE_DIR / f"{m}.py"
        if not path.is_file():
            raise ValueError(f"no module rolo.{m} ({path})")
        seen.add(m)
        todo.extend(_imports(path) - seen)
    return sorted(seen)


def data_hash(*names: str) -> str:
    """Short SHA-256 over data files shipped inside the package (paths relative to it), for rules
    that read them: a change of content reruns them, a move of the checkout does not."""
    h = hashlib.sha256()
    for name in names:
        h.update(name.encode() + b"\0" + (PACKAGE_DIR / name).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def code_hash(*modules: str) -> str:
    """Short SHA-256 over the sources of :func:`module_closure` of ``modules``."""
    h = hashlib.sha256()
    for m in module_closure(*modules):
        h.update(m.encode() + b"\0" + (PACKAGE_DIR / f"{m}.py").read_bytes() + b"\0")
    return h.hexdigest()[:16]
