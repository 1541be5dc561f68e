"""Make ``import rolo`` load this checkout's ``src/rolo`` (rule conda envs hold only its dependencies).

Snakemake puts the scripts' folder on ``sys.path``; every script imports this module first. This
checkout's ``src/`` goes first on ``sys.path`` even when it is there already behind another copy of
the package (an editable install of another clone, or an installed ``rolo``), so that a job runs the
code whose hash ``workflow/rules/common.smk`` computed.
"""

import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")
while SRC in sys.path:
    sys.path.remove(SRC)
sys.path.insert(0, SRC)
_loaded = sys.modules.get("rolo")
if _loaded is not None and not str(Path(_loaded.__file__).resolve()).startswith(SRC):
    raise RuntimeError(f"rolo was imported from {_loaded.__file__} before {SRC}; import _bootstrap first")
