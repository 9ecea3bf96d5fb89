"""Read synthesized templates the way a reviewer does: by names and properties, not logical ids."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template


def render(value: Any) -> Any:
    """Turn CloudFormation intrinsics into readable strings (`${AWS::Partition}`, `${Id.Arn}`)."""
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(render(part)) for part in parts)
        if function == "Ref":
            return f"${{{argument}}}"
        if function == "Fn::GetAtt":
            return f"${{{argument[0]}.{argument[1]}}}"
        if function == "Fn::ImportValue":
            return f"${{Import:{render(argument)}}}"
    if isinstance(value, list):
        return [render(item) for item in value]
    if isinstance(value, dict):
        return {key: render(item) for key, item in value.items()}
    return value


def function_by_name(template: Template, function_name: str) -> tuple[str, dict[str, Any]]:
    """The logical id and properties of the Lambda function called `function_name`."""
    found = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"FunctionName": function_name}}
    )
    assert len(found) == 1, f"expected one function {function_name}, found {len(found)}"
    ((logical_id, resource),) = found.items()
    return logical_id, resource["Properties"]


def role_statements(template: Template, role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the role, intrinsics rendered."""
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_logical_id}]}}
    )
    statements: list[dict[str, Any]] = []
    for policy in policies.values():
        statements.extend(render(policy["Properties"]["PolicyDocument"]["Statement"]))
    return statements


def function_role(template: Template, function_name: str) -> tuple[str, dict[str, Any]]:
    """The logical id and properties of the execution role of `function_name`."""
    _, properties = function_by_name(template, function_name)
    role_id = properties["Role"]["Fn::GetAtt"][0]
    role = template.to_json()["Resources"][role_id]
    assert role["Type"] == "AWS::IAM::Role"
    return role_id, role["Properties"]


def grants(statements: list[dict[str, Any]], service: str) -> dict[str, set[str]]:
    """Resources by action, for the actions of one service prefix (`dynamodb`, `dax`)."""
    by_action: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        for action in actions:
            if action.startswith(f"{service}:"):
                by_action.setdefault(action, set()).update(str(r) for r in resources)
    return by_action
