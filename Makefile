# The two commands: `make demo` (set up, run the offline demo, print the tables' paths) and
# `make test` (set up, run the tests). Set-up = a virtualenv in .venv with pinned PyTorch.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint clean-demo opencv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# PyTorch first, pinned: an unpinned torch would pull a newer multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install --quiet -e '.[workflow,test,bench]'
	$(MAKE) opencv
	touch $(STAMP)

# Ultralytics depends on opencv-python, we on opencv-contrib-python-headless (CSRT, KCF): both write
# the same cv2 package, so whichever pip installed last would win. Remove the former, then reinstall
# the latter over the shared folder: the result does not depend on pip's install order.
# Acts on the environment $(VENV) (.venv by default); a conda env: make opencv VENV="$CONDA_PREFIX"
# (environment.yml). The steps are environment.post-deploy.sh's, which Snakemake also runs in the conda
# envs it creates from environment.yml for the rules' conda: directive.
opencv:
	@test -n "$(strip $(VENV))" || { echo 'make opencv: VENV is empty; for a conda env activate it first: make opencv VENV="$$CONDA_PREFIX"' >&2; exit 2; }
	@test -x "$(BIN)/python" || { echo "make opencv: no $(BIN)/python; run make setup, or name the environment: make opencv VENV=<prefix>" >&2; exit 2; }
	ROLO_PYTHON="$(BIN)/python" sh environment.post-deploy.sh

setup: $(STAMP)

# The demo's console: one line per finished job and one of progress (`--quiet rules host` leaves out
# each job's description and the run's banner; the scheduler's own lines are filtered). Everything is
# in logs/ and in .snakemake/log/. DEMO_QUIET= shows Snakemake's full output.
DEMO_QUIET ?= rules host
DEMO_FILTER := grep --line-buffered -v -E '^(Select jobs to execute|Execute [0-9]+ jobs)\.\.\.$$|^\[[A-Z][a-z]{2} [A-Z][a-z]{2} '
demo: SHELL := /bin/bash -o pipefail
demo: $(STAMP)
	@echo "snakemake --configfile config/demo.yaml (console: one line a job; all of it: make demo DEMO_QUIET=)"
	@$(BIN)/snakemake --configfile config/demo.yaml --cores $(CORES) --resources gpu=1 \
		$(if $(DEMO_QUIET),--quiet $(DEMO_QUIET) 2>&1 | $(DEMO_FILTER))
	@echo
	@for e in results/exp*/aos.md; do echo "== $$e"; sed -n '/## Mean over sequences/,/## Per sequence/p' $$e | sed '1d;$$d'; done
	@echo "Tables: $$(ls results/exp*/aos.csv | tr '\n' ' ')"

# Two pytest-xdist workers: the tests of the tiny workflow (tests/conftest.py) on one, the other test
# files on the other. TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

# snakemake --lint on every shipped configuration, and snakefmt's formatting check
lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakemake --lint --configfile config/demo.yaml
	$(BIN)/snakemake --lint --directory .test
	$(BIN)/snakefmt --check Snakefile workflow/

clean-demo:
	rm -rf results resources/synthetic logs .snakemake

# The benchmark suite (BENCHMARKS.md): extraction, tracking, training and the demo's stage times,
# one table in results/bench/. A few minutes on 2 CPU cores; BENCH_ARGS=--quick for a smoke run.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)
