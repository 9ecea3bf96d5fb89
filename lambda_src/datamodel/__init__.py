"""The data model, declared once: table specs (`tables`), rows with their key templates
(`entities`, `uniqueness`) and every access pattern (`patterns`), plus the paging cursor.

Pure Python (no `aws_cdk`, no boto3). It lives in `lambda_src/` so the Lambda asset and the
local cloud's hot reload ship it with the handlers; the root `datamodel` link makes it
importable by the same name from the stacks, the CLI, the doc generators and the tests.
"""
