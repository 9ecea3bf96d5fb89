"""Which class serves a CloudFormation resource type: ours where we serve it, else moto's.

moto looks a type up with `parsing.resource_class_from_type` (and its name property with
`resource_name_property_from_type`); one patch of each consults `register`ed types first.
A module that serves a type (tables in DynamoDB Local, an API stage, a custom resource)
registers its class at import, and the patches are installed once with the others.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

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


class ServedResource:
    """A resource type we serve, shaped like moto's `CloudFormationModel` (found only through
    `register`): subclasses give `create` and `remove`/`delete`, and their `attributes`."""

    cf_resource_type: str
    logical_resource_id: str
    attributes: tuple[str, ...] = ()

    def __init__(self, physical_id: str, account_id: str, region_name: str) -> None:
        self.physical_id = physical_id
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.attributes

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ServedResource:
        return cls.create(cloudformation_json.get("Properties") or {}, account_id, region_name)

    @classmethod
    def create(
        cls, properties: dict[str, Any], account_id: str, region_name: str
    ) -> ServedResource:
        raise NotImplementedError

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ServedResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ServedResource:
        """Replace: delete what the old properties made, create from the new ones."""
        original_resource.delete(account_id, region_name)
        return cls.create(cloudformation_json.get("Properties") or {}, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls.remove(
            resource_name, cloudformation_json.get("Properties") or {}, account_id, region_name
        )

    @classmethod
    def remove(
        cls, physical_id: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        raise NotImplementedError

    def delete(self, account_id: str, region_name: str) -> None:
        """Delete what this resource made (already gone is not an error)."""
        raise NotImplementedError
