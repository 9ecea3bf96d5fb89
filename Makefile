# One entry point for people and CI. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

STAGE ?= local
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
PYTHON ?= python3

# Node 20 end-of-life banners from jsii and the JS SDK are noise here, not errors.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE := 1
# Keep the CDK CLI's cache (accounts, notices) inside the repo, never a user's ~/.cdk.
export CDK_HOME := $(CURDIR)/.cdk-home

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
BENCH_TARGETS := bench-synth

# Targets contributed by the other parts of the repo (data tooling, local cloud, ...). Each
# may append to BENCH_TARGETS, so this comes before the `bench` rule reads it.
-include make/*.mk

.PHONY: help install lint format test unit infra synth snapshot-update bench bench-synth clean

help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(PY_STAMP): requirements.txt requirements-dev.txt requirements-data.txt requirements-localcloud.txt requirements-functions-dev.txt lambda_src/requirements.txt
	@echo "==> python: venv and pinned dependencies"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "==> node: pinned CDK CLI (aws-cdk, aws-cdk-local)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(PY_STAMP) $(NODE_STAMP) ## Create the venv and install the pinned CDK CLI.

lint: $(PY_STAMP) ## ruff and mypy.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app.py stacks lambda_src scripts localcloud bench docgen tests

format: $(PY_STAMP) ## Apply ruff's fixes and formatting.
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: install lint $(TEST_PREREQS) ## Lint, then every test (unit, infrastructure, integration, docgen).
	$(PY) -m pytest

infra: install ## Only the infrastructure tests (assertions, snapshots, cdk-nag, cfn-lint).
	$(PY) -m pytest tests/infrastructure

# Each stage synthesizes into a cloud assembly of its own, emptied first, so one stage's synth
# neither lists nor leaves another's (or an older synth's) templates. Tests set SYNTH_ROOT.
SYNTH_ROOT ?= cdk.out
SYNTH_DIR = $(or $(SYNTH_ROOT),cdk.out)/$(STAGE)

synth: install ## Synthesize the app for STAGE (local|prod) into cdk.out/STAGE/.
	@case "$(STAGE)" in ""|*[!a-z0-9-]*) echo "error: STAGE must be a stage name, got '$(STAGE)'" >&2; exit 2;; esac
	@rm -rf -- "$(SYNTH_DIR)"
	$(CDK) synth -c stage=$(STAGE) --quiet --output "$(SYNTH_DIR)"
	@echo "==> $(SYNTH_DIR)/ holds the $(STAGE) templates: $$(cd "$(SYNTH_DIR)" && ls *.template.json | tr '\n' ' ' | sed 's/ $$//')"

snapshot-update: install ## Re-record the CloudFormation snapshots (review the diff!).
	$(PY) -m pytest tests/infrastructure/test_snapshots.py --snapshot-update

bench-synth: install
	$(PY) -m bench.synth

bench: $(BENCH_TARGETS) ## Run every benchmark; results in bench/results/*.json.

clean: ## Remove build output (not the venv or node_modules).
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
