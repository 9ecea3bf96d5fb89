# The `aws` tests (tests/aws/): the local stage deployed under a random suffix
# (`-c suffix=t<hex>`) to the account of your usual AWS credentials, exercised as the
# tutorials do, then destroyed. Without DYNAMO_BACKEND_AWS_TESTS=1 (as in `make test`) the
# same tests deploy to a local cloud of their own instead; `make test-fast` skips them.
.PHONY: test-aws

test-aws: install ## The `aws` tests on real AWS: deploy a suffixed stack, test it, destroy it.
	DYNAMO_BACKEND_AWS_TESTS=1 $(PY) -m pytest -m aws
