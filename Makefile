# Every target bootstraps what it needs: a fresh clone runs `make demo` or `make test` directly.
SHELL := /bin/bash
PYTHON ?= python3
# pytest-xdist workers for `make test`: one per logical CPU (at most 6; each synthesizes the app once), none on a
# one-CPU machine, where a worker would only add its start-up. `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; n = min(os.cpu_count() or 1, 6); print(n if n > 1 else 0)')
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
LAYER_STAMP := .build/layers/dependencies/.built

export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled
export PYTHONPATH := $(CURDIR)

.PHONY: help dev demo serve moto openapi test unit lint format typecheck synth build bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(LAYER_STAMP): layers/dependencies/requirements.txt infra/layers.py | $(STAMP)
	$(PY) -m infra.layers

dev: $(STAMP) $(NODE_STAMP)  ## install the Python and Node toolchains locally

demo: $(STAMP) $(LAYER_STAMP)  ## run a whole campaign locally on moto and print the NPS report (synthesizes the app)
	$(PY) -m local.demo

serve: $(STAMP)  ## the response pages on http://127.0.0.1:8080 over moto (open /_local/inbox)
	$(PY) -m local.server

moto: $(STAMP)  ## a moto server seeded like the demo, for `nps --local` from another shell
	$(PY) -m local.moto_server

openapi: $(STAMP)  ## regenerate the OpenAPI documents in docs/openapi/ from the resolvers
	$(PY) -m functions.openapi --write
	$(PY) -m functions.report.openapi
	$(PY) -m functions.web.openapi
	$(PY) -m functions.contact_timeline.openapi

lint: $(STAMP)  ## ruff (lint + format check), mypy and the package boundaries (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/nps functions infra local benchmarks tests
	$(VENV)/bin/lint-imports --no-cache

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

unit: $(STAMP)  ## the fast tests only
	$(VENV)/bin/pytest tests/unit -q

build: $(LAYER_STAMP)  ## build the Lambda layers (no Docker) and print asset sizes
	$(PY) -m infra.layers --report

test: dev build lint  ## the whole suite: lint, types, unit, integration, infrastructure, end-to-end
	$(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) --dist loadfile
	$(MAKE) --no-print-directory synth

synth: dev build  ## CloudFormation template via the CDK CLI (offline)
	npx cdk synth -q
	$(VENV)/bin/cfn-lint

bench: $(STAMP)  ## print the performance figures (and write benchmarks/results/latest.json)
	$(PY) -m benchmarks.run

clean:  ## remove build output (keeps the virtualenv)
	rm -rf .build cdk.out demo-output benchmarks/results
