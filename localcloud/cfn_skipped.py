"""Resource types the local cloud does not run, reported instead of skipped silently.

moto skips a type it has no CloudFormation model for (and nobody registered one in
`cfn_types`): it logged one line and left the resource out, so a `Ref` to it resolved to
nothing and a `Fn::GetAtt` failed with "references undefined resource". Here each skipped
resource gets a `SkippedResource` in the stack's resource map, a stack event naming its
logical id and type with the reason (the CDK CLI prints it in the deploy output), and a
warning in the server log. A `Ref` to it still resolves to nothing, as before; a
`Fn::GetAtt` on it fails the deploy with `SkippedAttributeError`, which says so.
"""

from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation.exceptions import ValidationError

from localcloud.patches import Patch

log = logging.getLogger("localcloud.cfn_skipped")

# Why a type is skipped, where there is more to say than "moto has no model for it".
# localcloud/README.md ("Skipped resource types") lists the same.
REASONS: dict[str, str] = {
    "AWS::CDK::Metadata": "CDK's usage metadata: nothing to run",
    "AWS::CloudFormation::WaitCondition": "moto ignores wait conditions",
    "AWS::CloudFormation::WaitConditionHandle": "moto ignores wait conditions",
    "AWS::S3::BucketPolicy": "bucket policies are not enforced locally",
    "AWS::SQS::QueuePolicy": "queue policies are not enforced locally",
    "AWS::SNS::TopicPolicy": "topic policies are not enforced locally",
    "AWS::Lambda::EventInvokeConfig": (
        "asynchronous-invoke destinations and retries are not available locally"
    ),
    "AWS::CloudWatch::Alarm": "moto has no CloudFormation model for alarms",
    "AWS::DAX::Cluster": "DAX is not available locally (the local stage has no DAX)",
    "AWS::DAX::SubnetGroup": "DAX is not available locally (the local stage has no DAX)",
    "AWS::DAX::ParameterGroup": "DAX is not available locally (the local stage has no DAX)",
    "AWS::Cognito::UserPool": "moto has no CloudFormation model for Cognito user pools",
    "AWS::Cognito::UserPoolClient": "moto has no CloudFormation model for Cognito clients",
    "AWS::SecretsManager::Secret": "moto has no CloudFormation model for secrets",
    "AWS::ApiGateway::Account": "API Gateway's CloudWatch role setting: nothing to run",
}
DEFAULT_REASON = "moto has no CloudFormation model for this type"


def reason_for(resource_type: str) -> str:
    """Why `resource_type` is not run."""
    return REASONS.get(resource_type, DEFAULT_REASON)


def status_reason(logical_id: str, resource_type: str) -> str:
    """The stack event's `ResourceStatusReason` for a skipped resource."""
    return (
        f"SKIPPED by the local cloud: {resource_type} is not run locally "
        f"({reason_for(resource_type)}); nothing was created for {logical_id}"
    )


class SkippedAttributeError(ValidationError):
    """A `Fn::GetAtt` on a resource the local cloud skipped."""

    def __init__(self, logical_id: str, resource_type: str, attribute: str) -> None:
        super().__init__(
            message=(
                f"Fn::GetAtt {logical_id}.{attribute} cannot be resolved: {logical_id} is a "
                f"{resource_type}, a resource type the local cloud does not run "
                f"({reason_for(resource_type)}); see 'Skipped resource types' in "
                "localcloud/README.md"
            )
        )


class SkippedResource:
    """Stands in the resource map for a resource of a type that is not run."""

    def __init__(self, logical_id: str, resource_type: str) -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type

    # A `Ref` resolves to nothing (moto's behaviour for a skipped resource).
    physical_resource_id = None

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        raise SkippedAttributeError(self.logical_resource_id, self.cf_resource_type, attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing was created, so nothing is deleted."""


def report(stack_name: str, logical_id: str, resource_type: str) -> str:
    """Log the skip in the server log; return the stack event's reason."""
    log.warning(
        "CloudFormation stack %s: skipped %s (%s): %s",
        stack_name,
        logical_id,
        resource_type,
        reason_for(resource_type),
    )
    return status_reason(logical_id, resource_type)


def validate_outputs(self: Any) -> None:
    """moto's check of the Outputs' `Fn::GetAtt`s, which hit `AttributeError` (HTTP 500) on a
    skipped type: that one fails with `SkippedAttributeError` instead."""
    for output in (self._template.get("Outputs") or {}).values():
        value = output.get("Value") if isinstance(output, dict) else None
        if not isinstance(value, dict) or not isinstance(value.get("Fn::GetAtt"), list):
            continue
        logical_id, attribute = value["Fn::GetAtt"][:2]
        resource = self._resource_json_map.get(logical_id)
        if not isinstance(resource, dict):
            continue
        resource_type = str(resource.get("Type"))
        if cfn_parsing.resource_class_from_type(resource_type) is None:
            raise SkippedAttributeError(logical_id, resource_type, str(attribute))
    _VALIDATE_OUTPUTS.original(self)


_VALIDATE_OUTPUTS = Patch(
    "cfn.skipped.get_att_in_outputs",
    cfn_parsing.ResourceMap,
    "validate_outputs",
    validate_outputs,
)
PATCHES = [_VALIDATE_OUTPUTS]
