"""Whether a function's resource policy lets an AWS service invoke it.

A service that invokes a function on its own (EventBridge for a rule, S3 for a bucket's
notification) needs the function's resource policy to allow `lambda:InvokeFunction` for
that service principal, usually narrowed by `aws:SourceArn` (the rule, the bucket) and
`aws:SourceAccount`: what CDK's `targets.LambdaFunction` and `LambdaDestination` add as
`AWS::Lambda::Permission`s. moto keeps those statements as given; `iam_policy` evaluates
them as identity statements of the principal's.
"""

from __future__ import annotations

import logging
from typing import Any

from localcloud import iam_policy

log = logging.getLogger("localcloud.lambda")

_KEPT = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition")


def service_statements(statements: Any, principal: str) -> list[dict[str, Any]]:
    """The statements of a resource policy that name `principal` (as identity statements)."""
    found = []
    for statement in statements or []:
        named = statement.get("Principal")
        services = named.get("Service", []) if isinstance(named, dict) else []
        services = [services] if isinstance(services, str) else services
        aws = named.get("AWS") if isinstance(named, dict) else None
        if named == "*" or aws == "*" or principal in services:
            found.append({k: v for k, v in statement.items() if k in _KEPT})
    return found


def permits(
    statements: Any, principal: str, function_arn: str, source_arn: str, account: str
) -> bool:
    """Whether the resource policy `statements` let `principal` invoke `function_arn` on
    behalf of `source_arn` in `account`."""
    chosen = service_statements(statements, principal)
    if not chosen:
        return False
    try:
        policy = iam_policy.parse_policy({"Version": "2012-10-17", "Statement": chosen}, "lambda")
    except iam_policy.PolicyError as error:
        log.warning("the resource policy of %s cannot be read: %s", function_arn, error)
        return False
    request = iam_policy.Request(
        action="lambda:InvokeFunction",
        resource=function_arn,
        context={"aws:SourceArn": (source_arn,), "aws:SourceAccount": (account,)},
    )
    return iam_policy.evaluate([policy], request).allowed
