"""Code shared by the Lambda functions: settings, typed errors, responses, DynamoDB helpers.

Nothing here imports `stacks.config` (it is not part of the function asset): every name a
function needs arrives in its environment and is validated once per container.
"""
