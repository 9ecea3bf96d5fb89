"""Which class serves a CloudFormation resource type: ours where we serve it, else moto's.

moto looks a type up with `parsing.resource_class_from_type` (and its name property with
`resource_name_property_from_type`); one patch of each consults `register`ed types first.
A module that serves a type (tables in DynamoDB Local, an API stage, a custom resource)
registers its class at import, and the patches are installed once with the others.
"""

from __future__ import annotations

from typing import Any, Self

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
    `register`): subclasses give `create`, `delete` and their `attributes`, and where moto
    passes only a physical id, `from_physical_id`; `update_in_place` where AWS updates one."""

    cf_resource_type: str
    logical_resource_id: str
    # The `Fn::GetAtt` attribute that is the physical id, and any others (answered by a
    # subclass's `get_cfn_attribute`).
    id_attribute: str | None = None
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
        return attr == cls.id_attribute or attr in cls.attributes

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == self.id_attribute:
            return self.physical_id
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
    ) -> Self:
        return cls.create(cloudformation_json.get("Properties") or {}, account_id, region_name)

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        raise NotImplementedError

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ServedResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Self:
        """In place where `update_in_place` can; else replace: delete what the old
        properties made, create from the new ones."""
        properties = cloudformation_json.get("Properties") or {}
        if isinstance(original_resource, cls) and original_resource.update_in_place(
            properties, account_id, region_name
        ):
            return original_resource
        original_resource.delete(account_id, region_name)
        return cls.create(properties, account_id, region_name)

    def update_in_place(
        self, properties: dict[str, Any], account_id: str, region_name: str
    ) -> bool:
        """Apply the new `properties` to this resource and say True, or say False (having
        changed nothing) to have it replaced."""
        return False

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        properties = cloudformation_json.get("Properties") or {}
        cls.from_physical_id(resource_name, properties, account_id, region_name).delete(
            account_id, region_name
        )

    @classmethod
    def from_physical_id(
        cls, physical_id: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> Self:
        """The resource that `physical_id` and its `properties` name (moto deletes by them
        when it cannot delete the resource itself)."""
        return cls(physical_id, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Delete what this resource made (already gone is not an error)."""
        raise NotImplementedError
