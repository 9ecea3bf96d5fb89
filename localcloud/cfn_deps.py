"""The order CloudFormation creates a template's resources in: dependencies first.

A resource depends on what it names in `DependsOn` and on every resource its properties
refer to with `Ref`, `Fn::GetAtt` (list or `"Name.Attr"` form) or a `${Name}` /
`${Name.Attr}` of `Fn::Sub` (not `${!literal}`, nor a name the `Fn::Sub` maps itself).
Creation follows `dependency_order`, deletion its reverse; among independent resources the
template's order is kept, so a template without dependencies runs as it reads.
"""

from __future__ import annotations

import re
from typing import Any

from moto.cloudformation.exceptions import ValidationError

_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def _sub_names(template: str, own: set[str]) -> set[str]:
    names = set()
    for variable in _SUB_VARIABLE.findall(template):
        name = variable.split(".", 1)[0].strip()
        if name not in own:
            names.add(name)
    return names


def references(value: Any) -> set[str]:
    """The names a resource's JSON refers to (`Ref`, `Fn::GetAtt`, `Fn::Sub`), pseudo
    parameters and parameters included: the caller keeps the ones that are resources."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
        return found
    if not isinstance(value, dict):
        return found
    for key, inner in value.items():
        if key == "Ref" and isinstance(inner, str):
            found.add(inner)
        elif key == "Fn::GetAtt":
            if isinstance(inner, list) and inner and isinstance(inner[0], str):
                found.add(inner[0])
                found |= references(inner[1:])
            elif isinstance(inner, str):
                found.add(inner.split(".", 1)[0])
        elif key == "Fn::Sub":
            if isinstance(inner, str):
                found |= _sub_names(inner, set())
            elif isinstance(inner, list) and inner:
                mapping = inner[1] if len(inner) > 1 and isinstance(inner[1], dict) else {}
                if isinstance(inner[0], str):
                    found |= _sub_names(inner[0], set(mapping))
                found |= references(mapping)
        else:
            found |= references(inner)
    return found


def depends_on(resource: Any) -> list[str]:
    """The resource's `DependsOn`, always a list."""
    if not isinstance(resource, dict):
        return []
    names = resource.get("DependsOn") or []
    return [names] if isinstance(names, str) else [n for n in names if isinstance(n, str)]


def dependencies(logical_id: str, resources: dict[str, Any]) -> list[str]:
    """The resources `logical_id` must wait for, in template order."""
    resource = resources.get(logical_id)
    wanted = set(depends_on(resource))
    if isinstance(resource, dict):
        wanted |= references({key: value for key, value in resource.items() if key != "DependsOn"})
    wanted.discard(logical_id)
    return [name for name in resources if name in wanted]


class CircularDependency(ValidationError):
    """CloudFormation's template error for resources that wait for each other."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(
            message=f"Circular dependency between resources: [{', '.join(sorted(names))}]"
        )


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Every logical id of `resources`, each after the resources it depends on."""
    order: list[str] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise CircularDependency(visiting[visiting.index(name) :])
        visiting.append(name)
        for dependency in dependencies(name, resources):
            visit(dependency)
        visiting.pop()
        done.add(name)
        order.append(name)

    for name in resources:
        visit(name)
    return order
