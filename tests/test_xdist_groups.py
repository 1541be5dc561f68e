"""`make test` runs on two pytest-xdist workers (`--dist loadgroup`): the groups that tests/conftest.py
sets must take effect, or both workers build the tiny workflow (as with pytest 9.2 and xdist 3.8)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections import defaultdict

import pytest

from conftest import REPO

pytest.importorskip("xdist")


def test_the_tiny_workflows_tests_share_one_worker_and_each_other_file_one(tmp_path):
    # a stand-in suite: this repository's grouping hook, a cheap `tiny_workflow`, two files mixing both kinds
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""
        import importlib.util
        import pytest

        spec = importlib.util.spec_from_file_location("rolo_tests_conftest", {str(REPO / "tests/conftest.py")!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        pytest_collection_modifyitems = module.pytest_collection_modifyitems

        @pytest.fixture(scope="session")
        def tiny_workflow():
            return None
    """))
    for name in ("a", "b"):
        (tmp_path / f"test_{name}.py").write_text("".join(
            f"def test_{name}{i}({'tiny_workflow' if i % 2 else ''}):\n    pass\n" for i in range(6)))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ran = re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED (test_\w+\.py)::test_\w+?(\d)(?:@(\S+))?", proc.stdout)
    assert len(ran) == 12, proc.stdout[-3000:]
    workers = defaultdict(set)
    for worker, file, i, group in ran:
        expected = "tiny_workflow" if int(i) % 2 else file
        assert group == expected, f"{file} test {i}: group {group!r}, expected {expected!r} (xdist ignored the marks)"
        workers[group].add(worker)
    assert set(workers) == {"tiny_workflow", "test_a.py", "test_b.py"}
    assert all(len(w) == 1 for w in workers.values()), dict(workers)
