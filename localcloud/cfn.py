"""Targeted CloudFormation fixes so that CDK stack *updates* work against moto 5.2.5.

Each override fixes one observed failure of `cdk deploy` on moto, and each has a test in
`tests/localcloud/test_cfn.py` that first proves moto still misbehaves without it (so a moto
upgrade that fixes the bug fails that test and the override can be deleted):

* `describe_change_set`: a missing change set must raise `ChangeSetNotFound` (HTTP 404), not
  `ValidationError`; CDK waits for its leftover `cdk-deploy-change-set` to be gone by polling
  until it sees `ChangeSetNotFoundException`. Lookups are scoped to the stack, because CDK uses
  the same change set name for every stack.
* `delete_change_set`: deleting a change set that does not exist is a no-op on AWS; moto hits
  `UnboundLocalError` (HTTP 500).
* `_resolve_update_parameters` and the CreateChangeSet handler: `UsePreviousValue` for a
  parameter that kept its template default (CDK's `BootstrapVersion`) raises `KeyError` on
  `--method=direct`; on a change set it reuses the *resolved* SSM value as an SSM name and
  fails with `AttributeError` (HTTP 500).
* `create_change_set` / `execute_change_set`: a stack created through a change set never
  gets its Outputs (nor its Exports registered, so a second stack's `Fn::ImportValue` fails)
  and sees no other stack's Exports. After execution we rebuild the outputs and register the
  exports as `create_stack` does, and, as AWS does, drop the stack's executed change sets.
* `parse_and_update_resource`: a resource type moto cannot update became `None` in the
  stack's resource map (every later `Fn::GetAtt` on it failed); it keeps the existing
  resource, with a warning. (Tables are `cfn_tables.py`'s, in DynamoDB Local.)
* `Stack.delete`: describing a deleted stack re-resolved its Outputs and so re-created the
  resources they reference (`cdk destroy` left `cruddur-messages` behind).
* `execute_change_set` / `Stack.update` / `create_stack` (`cfn_resources.py`): resources
  are created, updated and deleted in dependency order, a failure rolls the stack back
  (`ROLLBACK_COMPLETE` / `UPDATE_ROLLBACK_COMPLETE`, the previous template kept) with resource
  events that say which resource failed and why, and answers CloudFormation's XML with the
  reason; a stack whose creation failed refuses updates, as on AWS (`cdk deploy` deletes and
  re-creates it). Types the local cloud does not run are reported (`cfn_skipped.py`).
"""

from __future__ import annotations

import warnings
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import (
    CloudFormationError,
    MissingParameterError,
    ValidationError,
)
from moto.core.responses import ActionResult, EmptyResult

from localcloud import cfn_resources, cfn_skipped
from localcloud.patches import Patch, PatchSet

Backend = cfn_models.CloudFormationBackend


class ChangeSetNotFound(CloudFormationError):
    """AWS's error for a change set name or ARN that does not exist on the stack."""

    code = "ChangeSetNotFound"

    def __init__(self, change_set_name: str) -> None:
        super().__init__(f"ChangeSet [{change_set_name}] does not exist")
        self.status_code = 404


def _find_change_set(backend: Backend, change_set_name: str, stack_name: str | None) -> Any | None:
    """The change set by ARN, or by name on the given stack (name or stack id)."""
    if change_set_name in backend.change_sets:
        return backend.change_sets[change_set_name]
    for change_set in backend.change_sets.values():
        if change_set.change_set_name != change_set_name:
            continue
        if stack_name in (None, "", change_set.stack_name, change_set.stack_id):
            return change_set
    return None


def describe_change_set(self: Backend, change_set_name: str, stack_name: str | None = None) -> Any:
    """Like moto's, but scoped to the stack and raising `ChangeSetNotFound`."""
    change_set = _find_change_set(self, change_set_name, stack_name)
    if change_set is None:
        raise ChangeSetNotFound(change_set_name)
    return change_set


def delete_change_set(self: Backend, change_set_name: str, stack_name: str | None = None) -> None:
    """Delete the change set if it exists; a missing one is not an error (as on AWS)."""
    change_set = _find_change_set(self, change_set_name, stack_name)
    if change_set is not None:
        del self.change_sets[change_set.change_set_id]


def _response_describe_change_set(self: Any) -> Any:
    change_set = self.cloudformation_backend.describe_change_set(
        change_set_name=self._get_param("ChangeSetName"),
        stack_name=self._get_param("StackName"),
    )
    return ActionResult(change_set)


def _response_delete_change_set(self: Any) -> Any:
    self.cloudformation_backend.delete_change_set(
        change_set_name=self._get_param("ChangeSetName"),
        stack_name=self._get_param("StackName"),
    )
    return EmptyResult()


