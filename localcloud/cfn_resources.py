"""A stack's resources created, updated and deleted in dependency order, and rolled back.

moto 5.2.5 executed a change set's new resources in template order, ignoring `DependsOn`
(CDK's `AWS::ApiGateway::Deployment` came before its `Method`s: "The REST API doesn't
contain any methods"), deleted a stack's resources in set order, had no rollback, and let a
resource handler's own error (an API Gateway JSON error, a `KeyError`) escape as a non-XML
answer the CDK CLI could not read ("XML parse error: unexpected content"). Here:

* `parse_and_create_resource`: every resource is created after what it depends on
  (`cfn_deps`: `DependsOn`, `Ref`, `Fn::GetAtt`, `Fn::Sub`), whichever path asks for it
  first (template order, an Output, an Export), with CloudFormation's resource events
  (`CREATE_IN_PROGRESS`, `CREATE_COMPLETE`, `CREATE_FAILED` with the reason); a handler's
  failure becomes `ResourceFailed`, a CloudFormation `ValidationError` naming the resource;
  a type the local cloud does not run becomes a `cfn_skipped.SkippedResource`, reported.
* `resource_map_update`: an update (and a CREATE change set, which moto runs as an update
  of an empty stack) adds and modifies in dependency order, then removes what the template
  dropped in reverse order; when a resource fails, the resources it created are deleted
  (newest first), the modified ones are updated back, and the resource map is the previous
  one again: the stack keeps its previous template and resources.
* `resource_map_delete`: a stack's resources are deleted in reverse dependency order.
* `create_stack`: a failed `CreateStack` deletes what it created; the stack stays as
  `ROLLBACK_COMPLETE` (as on AWS: delete it, or let `cdk deploy` do that, and create it again).

As on AWS, a resource whose `DeletionPolicy` is `Retain` (CDK's default for tables and
buckets) is kept by a rollback; `RetainExceptOnCreate` is deleted by the rollback of the
operation that created it. The local cloud runs a stack operation synchronously, so the
failed call also answers the failure itself (a `ValidationError` with the reason).
"""

from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.core.exceptions import ServiceException

from localcloud import cfn_deps, cfn_skipped
from localcloud.patches import Patch

log = logging.getLogger("localcloud.cfn")

ResourceMap = cfn_parsing.ResourceMap
STACK_TYPE = "AWS::CloudFormation::Stack"


class ResourceFailed(ValidationError):
    """One resource of a stack operation failed; the message names it and says why."""

    def __init__(
        self, logical_id: str, resource_type: str, reason: str, action: str = "create"
    ) -> None:
        super().__init__(
            message=f"Resource {logical_id} ({resource_type}) failed to {action}: {reason}"
        )
        self.logical_id = logical_id
        self.reason = reason
        self.action = action


def error_reason(error: BaseException) -> str:
    """A handler's error as a status reason: the service's code and message."""
    if isinstance(error, CloudFormationError):
        return str(error.message)
    if isinstance(error, ServiceException):
        return f"{error.code}: {error.message}"
    error_type, message = getattr(error, "error_type", None), getattr(error, "message", None)
    if error_type and message:  # moto's REST errors (API Gateway, Lambda, ...)
        return f"{error_type}: {message}"
    return f"{type(error).__name__}: {error}"


def as_cloudformation_error(error: Exception) -> CloudFormationError:
    """`error` as CloudFormation answers a failure: XML with the reason."""
    if isinstance(error, CloudFormationError):
        return error
    return ValidationError(message=error_reason(error))


def bind(stack: Any) -> None:
    """Tell the stack's resource map its stack: `DeleteStack` takes the stack out of the
    backend before deleting its resources, whose events still belong to it."""
    stack.resource_map._localcloud_stack = stack


def stack_of(resources: ResourceMap) -> Any | None:
    """The stack that owns the resource map (None for a StackSet's hidden stack)."""
    bound = vars(resources).get("_localcloud_stack")
    if bound is not None:
        return bound
    backend = cfn_models.cloudformation_backends[resources._account_id][resources._region_name]
    return backend.stacks.get(resources.stack_id)


