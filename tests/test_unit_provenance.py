"""Unit tests of rolo.provenance: the import closure of a module and the code hash over it.

Sources are edited only in a temporary copy of the package (``PACKAGE_DIR`` is monkeypatched).
"""

import re
import shutil

import pytest

import rolo.provenance as provenance
from rolo.provenance import code_hash, module_closure


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of src/rolo's modules that provenance reads instead of the real ones."""
    copy = tmp_path / "rolo"
    shutil.copytree(provenance.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "PACKAGE_DIR", copy)
    return copy


def edit(path, text="\n# an edit\n"):
    path.write_text(path.read_text() + text)


def test_tracking_closure():
    closure = module_closure("tracking")
    assert {"tracking", "models", "association", "boxes"} <= set(closure)
    assert "synthetic" not in closure
    assert closure == sorted(closure) and len(set(closure)) == len(closure)


def test_closure_of_leaf_module():
    assert module_closure("boxes") == ["boxes"]
    assert module_closure("synthetic") == ["boxes", "data", "synthetic"]


def test_closure_of_several_modules_is_union():
    assert module_closure("boxes", "synthetic") == sorted(set(module_closure("synthetic")))
    assert set(module_closure("tracking", "synthetic")) == set(module_closure("tracking")) | set(module_closure("synthetic"))


def test_unknown_module_raises():
    with pytest.raises(ValueError, match="no module"):
        module_closure("nonexistent")


def test_code_hash_is_short_hex_and_stable():
    h = code_hash("tracking")
    assert re.fullmatch(r"[0-9a-f]{16}", h)
    assert code_hash("tracking") == h
    assert code_hash("boxes") != h


def test_copy_hashes_like_the_package(package_copy, monkeypatch):
    # the hash depends on module names and contents, not on where the package lives
    copy_hash, copy_closure = code_hash("tracking"), module_closure("tracking")
    monkeypatch.undo()
    assert provenance.PACKAGE_DIR != package_copy
    assert code_hash("tracking") == copy_hash
    assert module_closure("tracking") == copy_closure


@pytest.mark.parametrize("changed", ["tracking", "models", "association", "boxes"])
def test_code_hash_changes_with_a_module_in_the_closure(package_copy, changed):
    before = code_hash("tracking")
    edit(package_copy / f"{changed}.py")
    assert code_hash("tracking") != before


def test_code_hash_ignores_modules_outside_the_closure(package_copy):
    before_tracking, before_boxes = code_hash("tracking"), code_hash("boxes")
    edit(package_copy / "synthetic.py")
    assert code_hash("tracking") == before_tracking
    edit(package_copy / "models.py")
    assert code_hash("boxes") == before_boxes


def test_new_import_extends_the_closure(package_copy):
    assert "synthetic" not in module_closure("boxes")
    before = code_hash("boxes")
    edit(package_copy / "boxes.py", "\nfrom rolo.synthetic import CHALLENGES  # noqa\n")
    assert module_closure("boxes") == ["boxes", "data", "synthetic"]
    after = code_hash("boxes")
    assert after != before
    edit(package_copy / "synthetic.py")
    assert code_hash("boxes") != after


def test_import_forms_are_all_followed(package_copy):
    (package_copy / "probe.py").write_text(
        "import rolo.boxes\n"
        "from rolo import metrics\n"
        "def f():\n"
        "    from rolo.synthetic import SynthParams\n"
        "import numpy\n"
    )
    closure = module_closure("probe")
    assert {"probe", "boxes", "metrics", "synthetic"} <= set(closure)
    assert "numpy" not in closure


def test_real_sources_untouched_by_copy_edits(package_copy, monkeypatch):
    edit(package_copy / "boxes.py")
    edited = code_hash("boxes")
    monkeypatch.undo()
    assert code_hash("boxes") != edited
