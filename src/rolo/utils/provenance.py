"""Which package code a pipeline stage runs, as a hash, so that a code change reruns that stage.

Snakemake reruns a job when its ``script:`` file changes but not when a module that script imports
changes. Each rule therefore carries ``params: code=code_hash("<module>")``: the hash of the
module's source and of every ``rolo`` module it imports, transitively (module names are dotted paths
inside the package, e.g. ``tracking.models``). Changing ``rolo/tracking/models.py`` changes the hash
of the training and tracking rules only, and Snakemake's ``params`` rerun trigger replans exactly
those jobs; scoring-only and figure-only rules import no model code.
"""

from __future__ import annotations

import ast
import hashlib
import os
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The ``rolo`` package folder; module names below are dotted paths inside it (``tracking.models``)."""


def module_path(module: str) -> Path | None:
    """The source of ``rolo.<module>``: ``a/b.py`` or a package's ``a/b/__init__.py``; None if neither."""
    base = PACKAGE_DIR.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _with_parents(module: str) -> set[str]:
    """``a.b.c`` -> ``{a.b.c, a.b, a}``: importing a module runs its packages' ``__init__`` first."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _imports(path: Path) -> set[str]:
    """Names of the ``rolo`` modules a source file imports (``rolo.a.b`` -> ``a.b``), with their
    parent packages; ``from rolo.a import b`` counts ``a.b`` when it is a module."""
    modules = {m for m in _imported_names(path.read_text(), str(path)) if module_path(m) is not None}
    return {p for m in modules for p in _with_parents(m)}


@lru_cache(maxsize=None)
def _imported_names(source: str, filename: str) -> frozenset[str]:
    """The ``rolo`` names one source text imports, modules or not, parsed once per process: Snakemake
    asks for the code hash of every job while it plans (``params: code=...``), and parsing each
    closure again took three quarters of the demo's planning time. Keyed by the text itself, so an
    edited file is parsed again."""
    tree = ast.parse(source, filename=filename)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "rolo":
            base = node.module.split(".")[1:]
            if base:
                found.add(".".join(base))
            for a in node.names:  # submodules imported by name (``from rolo.tracking import models``)
                found.add(".".join([*base, a.name]))
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "rolo" and len(parts) > 1:
                    found.add(".".join(parts[1:]))
    return frozenset(found)


def module_closure(*modules: str) -> list[str]:
    """The given ``rolo`` modules and everything they import from ``rolo``, sorted."""
    seen: set[str] = set()
    todo = [p for m in modules for p in sorted(_with_parents(m))]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        path = module_path(m)
        if path is None:
            raise ValueError(f"no module rolo.{m} (under {PACKAGE_DIR})")
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
        h.update(m.encode() + b"\0" + module_path(m).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def folder_identity(folder: str | Path) -> str | None:
    """Short SHA-256 over the names, sizes and ``mtime_ns`` of the files directly in ``folder`` (a
    sequence's frames), None if it is not a folder. Snakemake compares a ``directory()`` input by the
    folder's own mtime, which overwriting a frame in place does not change; this value, carried as
    a ``params`` entry, does: a frame replaced, added or removed reruns the jobs that read them.
    One ``stat`` per file, no reading (59,000 files: BENCHMARKS.md)."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(
                (e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in it if e.is_file()
            )
    except (FileNotFoundError, NotADirectoryError):
        return None
    h = hashlib.sha256()
    for name, size, mtime in entries:
        h.update(f"{name}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()[:16]


def source_revision(checkout: str | Path) -> str:
    """The git commit of ``checkout`` (``+dirty`` with uncommitted changes to tracked files), or
    ``rolo <version>`` when it is no git checkout or git is missing."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        from rolo import __version__

        return f"rolo {__version__}"
    return commit + ("+dirty" if dirty else "")


def config_hash(config: dict) -> str:
    """SHA-256 of a resolved config (JSON, keys sorted)."""
    import json

    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def write_provenance(path: str | Path, checkout: str | Path, config: dict, exp: str) -> None:
    """``results/<exp>/provenance.json``: ``code`` (:func:`source_revision` of ``checkout``),
    ``config_sha256`` (:func:`config_hash`) and the experiment's settings."""
    from rolo.data.splits import experiment_settings
    from rolo.utils.io import save_json

    save_json(path, {
        "code": source_revision(checkout),
        "config_sha256": config_hash(config),
        # a configured experiment, or the twin <name>_ft with its own fine-tuned detector
        "experiment": {"name": exp, **experiment_settings(config["experiments"], exp)},
    })