def resource_event(
    resources: ResourceMap,
    logical_id: str,
    resource_type: str,
    status: str,
    reason: str | None = None,
    physical_id: Any = None,
) -> None:
    """Record a resource's event on its stack, as CloudFormation reports progress."""
    stack = stack_of(resources)
    if stack is None:
        return
    stack.events.append(
        cfn_models.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical_id if isinstance(physical_id, str) else "",
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _rollback_event(stack: Any, status: str, reason: str) -> None:
    """The stack's `*ROLLBACK_IN_PROGRESS` event, once per rollback: the resource map
    reports it when it starts undoing resources, else the stack when it rolls back."""
    if vars(stack).get("_localcloud_rollback_reported"):
        return
    stack._add_stack_event(status, resource_status_reason=reason)
    stack._localcloud_rollback_reported = True


def _journal(resources: ResourceMap) -> list[str]:
    """The logical ids the current operation created, oldest first."""
    journal: list[str] | None = vars(resources).get("_localcloud_created")
    if journal is None:
        journal = []
        resources._localcloud_created = journal  # type: ignore[attr-defined]
    return journal


def _creating(resources: ResourceMap) -> set[str]:
    creating: set[str] | None = vars(resources).get("_localcloud_creating")
    if creating is None:
        creating = set()
        resources._localcloud_creating = creating  # type: ignore[attr-defined]
    return creating


def start_operation(resources: ResourceMap) -> list[str]:
    """Begin recording what an operation creates; the (empty) journal."""
    resources._localcloud_created = []  # type: ignore[attr-defined]
    resources._localcloud_creating = set()  # type: ignore[attr-defined]
    return _journal(resources)


def parse_and_create_resource(
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: ResourceMap,
    account_id: str,
    region_name: str,
) -> Any:
    """moto's, after the resource's dependencies, with events and CloudFormation errors."""
    condition = resource_json.get("Condition")
    if condition and not resources_map.lazy_condition_map[condition]:
        return None
    resource_type = str(resource_json.get("Type"))
    if cfn_parsing.resource_class_from_type(resource_type) is None:
        reason = cfn_skipped.report(str(resources_map["AWS::StackName"]), logical_id, resource_type)
        resource_event(resources_map, logical_id, resource_type, "CREATE_COMPLETE", reason)
        return cfn_skipped.SkippedResource(logical_id, resource_type)
    creating = _creating(resources_map)
    if logical_id in creating:
        raise cfn_deps.CircularDependency(sorted(creating))
    creating.add(logical_id)
    try:
        for dependency in cfn_deps.dependencies(logical_id, resources_map._resource_json_map):
            _ = resources_map[dependency]
        resource_event(resources_map, logical_id, resource_type, "CREATE_IN_PROGRESS")
        try:
            resource = _PARSE_AND_CREATE.original(
                logical_id, resource_json, resources_map, account_id, region_name
            )
        except ResourceFailed:
            raise
        # Whatever a resource handler raises (moto's own service errors, a KeyError on a
        # property it does not expect) is this resource's failure, reported as AWS does.
        except Exception as error:  # noqa: BLE001
            reason = error_reason(error)
            resource_event(resources_map, logical_id, resource_type, "CREATE_FAILED", reason)
            raise ResourceFailed(logical_id, resource_type, reason) from error
    finally:
        creating.discard(logical_id)
    if resource is None:
        return None
    _journal(resources_map).append(logical_id)
    resource_event(
        resources_map,
        logical_id,
        resource_type,
        "CREATE_COMPLETE",
        physical_id=getattr(resource, "physical_resource_id", None),
    )
    return resource


def _delete_one(
    resources: ResourceMap, logical_id: str, resource: Any, resource_json: dict[str, Any]
) -> None:
    """Delete one resource with its events; raises what the handler raised."""
    resource_type = str(resource_json.get("Type") or getattr(resource, "cf_resource_type", ""))
    if isinstance(resource, cfn_skipped.SkippedResource):
        return
    physical_id = getattr(resource, "physical_resource_id", None)
    resource_event(resources, logical_id, resource_type, "DELETE_IN_PROGRESS", None, physical_id)
    try:
        resources._delete_resource(resource, resource_json)
    except Exception as error:  # noqa: BLE001 -- reported, then the caller decides
        reason = error_reason(error)
        resource_event(resources, logical_id, resource_type, "DELETE_FAILED", reason, physical_id)
        raise
    resource_event(resources, logical_id, resource_type, "DELETE_COMPLETE", None, physical_id)


def _kept_by_rollback(resource_json: dict[str, Any]) -> bool:
    # `Retain` keeps a resource even when the operation that created it rolls back (AWS
    # added `RetainExceptOnCreate` for exactly that); `Snapshot` is a delete here.
    return resource_json.get("DeletionPolicy") == "Retain"


def delete_created(resources: ResourceMap, created: list[str], templates: dict[str, Any]) -> None:
    """A rollback's deletes: what the operation created, newest first; a failure is
    logged and the rollback goes on (CloudFormation would end in *_ROLLBACK_FAILED)."""
    for logical_id in reversed(created):
        resource = resources._parsed_resources.pop(logical_id, None)
        resource_json = templates.get(logical_id) or {}
        if resource is None or isinstance(resource, str) or _kept_by_rollback(resource_json):
            continue
        try:
            _delete_one(resources, logical_id, resource, resource_json)
        except Exception as error:  # noqa: BLE001 -- the rollback deletes what it can
            log.warning("rollback could not delete %s: %s", logical_id, error_reason(error))


def _failure_reason(error: Exception) -> str:
    if isinstance(error, ResourceFailed):
        return (
            f"The following resource(s) failed to {error.action}: [{error.logical_id}]. "
            f"{error.reason}"
        )
    return error_reason(error)


def _rollback_started(resources: ResourceMap, error: Exception) -> None:
    stack = stack_of(resources)
    if stack is None:
        return
    creating = stack.status in ("REVIEW_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_PENDING")
    status = "ROLLBACK_IN_PROGRESS" if creating else "UPDATE_ROLLBACK_IN_PROGRESS"
    _rollback_event(stack, status, _failure_reason(error))


def _order(self: ResourceMap) -> list[str]:
    """The order `ResourceMap.create` walks (moto followed `DependsOn` only). A new map's
    journal needs no reset: it records from the map's first resource, an Export's included."""
    return cfn_deps.dependency_order(self._resource_json_map)


def resource_map_update(
    self: ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None = None
) -> None:
    """moto's update in dependency order, rolled back to the previous map on a failure."""
    diff = self.build_resource_diff(template, parameters)
    new_resources: dict[str, Any] = template["Resources"]
    order = cfn_deps.dependency_order(new_resources)
    old_resources = self._resource_json_map
    old_order = cfn_deps.dependency_order(old_resources)
    removal = [name for name in reversed(old_order) if name in diff["Remove"]]
    previous = {
        "_template": self._template,
        "_resource_json_map": old_resources,
        "input_parameters": self.input_parameters,
        "resolved_parameters": dict(self.resolved_parameters),
        "_parsed_resources": dict(self._parsed_resources),
    }
    created = start_operation(self)
    modified: list[str] = []
    try:
        self._template = template
        if parameters:
            self.input_parameters = parameters
        self.load_mapping()
        self.load_parameters()
        self.load_conditions()
        self._resource_json_map = new_resources
        for name in order:
            if name in diff["Add"]:
                _ = self[name]
            elif name in diff["Modify"]:
                self._parsed_resources[name] = _update_one(self, name, new_resources[name])
                modified.append(name)
        # Outputs and Exports resolve now: one that cannot (a `Fn::GetAtt` on a skipped
        # resource) fails the update while it can still roll back.
        outputs = cfn_parsing.OutputMap(self, template, self.stack_id)
        for key in outputs:
            _ = outputs[key]
        _ = outputs.exports
    except Exception as error:
        _rollback_started(self, error)
        delete_created(self, created, new_resources)
        changed = {name: self._parsed_resources[name] for name in modified}
        for attribute, value in previous.items():
            setattr(self, attribute, value)
        self._parsed_resources.update(changed)  # the live resources, updated back below
        _update_back(self, modified, old_resources)
        raise as_cloudformation_error(error) from error
    for name in removal:
        resource = self._parsed_resources.get(name)
        resource_json = old_resources[name]
        if (
            resource is None
            or isinstance(resource, str)
            or resource_json.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")
        ):
            self._parsed_resources.pop(name, None)
            continue
        try:
            _delete_one(self, name, resource, resource_json)
        except Exception as error:  # noqa: BLE001 -- AWS: the update stands, the delete failed
            log.warning("update could not delete removed resource %s: %s", name, error)
        self._parsed_resources.pop(name, None)


def _update_one(self: ResourceMap, name: str, resource_json: dict[str, Any]) -> Any:
    resource_type = str(resource_json.get("Type"))
    current = self._parsed_resources.get(name)
    if isinstance(current, cfn_skipped.SkippedResource):
        return current
    physical_id = getattr(current, "physical_resource_id", None)
    resource_event(self, name, resource_type, "UPDATE_IN_PROGRESS", None, physical_id)
    try:
        updated = cfn_parsing.parse_and_update_resource(
            name, resource_json, self, account_id=self._account_id, region_name=self._region_name
        )
    except ResourceFailed:
        raise
    except Exception as error:  # noqa: BLE001 -- any handler failure is this resource's
        reason = error_reason(error)
        resource_event(self, name, resource_type, "UPDATE_FAILED", reason, physical_id)
        raise ResourceFailed(name, resource_type, reason, "update") from error
    resource_event(
        self,
        name,
        resource_type,
        "UPDATE_COMPLETE",
        None,
        getattr(updated, "physical_resource_id", None),
    )
    return updated


def _update_back(self: ResourceMap, modified: list[str], old_resources: dict[str, Any]) -> None:
    """Update the resources an update changed back to their previous properties."""
    for name in reversed(modified):
        try:
            self._parsed_resources[name] = _update_one(self, name, old_resources[name])
        except Exception as error:  # noqa: BLE001 -- the rollback restores what it can
            log.warning("rollback could not restore %s: %s", name, error_reason(error))


def resource_map_delete(self: ResourceMap) -> None:
    """Delete the stack's resources in reverse dependency order (moto: set order, with
    retries). A resource that fails is retried after the others, as moto did."""
    try:
        order = list(reversed(cfn_deps.dependency_order(self._resource_json_map)))
    except cfn_deps.CircularDependency:
        order = list(self._resource_json_map)
    remaining = [
        name for name in order if self._resource_json_map[name].get("DeletionPolicy") != "Retain"
    ]
    last_error: Exception | None = None
    while remaining:
        failed: list[str] = []
        for name in remaining:
            resource = self._parsed_resources.get(name)
            if resource is None or isinstance(resource, str):
                continue
            try:
                _delete_one(self, name, resource, self._resource_json_map[name])
            except Exception as error:  # noqa: BLE001 -- retried after the others
                last_error = error
                failed.append(name)
            else:
                self._parsed_resources.pop(name, None)
        if len(failed) == len(remaining):
            break
        remaining = failed
    else:
        return
    if last_error is not None:
        raise as_cloudformation_error(last_error) from last_error


def create_stack(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """moto's; a failure after the stack exists deletes what it created and leaves the
    stack `ROLLBACK_COMPLETE`, then answers the reason."""
    before = set(self.stacks)
    try:
        # Outputs stay lazy here, as moto has them (a `Fn::GetAtt` on a skipped resource in
        # an Output is refused up front by `cfn_skipped.validate_outputs`); a change set
        # resolves them before it completes (`resource_map_update`).
        return _CREATE_STACK.original(self, name, *args, **kwargs)
    except Exception as error:
        new = [stack_id for stack_id in self.stacks if stack_id not in before]
        if not new:
            raise as_cloudformation_error(error) from error
        stack = self.stacks[new[0]]
        resources = stack.resource_map
        _rollback_started(resources, error)
        delete_created(resources, _journal(resources), resources._resource_json_map)
        rolled_back(stack, "CREATE", error)
        for export_name, export in list(self.exports.items()):
            if export.exporting_stack_id == stack.stack_id:
                del self.exports[export_name]
        raise as_cloudformation_error(error) from error


def rolled_back(stack: Any, operation: str, error: Exception) -> None:
    """The stack after a failed create or update, as CloudFormation reports it
    (`ROLLBACK_COMPLETE` / `UPDATE_ROLLBACK_COMPLETE`), never stuck in progress.

    A failed create keeps the attempted template (what `GetTemplate` answers on AWS) but no
    resources and no outputs: nothing may be created lazily from it afterwards.
    """
    if operation == "CREATE":
        in_progress, final = "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"
        resources = stack.resource_map
        for logical_id in resources._resource_json_map:
            resources._parsed_resources.pop(logical_id, None)
        resources._resource_json_map = {}
        stack.output_map = cfn_parsing.OutputMap(resources, {}, stack.stack_id)
    else:
        in_progress, final = "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"
    _rollback_event(stack, in_progress, _failure_reason(error))
    stack._localcloud_rollback_reported = False
    stack._add_stack_event(final)
    stack.status = final


_PARSE_AND_CREATE = Patch(
    "cfn.create_resource.ordered_events_errors",
    cfn_parsing,
    "parse_and_create_resource",
    parse_and_create_resource,
)
_CREATE_STACK = Patch(
    "cfn.create_stack.rollback", cfn_models.CloudFormationBackend, "create_stack", create_stack
)

PATCHES = [
    _PARSE_AND_CREATE,
    Patch(
        "cfn.resource_map.dependency_order",
        ResourceMap,
        "_ResourceMap__get_resources_in_dependency_order",
        _order,
    ),
    Patch("cfn.resource_map.update_ordered_rollback", ResourceMap, "update", resource_map_update),
    Patch("cfn.resource_map.delete_ordered", ResourceMap, "delete", resource_map_delete),
    _CREATE_STACK,
]
