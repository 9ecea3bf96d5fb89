# The Lambda functions (lambda_src/) and their tests (tests/functions/). Their test-only pins
# (hypothesis) are in pyproject.toml's `dev` group; the asset's own in lambda_src/requirements.txt.

.PHONY: test-functions lint-functions

lint-functions: $(PY_STAMP) ## ruff and mypy over the Lambda code and its tests.
	$(VENV)/bin/ruff check lambda_src tests/functions
	$(VENV)/bin/ruff format --check lambda_src tests/functions
	$(VENV)/bin/mypy lambda_src

test-functions: $(PY_STAMP) ## The function tests (moto, DynamoDB Local, fuzz).
	$(PY) -m pytest tests/functions