def previous_values(stack: Any) -> dict[str, Any]:
    """The stack's parameter inputs as given, template defaults included.

    Not the resolved values: for an `AWS::SSM::Parameter::Value<...>` parameter (CDK's
    `BootstrapVersion`) the previous value is the SSM parameter *name*, which moto resolves
    again on update; reusing the resolved value made moto look up an SSM parameter named "21".
    """
    template = getattr(stack, "template_dict", None) or {}
    values: dict[str, Any] = {
        key: slot["Default"]
        for key, slot in (template.get("Parameters") or {}).items()
        if isinstance(slot, dict) and "Default" in slot
    }
    values.update(stack.parameters or {})
    return values


def _resolve_update_parameters(
    self: Backend, instance: Any, incoming_params: list[dict[str, str]]
) -> dict[str, str]:
    """Resolve `UsePreviousValue` from the stack's inputs, template defaults included."""
    previous = previous_values(instance)
    parameters: dict[str, str] = {}
    for parameter in incoming_params:
        key = parameter["ParameterKey"]
        if parameter.get("UsePreviousValue", False):
            if key in previous:
                parameters[key] = previous[key]
        elif "ParameterValue" in parameter:
            parameters[key] = parameter["ParameterValue"]
    return parameters


def _response_create_change_set(self: Any) -> Any:
    """moto's handler, with `UsePreviousValue` taken from `previous_values`, and
    `ChangeSetType` defaulting to `UPDATE` as AWS's does (moto's `CREATE` made a second
    stack of the same name)."""
    stack_name = self._get_param("StackName")
    update_or_create = self._get_param("ChangeSetType", "UPDATE")
    stack_body = self._get_param("TemplateBody")
    template_url = self._get_param("TemplateURL")
    stack = None
    if update_or_create == "UPDATE":
        stack = self.cloudformation_backend.get_stack(stack_name)
        self.validate_template_and_stack_body()
        if self._get_bool_param("UsePreviousTemplate", False):
            stack_body = stack.template
    parameters_list = self._get_param("Parameters", [])
    previous = previous_values(stack) if stack is not None else {}
    parameters = {}
    for param in parameters_list:
        key = param["ParameterKey"]
        if param.get("UsePreviousValue", False):
            if key not in previous:
                raise MissingParameterError(key)
            parameters[key] = previous[key]
        else:
            parameters[key] = param["ParameterValue"]
    if stack is not None:
        self._validate_different_update(parameters_list, stack_body, stack)
    if template_url:
        stack_body = self._get_stack_from_s3_url(template_url)
    change_set_id, stack_id = self.cloudformation_backend.create_change_set(
        stack_name=stack_name,
        change_set_name=self._get_param("ChangeSetName"),
        template=stack_body,
        parameters=parameters,
        description=self._get_param("Description"),
        notification_arns=self._get_param("NotificationARNs", []),
        tags={item["Key"]: item["Value"] for item in self._get_param("Tags", [])},
        role_arn=self._get_param("RoleARN"),
        change_set_type=update_or_create,
    )
    return ActionResult({"Id": change_set_id, "StackId": stack_id})


def create_change_set(self: Backend, *args: Any, **kwargs: Any) -> tuple[str, str]:
    """moto's, plus: the stack sees the region's Exports (for `Fn::ImportValue`), and a
    stack whose creation failed cannot be updated."""
    if kwargs.get("change_set_type") == "UPDATE":
        for existing in self.stacks.values():
            if existing.name == kwargs.get("stack_name"):
                _refuse_rolled_back_create(existing)
    change_set_id, stack_id = _CREATE_CHANGE_SET.original(self, *args, **kwargs)
    stack = self.stacks[stack_id]
    stack.cross_stack_resources = self.exports
    stack.resource_map.cross_stack_resources = self.exports
    return change_set_id, stack_id


def execute_change_set(self: Backend, change_set_name: str, stack_name: str | None = None) -> None:
    """moto's, plus Outputs, Exports and the removal of the stack's change sets; a failure
    rolls the stack back (`cfn_resources`) and answers the reason."""
    change_set = _find_change_set(self, change_set_name, stack_name)
    if change_set is None:
        raise ChangeSetNotFound(change_set_name)
    stack = self.stacks[change_set.stack_id]
    old_exports = [export.name for export in stack.exports]
    try:
        try:
            _EXECUTE_CHANGE_SET.original(self, change_set.change_set_id, stack_name)
        except Exception as error:
            change_set.execution_status = "EXECUTE_FAILED"
            cfn_resources.rolled_back(stack, change_set.change_set_type, error)
            if change_set.change_set_type == "CREATE":
                # AWS keeps the attempted template of a ROLLBACK_COMPLETE stack.
                stack.template = change_set.template
                stack._parse_template()
            raise cfn_resources.as_cloudformation_error(error) from error
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        for name in old_exports:
            self.exports.pop(name, None)
        self._validate_export_uniqueness(stack)
        for export in stack.exports:
            self.exports[export.name] = export
    finally:
        for change_set_id, other in list(self.change_sets.items()):
            if other.stack_id == stack.stack_id:
                del self.change_sets[change_set_id]


