# `make install` sets up .venv; `make dev` starts the UI; `make serve` the web service behind the
# links in e-mails; `make test` runs every test (CI runs this).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
HOST ?= 127.0.0.1
PORT ?= 3000
SERVE_HOST ?= 127.0.0.1
SERVE_PORT ?= 8080
# `make test` runs on every core (pytest-xdist); PYTEST_WORKERS=0 runs the suite in one process.
PYTEST_WORKERS ?= auto

.PHONY: install dev serve test lint format home browser clean

install: $(VENV)/.installed browser

# Re-installs only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# Headless Chromium for the UI tests (Debian's package; the tests skip without it outside CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; UI tests will skip"; \
	  else echo "note: chromium not installed (needs root apt-get); UI tests will skip"; fi; }

home:
	@mkdir -p "$(DAGSTER_HOME)"
	@test -f "$(DAGSTER_HOME)/dagster.yaml" || cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

# Started in DAGSTER_HOME: from the repo, dagster dev would warn that the repo's dagster.yaml
# (the template `home` copies) "will not be used".
dev: install home
	@$(BIN)/pipeline env --ui http://$(HOST):$(PORT)
	cd "$(DAGSTER_HOME)" && $(CURDIR)/$(BIN)/dagster dev -w $(CURDIR)/workspace.yaml -h $(HOST) -p $(PORT)

# Refuses to start while PIPELINE_UNSUBSCRIBE_SECRET is unset (links would be forgeable).
serve: install
	$(BIN)/pipeline serve --host $(SERVE_HOST) --port $(SERVE_PORT)

lint: install
	$(BIN)/ruff check pipeline pipeline_tests
	$(BIN)/ruff format --check pipeline pipeline_tests

format: install
	$(BIN)/ruff format pipeline pipeline_tests
	$(BIN)/ruff check --fix pipeline pipeline_tests

# loadgroup: the tests of one xdist_group share a worker (e.g. one `dagster dev` per module).
test: install
	$(BIN)/ruff check pipeline pipeline_tests
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

clean:
	rm -rf $(VENV) .dagster_home .pytest_cache
