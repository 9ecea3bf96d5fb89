# The Lambda functions (lambda_src/) and their tests (tests/functions/).

FUNCTIONS_DEV_STAMP := $(VENV)/.functions-dev-installed

# Test-only pins of the function tests (hypothesis); `install` (so `make test`) brings them
# in even before requirements-dev.txt includes the file.
$(FUNCTIONS_DEV_STAMP): requirements-functions-dev.txt lambda_src/requirements.txt $(PY_STAMP)
	@echo "==> python: function test dependencies"
	@$(PY) -m pip install --quiet -r requirements-functions-dev.txt -r lambda_src/requirements.txt
	@touch $@

install: $(FUNCTIONS_DEV_STAMP)

.PHONY: test-functions lint-functions

lint-functions: $(FUNCTIONS_DEV_STAMP) ## ruff and mypy over the Lambda code and its tests.
	$(VENV)/bin/ruff check lambda_src tests/functions
	$(VENV)/bin/ruff format --check lambda_src tests/functions
	$(VENV)/bin/mypy lambda_src

test-functions: $(FUNCTIONS_DEV_STAMP) ## The function tests (moto, DynamoDB Local, fuzz).
	$(PY) -m pytest tests/functions
