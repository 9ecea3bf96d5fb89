"""Which class serves a CloudFormation resource type: ours where we serve it, else moto's.

moto looks a type up with `parsing.resource_class_from_type` (and its name property with
`resource_name_property_from_type`); one patch of each consults `register`ed types first.
A module that serves a type (tables in DynamoDB Local, an API stage, a custom resource)
registers its class at import, and the patches are installed once with the others.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing as cfn_parsing

from localcloud.patches import Patch, PatchSet

# Resource type -> (class, the property that names the resource, or None).
_SERVED: dict[str, tuple[Any, str | None]] = {}


def register(resource_type: str, resource_class: Any, name_property: str | None) -> None:
    """Serve `resource_type` with `resource_class` (named by `name_property`)."""
    _SERVED[resource_type] = (resource_class, name_property)


def served_types() -> list[str]:
    """The types we serve ourselves."""
    return sorted(_SERVED)


def resource_class_from_type(resource_type: str) -> Any:
    """Ours when registered, else moto's lookup."""
    if resource_type in _SERVED:
        return _SERVED[resource_type][0]
    return _CLASS_FROM_TYPE.original(resource_type)


def resource_name_property_from_type(resource_type: str) -> str | None:
    """Ours when registered, else moto's lookup."""
    if resource_type in _SERVED:
        return _SERVED[resource_type][1]
    result: str | None = _NAME_FROM_TYPE.original(resource_type)
    return result


_CLASS_FROM_TYPE = Patch(
    "cfn.types.class", cfn_parsing, "resource_class_from_type", resource_class_from_type
)
_NAME_FROM_TYPE = Patch(
    "cfn.types.name_property",
    cfn_parsing,
    "resource_name_property_from_type",
    resource_name_property_from_type,
)

PATCHES = PatchSet("cfn_types", [_CLASS_FROM_TYPE, _NAME_FROM_TYPE])
