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
	$(BIN)/python -m pip install --quiet -e '.[workflow,test]'
	$(MAKE) opencv
	touch $(STAMP)

# Ultralytics depends on opencv-python, we on opencv-contrib-python-headless (CSRT, KCF): both write
# the same cv2 package, so whichever pip installed last would win. Remove the former, then reinstall
# the latter over the shared folder: the result does not depend on pip's install order.
opencv:
	$(BIN)/python -m pip uninstall --quiet -y opencv-python opencv-python-headless
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps opencv-contrib-python-headless==5.0.0.93
	$(BIN)/python -c "import cv2; cv2.TrackerCSRT_create; cv2.TrackerKCF_create; print('OpenCV', cv2.__version__, 'with contrib trackers')"

setup: $(STAMP)

# The demo's console: one line per finished job and one of progress (`--quiet rules` leaves out each
# job's description; the scheduler's own lines are filtered). Everything is in logs/ and in
# .snakemake/log/. DEMO_QUIET= shows Snakemake's full output.
DEMO_QUIET ?= rules
DEMO_FILTER := grep --line-buffered -v -E '^(Select jobs to execute|Execute [0-9]+ jobs)\.\.\.$$|^\[[A-Z][a-z]{2} [A-Z][a-z]{2} '
demo: SHELL := /bin/bash -o pipefail
demo: $(STAMP)
	$(BIN)/snakemake --configfile config/demo.yaml --cores $(CORES) --resources gpu=1 \
		$(if $(DEMO_QUIET),--quiet $(DEMO_QUIET) 2>&1 | $(DEMO_FILTER))
	@echo
	@for e in results/exp*/aos.md; do echo "== $$e"; sed -n '/## Mean over sequences/,/## Per sequence/p' $$e | sed '1d;$$d'; done
	@echo "Tables: $$(ls results/exp*/aos.csv | tr '\n' ' ')"

test: $(STAMP)
	$(BIN)/python -m pytest

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
