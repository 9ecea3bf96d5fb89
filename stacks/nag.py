"""cdk-nag rule packs, and the one way this code acknowledges a finding."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def apply_nag_checks(app: IConstruct) -> None:
    """Check every resource of `app` against the AWS Solutions and Serverless rule packs.

    Any unacknowledged finding fails synthesis (CDK policy validation) and is listed in the
    cloud assembly's `validation-report.json` (`cdk.out/<stage>/` for `make synth`).
    Acknowledgments are also written into each resource's `Metadata.cdk_nag`, so reviewers
    see them in the templates.
    """
    # Imported here, not at the top: loading cdk-nag pulls some thirty aws-cdk-lib service
    # modules into the jsii runtime, which a synth without the checks need not pay for.
    from cdk_nag import AwsSolutionsChecks, ServerlessChecks

    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True),
        ServerlessChecks(app, verbose=True, write_suppressions_to_cloud_formation=True),
    )


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Accept finding `rule` (e.g. `AwsSolutions-IAM5[Resource::*]`) on `construct` and below."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_table_key_actions(role: IConstruct) -> None:
    """Accept the KMS action families a role needs on a customer-managed table key."""
    reason = (
        "kms:GenerateDataKey* and kms:ReEncrypt* on the one table key are the action "
        "families DynamoDB needs for customer-managed encryption."
    )
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        acknowledge(role, f"AwsSolutions-IAM5[Action::{action}]", reason)
