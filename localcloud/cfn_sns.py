"""SNS subscriptions from CloudFormation, and deliveries to Lambda as SNS makes them.

moto 5.2.5 has no CloudFormation model for `AWS::SNS::Subscription` (skipped: CDK's
`topic.add_subscription(SqsSubscription(queue))` or `LambdaSubscription(fn)` subscribed
nothing), invoked a Lambda subscriber synchronously with a fixed sample event (message id,
topic ARN, timestamp and attributes all made up), ignoring its resource policy, and read a
`RawMessageDelivery` of `"false"` (a string, as the API sends it) as raw. Here:

* `Subscription` serves the type through `cfn_types`: `Protocol`, `Endpoint`, `TopicArn`
  and the attributes `FilterPolicy`, `FilterPolicyScope`, `RawMessageDelivery`,
  `RedrivePolicy`, `DeliveryPolicy`, `SubscriptionRoleArn` go to moto's SNS backend
  (`subscribe`, `set_subscription_attributes`); its `Ref` is the subscription's ARN; an
  update sets the changed attributes (a new topic, endpoint or protocol replaces it); a
  delete unsubscribes;
* a Lambda subscriber is invoked asynchronously by our runner, with SNS's event
  (`Records[].EventSource` `aws:sns`, `EventSubscriptionArn`, `Sns` with `Type`,
  `MessageId`, `TopicArn`, `Subject`, `Message`, `Timestamp`, `MessageAttributes`, ...),
  after the subscription's filter policy, and only when its resource policy lets
  `sns.amazonaws.com` invoke it for the topic (`LOCALCLOUD_IAM=audit` logs and invokes,
  `off` skips the check), as CDK's `LambdaSubscription` grants;
* `RawMessageDelivery` is read as SNS reads it (`"true"`/`"false"`, any case).

SQS subscribers are moto's: the SNS envelope as the message body, or with raw delivery the
message itself, with the message attributes as SQS attributes.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Self

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import lambda_backends
from moto.core.utils import iso_8601_datetime_with_milliseconds
from moto.sns import models as sns_models
from moto.sns.models import SNSBackend, sns_backends

from localcloud import cfn_types, lambda_permissions, lambda_runner
from localcloud.cfn_types import ServedResource
from localcloud.patches import Patch, PatchSet
from localcloud.settings import Settings

log = logging.getLogger("localcloud.sns")

SUBSCRIPTION = "AWS::SNS::Subscription"
SNS_PRINCIPAL = "sns.amazonaws.com"
# The properties that are subscription attributes; FilterPolicyScope first, since the
# filter policy is validated by its scope.
ATTRIBUTES = (
    "FilterPolicyScope",
    "FilterPolicy",
    "RawMessageDelivery",
    "RedrivePolicy",
    "DeliveryPolicy",
    "SubscriptionRoleArn",
)
# A change to one of these is a new subscription (CloudFormation replaces it).
_IDENTITY = ("TopicArn", "Endpoint", "Protocol")

_iam_mode = "enforce"


def backend(account_id: str, region_name: str) -> SNSBackend:
    found: SNSBackend = sns_backends[account_id][region_name]
    return found


def _attribute_value(name: str, value: Any) -> Any:
    """A property as the SNS API sends the attribute: JSON text for a policy, `"true"`."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


