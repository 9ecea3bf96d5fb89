"""S3 bucket notifications delivered as S3 delivers them: to SQS queues, SNS topics and
Lambda functions.

moto 5.2.5 matches a bucket's notification configuration against each `PutObject`,
`CopyObject`, `DeleteObject`, ... (event names with `s3:ObjectCreated:*`-style wildcards,
`prefix`/`suffix` key filters) and queues or publishes the event itself, but invoked a
Lambda destination through Docker, synchronously, ignoring its resource policy, and its
records lacked fields S3 sends. Here:

* a Lambda destination is invoked asynchronously by our runner, only when its resource
  policy lets `s3.amazonaws.com` invoke it for the bucket (`aws:SourceArn` the bucket's ARN,
  `aws:SourceAccount`), as CDK's `LambdaDestination` grants (`LOCALCLOUD_IAM=audit` logs and
  invokes, `off` skips the check);
* the object key is URL-encoded as S3 does it (`a b/c` is `a+b/c`; moto also encoded `/`);
* each record also has `userIdentity`, `requestParameters`, `responseElements` and the
  object's `sequencer` (and `versionId` in a versioned bucket); a removal's object has no
  `size` or `eTag`;
* key filter rule names are matched case-insensitively (`Prefix` as `prefix`), as S3 does.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from typing import Any
from urllib.parse import quote_plus

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import lambda_backends
from moto.s3 import models as s3_models
from moto.s3 import notifications

from localcloud import lambda_permissions, lambda_runner
from localcloud.patches import Patch, PatchSet
from localcloud.settings import Settings

log = logging.getLogger("localcloud.s3")

S3_PRINCIPAL = "s3.amazonaws.com"

_iam_mode = "enforce"
_sequence = itertools.count(1)


def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
    """moto's event record with the fields S3 adds."""
    body: dict[str, Any] = _GET_EVENT.original(event_name, bucket, key, notification_id)
    for record in body["Records"]:
        record["userIdentity"] = {"principalId": "AWS:LOCALCLOUD"}
        record["requestParameters"] = {"sourceIPAddress": "127.0.0.1"}
        record["responseElements"] = {
            "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
            "x-amz-id-2": uuid.uuid4().hex,
        }
        s3_object = record["s3"]["object"]
        # S3 URL-encodes the key as a form value but keeps its slashes (moto: `%2F`).
        s3_object["key"] = quote_plus(key.name, safe="/")
        if event_name.startswith("s3:ObjectRemoved"):
            # A removal's record names the object only (no size, no eTag), as S3's does.
            s3_object.pop("size", None)
            s3_object.pop("eTag", None)
        s3_object["sequencer"] = f"{next(_sequence):016X}"
        version = getattr(key, "version_id", None)
        if version and version != "null":
            s3_object["versionId"] = version
    return body


def invoke_lambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    """S3's asynchronous invocation of a notification's function, if its policy allows."""
    try:
        fn = lambda_backends[fn_arn.split(":")[4] or account_id][region_name].get_function(fn_arn)
    except (LambdaClientError, IndexError) as error:
        log.warning("S3 notification not delivered to %s: %s", fn_arn, error)
        return
    bucket_arn = str(event_body["Records"][0]["s3"]["bucket"]["arn"])
    if _iam_mode != "off" and not lambda_permissions.permits(
        fn.policy.statements, S3_PRINCIPAL, fn_arn, bucket_arn, account_id
    ):
        message = (
            f"{fn_arn}: its resource policy does not let {S3_PRINCIPAL} invoke it for "
            f"{bucket_arn} (add a lambda:InvokeFunction permission, as CDK's "
            "LambdaDestination does)"
        )
        if _iam_mode == "enforce":
            log.warning("S3 notification not delivered: %s", message)
            return
        log.warning("IAM audit (allowed): %s", message)
    lambda_runner.runner().invoke_async(fn, event_body)


def _key_matches(self: Any, key_name: str) -> bool:
    """moto's prefix/suffix test, with rule names in any case and a single rule."""
    rules = (self.filters or {}).get("S3Key", {}).get("FilterRule", [])
    rules = [rules] if isinstance(rules, dict) else rules
    wanted = {str(rule["Name"]).lower(): str(rule["Value"]) for rule in rules}
    return key_name.startswith(wanted.get("prefix", "")) and key_name.endswith(
        wanted.get("suffix", "")
    )


_GET_EVENT = Patch("s3.notifications.event_fields", notifications, "_get_s3_event", s3_event)

PATCHES = PatchSet(
    "s3_notifications",
    [
        _GET_EVENT,
        Patch("s3.notifications.lambda_async", notifications, "_invoke_awslambda", invoke_lambda),
        Patch("s3.notifications.key_filter", s3_models.Notification, "_key_matches", _key_matches),
    ],
)


def install(settings: Settings) -> None:
    """Deliver to Lambda destinations through our runner under `settings.iam_mode`."""
    global _iam_mode
    _iam_mode = settings.iam_mode
    PATCHES.install()
