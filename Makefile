# The two commands of README.md: `make run` (the whole study) and `make test`.
# Both create .venv and install the pinned requirements first, once.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config.yaml
CORES ?= all
INSTALLED := $(VENV)/.installed

.PHONY: help run test report lint clean docs

help:  ## this list
	@awk -F ':.*## ' '/^[a-z]+:.*## / {printf "make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# pip compiles every module's bytecode as it installs (about 50 CPU s): kept, because where
# PYTHONDONTWRITEBYTECODE is set (this project's machines) Python would otherwise compile
# PyTorch's modules again in every process that imports it
$(INSTALLED): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# `make run`: the config check the README documents, then Snakemake with CONFIG and ARGS;
# the report only after a run of the whole study (workflow_scripts/run_study.py), and a
# failed run marks the results it leaves behind as stale.
run: $(INSTALLED)  ## the whole study (CONFIG=, CORES=, ARGS= for Snakemake)
	@$(BIN)/python -m workflow_scripts.study.config $(CONFIG)
	@$(BIN)/python -m workflow_scripts.run_study $(CONFIG) $(CORES) $(ARGS)

report: $(INSTALLED)  ## results/report.html again, from a finished study (CONFIG=, ARGS= as for run)
	$(BIN)/snakemake $(ARGS) --configfile $(CONFIG) --report results/report.html

test: $(INSTALLED)  ## the test suite
	$(BIN)/pytest -q -n auto --dist loadfile --no-loadscope-reorder tests

lint: $(INSTALLED)  ## snakemake --lint
	$(BIN)/snakemake --lint

clean:  ## remove results/ and .snakemake/
	rm -rf results/* .snakemake

# docs/config.md, the config reference, rendered from workflow_scripts/config/schema.yaml
docs: $(INSTALLED)  ## regenerate docs/config.md
	$(BIN)/python -m workflow_scripts.study.config_reference
