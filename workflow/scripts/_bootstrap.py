"""Make ``import rolo`` load this checkout's ``src/rolo`` (rule conda envs hold only its dependencies).

Snakemake puts the scripts' folder on ``sys.path``; every script imports this module first.
"""

import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
