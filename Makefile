# The two commands of README.md: `make run` (the whole study) and `make test`.
# Both create .venv and install the pinned requirements first, once.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config.yaml
CORES ?= all
INSTALLED := $(VENV)/.installed

.PHONY: run test report lint clean

$(INSTALLED): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# Every Snakemake call of `make run` gets the same CONFIG and ARGS, so the report is built
# under the run's own config; a dry run (-n, also inside short flags such as -np, or
# --dry-run in ARGS) builds no report.
SHORT_FLAGS := $(filter-out --%,$(filter -%,$(ARGS)))
DRY_RUN := $(filter --dry-run --dryrun,$(ARGS))$(findstring n,$(SHORT_FLAGS))

run: $(INSTALLED)
	@$(BIN)/python -m workflow_scripts.study_config $(CONFIG)
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) $(ARGS)
ifeq ($(DRY_RUN),)
	$(BIN)/snakemake --configfile $(CONFIG) $(ARGS) --report results/report.html
	@echo "The study's answer: results/summary.md; every figure and table: results/report.html"
endif

test: $(INSTALLED)
	$(BIN)/pytest -q -n auto --dist loadfile tests

lint: $(INSTALLED)
	$(BIN)/snakemake --lint

clean:
	rm -rf results/* .snakemake

# docs/config.md, the config reference, rendered from workflow_scripts/config/schema.yaml
.PHONY: docs
docs: $(INSTALLED)
	$(BIN)/python -m workflow_scripts.config_reference
