# Truce: `make run` brings the platform up with real sample data; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
TRUCE := $(VENV)/bin/truce
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
STAMP := $(VENV)/.installed

.PHONY: help run test lint bench stop db clean basemap

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 is missing: apt-get install -y python3 python3-venv"; exit 2; }
	@test -d $(VENV) || python3 -m venv $(VENV) || { echo "cannot create a venv: apt-get install -y python3-venv"; exit 2; }
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev]"
	@touch $(STAMP)

db: $(STAMP) ## Provision and start the local PostGIS (skipped when TRUCE_DATABASE_URL is set)
	@if [ -z "$$TRUCE_DATABASE_URL" ]; then $(TRUCE) db up; else echo "using TRUCE_DATABASE_URL"; fi
	@$(TRUCE) migrate

run: db ## Install, provision PostGIS, migrate, load the sample data, serve at http://HOST:PORT
	@$(TRUCE) etl sample --if-empty
	@$(TRUCE) serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: db ## Run the whole test suite (lint, types, import rules, tests) against a real PostGIS
	@$(MAKE) --no-print-directory lint
	$(PY) -m pytest -q

lint: $(STAMP) ## ruff, mypy and the import rules
	$(VENV)/bin/ruff check server etl web cli tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: db ## Benchmarks against the reference tools (slow: builds 1,000,000 incidents)
	$(PY) -m bench

basemap: $(STAMP) ## Rebuild the shipped offline basemap (web/static/basemap) from tools/basemap/data
	$(PY) tools/basemap/build.py

stop: ## Stop the local database
	@test -x $(TRUCE) && $(TRUCE) db down || true

clean: stop ## Stop the database and delete .data/ and the venv
	rm -rf .data $(VENV)