def _refuse_rolled_back_create(stack: Any) -> None:
    """AWS's answer to an update of a stack whose creation failed (`cdk deploy` deletes such
    a stack and creates it again)."""
    if stack.status == "ROLLBACK_COMPLETE":
        raise ValidationError(
            message=f"Stack:{stack.stack_id} is in ROLLBACK_COMPLETE state and can not be updated."
        )


def stack_update(self: Any, template: str, *args: Any, **kwargs: Any) -> None:
    """moto's, but a failed update keeps the previous template and reads as rolled back."""
    _refuse_rolled_back_create(self)
    previous = self.template
    try:
        _STACK_UPDATE.original(self, template, *args, **kwargs)
    except Exception as error:
        self.template = previous
        self._parse_template()
        cfn_resources.rolled_back(self, "UPDATE", error)
        raise cfn_resources.as_cloudformation_error(error) from error


def parse_and_update_resource(
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: Any,
    account_id: str,
    region_name: str,
) -> Any:
    """moto's, but a type moto cannot update keeps its resource instead of becoming `None`."""
    updated = _PARSE_AND_UPDATE.original(
        logical_id, resource_json, resources_map, account_id, region_name
    )
    if updated is None and logical_id in resources_map._parsed_resources:
        warnings.warn(
            f"localcloud: moto cannot update {resource_json.get('Type')} {logical_id}; "
            "keeping the existing resource unchanged",
            stacklevel=2,
        )
        return resources_map._parsed_resources[logical_id]
    return updated


def stack_delete(self: Any) -> None:
    """moto's, then forget the outputs: a deleted stack's resources must stay deleted.

    moto resolves Outputs lazily; describing a deleted stack (CDK polls it by id until
    DELETE_COMPLETE) resolved `Fn::GetAtt` again and *re-created* the deleted table.
    """
    cfn_resources.bind(self)
    _STACK_DELETE.original(self)
    self.output_map = cfn_parsing.OutputMap(self.resource_map, {}, self.stack_id)


_STACK_DELETE = Patch("cfn.stack_delete.no_resurrection", cfn_models.Stack, "delete", stack_delete)

_STACK_UPDATE = Patch("cfn.stack_update.rollback", cfn_models.Stack, "update", stack_update)

_PARSE_AND_UPDATE = Patch(
    "cfn.update_resource.keep_unsupported",
    cfn_parsing,
    "parse_and_update_resource",
    parse_and_update_resource,
)

_CREATE_CHANGE_SET = Patch(
    "cfn.create_change_set.exports", Backend, "create_change_set", create_change_set
)
_EXECUTE_CHANGE_SET = Patch(
    "cfn.execute_change_set.outputs", Backend, "execute_change_set", execute_change_set
)

PATCHES = PatchSet(
    "cloudformation",
    [
        Patch(
            "cfn.describe_change_set.not_found",
            Backend,
            "describe_change_set",
            describe_change_set,
        ),
        Patch("cfn.delete_change_set.missing", Backend, "delete_change_set", delete_change_set),
        Patch(
            "cfn.describe_change_set.response",
            cfn_responses.CloudFormationResponse,
            "describe_change_set",
            _response_describe_change_set,
        ),
        Patch(
            "cfn.delete_change_set.response",
            cfn_responses.CloudFormationResponse,
            "delete_change_set",
            _response_delete_change_set,
        ),
        Patch(
            "cfn.update_parameters.previous_value",
            Backend,
            "_resolve_update_parameters",
            _resolve_update_parameters,
        ),
        Patch(
            "cfn.create_change_set.previous_value",
            cfn_responses.CloudFormationResponse,
            "create_change_set",
            _response_create_change_set,
        ),
        _CREATE_CHANGE_SET,
        _EXECUTE_CHANGE_SET,
        _PARSE_AND_UPDATE,
        _STACK_DELETE,
        _STACK_UPDATE,
        *cfn_resources.PATCHES,
        *cfn_skipped.PATCHES,
    ],
)
