"""The `aws` tests: the local stage deployed under a random suffix, to real AWS when
`DYNAMO_BACKEND_AWS_TESTS=1` and credentials work, else to a local cloud (`make test-aws`)."""