class Subscription(ServedResource):
    """`AWS::SNS::Subscription`: a subscription in moto's SNS backend; `Ref` is its ARN."""

    cf_resource_type = SUBSCRIPTION
    id_attribute = "Arn"

    def __init__(self, arn: str, properties: dict[str, Any], account_id: str, region: str) -> None:
        super().__init__(arn, account_id, region)
        self.properties = properties

    @property
    def arn(self) -> str:
        return self.physical_id

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        sns = backend(account_id, region_name)
        subscription = sns.subscribe(
            str(properties["TopicArn"]), str(properties["Endpoint"]), str(properties["Protocol"])
        )
        cls._set_attributes(sns, subscription.arn, properties, {})
        return cls(subscription.arn, properties, account_id, region_name)

    @staticmethod
    def _set_attributes(
        sns: SNSBackend, arn: str, properties: dict[str, Any], previous: dict[str, Any]
    ) -> None:
        for name in ATTRIBUTES:
            if name in properties:
                value = _attribute_value(name, properties[name])
                sns.set_subscription_attributes(arn, name, value)
            elif name in previous:
                # Removed from the template: back to SNS's default.
                sns.set_subscription_attributes(
                    arn, name, "false" if name == "RawMessageDelivery" else ""
                )

    def update_in_place(
        self, properties: dict[str, Any], account_id: str, region_name: str
    ) -> bool:
        """Set the changed attributes; a new topic, endpoint or protocol replaces it."""
        if any(str(properties.get(k)) != str(self.properties.get(k)) for k in _IDENTITY):
            return False
        self._set_attributes(
            backend(account_id, region_name), self.arn, properties, self.properties
        )
        self.properties = properties
        return True

    @classmethod
    def from_physical_id(
        cls, physical_id: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> Self:
        return cls(physical_id, properties, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Unsubscribe (already gone is not an error)."""
        backend(account_id, region_name).unsubscribe(self.arn)


def sns_event(
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None,
) -> dict[str, Any]:
    """The event SNS invokes a subscribed function with."""
    region = subscription.topic.sns_backend.region_name
    return {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": subscription.topic.arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": iso_8601_datetime_with_milliseconds(),
                    "SignatureVersion": "1",
                    "Signature": "LOCALCLOUD",
                    "SigningCertUrl": f"https://sns.{region}.amazonaws.com/localcloud.pem",
                    "UnsubscribeUrl": (
                        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
                        f"&SubscriptionArn={subscription.arn}"
                    ),
                    "MessageAttributes": dict(message_attributes or {}),
                },
            }
        ]
    }


def _invoke_lambda(subscription: Any, event: dict[str, Any]) -> None:
    fn_arn = str(subscription.endpoint)
    parts = fn_arn.split(":")
    try:
        fn = lambda_backends[parts[4]][parts[3]].get_function(fn_arn)
    except (LambdaClientError, IndexError) as error:
        log.warning("SNS message not delivered to %s: %s", fn_arn, error)
        return
    topic_arn = str(subscription.topic.arn)
    if _iam_mode != "off" and not lambda_permissions.permits(
        fn.policy.statements, SNS_PRINCIPAL, fn_arn, topic_arn, subscription.account_id
    ):
        reason = (
            f"{fn_arn}: its resource policy does not let {SNS_PRINCIPAL} invoke it for "
            f"{topic_arn} (add a lambda:InvokeFunction permission, as CDK's "
            "LambdaSubscription does)"
        )
        if _iam_mode == "enforce":
            log.warning("SNS message not delivered: %s", reason)
            return
        log.warning("IAM audit (allowed): %s", reason)
    lambda_runner.runner().invoke_async(fn, event)


def publish(
    self: Any,
    message: str,
    message_id: str,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    message_structure: str | None = None,
) -> None:
    """moto's delivery to one subscriber, with Lambda's through our runner."""
    if self.protocol != "lambda":
        _PUBLISH.original(
            self,
            message,
            message_id,
            subject=subject,
            message_attributes=message_attributes,
            group_id=group_id,
            deduplication_id=deduplication_id,
            message_structure=message_structure,
        )
        return
    matcher = self._filter_policy_matcher
    if matcher is not None and not matcher.matches(message_attributes, message):
        return
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    _invoke_lambda(self, sns_event(self, message, message_id, subject, message_attributes))


def set_subscription_attributes(self: Any, arn: str, name: str, value: Any) -> None:
    """moto's, with `RawMessageDelivery` kept as the boolean its delivery tests."""
    if name == "RawMessageDelivery":
        value = _bool(value)
    _SET_ATTRIBUTES.original(self, arn, name, value)


_PUBLISH = Patch("sns.subscription.lambda_async", sns_models.Subscription, "publish", publish)
_SET_ATTRIBUTES = Patch(
    "sns.subscription.raw_delivery_flag",
    SNSBackend,
    "set_subscription_attributes",
    set_subscription_attributes,
)
PATCHES = PatchSet("cfn_sns", [_PUBLISH, _SET_ATTRIBUTES])

cfn_types.register(SUBSCRIPTION, Subscription, None)


def install(settings: Settings) -> None:
    """Deliver to Lambda subscribers through our runner under `settings.iam_mode`."""
    global _iam_mode
    _iam_mode = settings.iam_mode
    PATCHES.install()
