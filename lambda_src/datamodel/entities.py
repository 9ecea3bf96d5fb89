"""The rows of the tables: each kind of row (entity) with its key templates and attributes.

`Entity.item()` is how the tools build a row, the handlers read their prefixes from here,
and `docs/data-model.md` renders the same declarations.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from datamodel.tables import TableSpec


class PatternError(ValueError):
    """A declared pattern or entity does not fit the stage's tables (a declaration bug)."""


def iso(moment: datetime) -> str:
    """The ISO 8601 form used for `sk` and `created_at` (sortable, microseconds, UTC)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class KeyTemplate:
    """How one key attribute's value is built from named parts: `pk = GRP#{user_uuid}`."""

    attribute: str
    template: str

    @property
    def prefix(self) -> str:
        """The literal text before the first part (`GRP#`), shared by every value."""
        return self.template.split("{", 1)[0]

    def render(self, parts: Mapping[str, str]) -> str:
        """The value for `parts`; `PatternError` names a missing part."""
        return render(self.template, parts, f"{self.attribute} = {self.template}")


@dataclass(frozen=True)
class EntityAttribute:
    """A non-key attribute an entity's rows carry."""

    name: str
    description: str
    type: str = "S"


@dataclass(frozen=True)
class Entity:
    """One kind of row of a table: its key templates and attributes.

    `item()` is the only way the tools build such a row, so this declaration is the row's
    definition: a missing or undeclared attribute is refused.
    """

    name: str
    table: str
    description: str
    key: tuple[KeyTemplate, ...]
    attributes: tuple[EntityAttribute, ...]

    def template(self, attribute: str) -> str:
        """The template of key attribute `attribute`."""
        for key in self.key:
            if key.attribute == attribute:
                return key.template
        raise PatternError(f"entity {self.name!r} has no key attribute {attribute!r}")

    def key_value(self, attribute: str, parts: Mapping[str, str]) -> str:
        """The value of key attribute `attribute` for `parts`."""
        return render(self.template(attribute), parts, f"{self.name} {attribute}")

    def key_values(self, parts: Mapping[str, str]) -> dict[str, str]:
        """The key attributes for `parts`."""
        return {key.attribute: key.render(parts) for key in self.key}

    def item(self, parts: Mapping[str, str], attributes: Mapping[str, Any]) -> dict[str, Any]:
        """A plain row: the key built from `parts`, then exactly the declared `attributes`."""
        declared = [attribute.name for attribute in self.attributes]
        missing = [name for name in declared if name not in attributes]
        unknown = sorted(set(attributes) - set(declared))
        if missing or unknown:
            raise PatternError(
                f"entity {self.name!r}: missing attributes {missing}, undeclared {unknown}"
            )
        return {**self.key_values(parts), **{name: attributes[name] for name in declared}}

    def matches(self, item: Mapping[str, Any]) -> bool:
        """True when `item`'s key values have this entity's literal prefixes."""
        for key in self.key:
            value = item.get(key.attribute)
            text = value.get("S") if isinstance(value, Mapping) else value
            if not isinstance(text, str) or not text.startswith(key.prefix):
                return False
        return True

    def validate(self, table: TableSpec) -> None:
        """`PatternError` unless the key attributes are exactly `table`'s key schema."""
        expected = [table.partition_key] + ([table.sort_key] if table.sort_key else [])
        actual = [key.attribute for key in self.key]
        if actual != expected:
            raise PatternError(
                f"entity {self.name!r}: key {actual} does not match table "
                f"{table.table_name}'s key schema {expected}"
            )


GROUP_ROW = Entity(
    name="message group row",
    table="messages",
    description=(
        "One row per member of a conversation: it lists the conversation in that member's "
        "inbox, and describes the *other* member. `sk` is the time of the conversation's last "
        "message, so a member's conversations sort by activity; message-stream moves the row "
        "when a message arrives."
    ),
    key=(KeyTemplate("pk", "GRP#{user_uuid}"), KeyTemplate("sk", "{last_message_at}")),
    attributes=(
        EntityAttribute("created_at", "when the conversation started (ISO 8601, UTC)"),
        EntityAttribute("message_group_uuid", "the conversation"),
        EntityAttribute("message", "text of the last message"),
        EntityAttribute("user_uuid", "the other member (not the member of `pk`)"),
        EntityAttribute("user_display_name", "the other member's display name"),
        EntityAttribute("user_handle", "the other member's handle"),
    ),
)

MESSAGE = Entity(
    name="message",
    table="messages",
    description=(
        "A message of a conversation; the conversation's messages share a partition and "
        "sort by time. Messages carry no `message_group_uuid`, so they stay out of the "
        "group index."
    ),
    key=(KeyTemplate("pk", "MSG#{message_group_uuid}"), KeyTemplate("sk", "{created_at}")),
    attributes=(
        EntityAttribute("created_at", "when it was sent (ISO 8601, UTC; the same as `sk`)"),
        EntityAttribute("message_uuid", "the message's own id"),
        EntityAttribute("message", "the text, at most 1024 bytes"),
        EntityAttribute("user_uuid", "the author"),
        EntityAttribute("user_display_name", "the author's display name"),
        EntityAttribute("user_handle", "the author's handle"),
    ),
)

USER = Entity(
    name="user",
    table="users",
    description=(
        "A user as the sample data set writes it and `create_conversation` reads it. "
        "user-manager writes users too, with its own attributes (see its section below)."
    ),
    key=(KeyTemplate("userId", "{user_uuid}"),),
    attributes=(
        EntityAttribute("email", "the user's email; key of EmailIndex"),
        EntityAttribute("handle", "the user's handle"),
        EntityAttribute("name", "the user's display name"),
        EntityAttribute("createdAt", "when the user was created (ISO 8601, UTC)"),
    ),
)

EMAIL_LOCK = Entity(
    name="email uniqueness row",
    table="users",
    description=(
        "Written by user-manager in the same transaction as its user, so that no two "
        "users hold the same email. It has no `email` attribute, so it stays out of "
        "EmailIndex; user ids never contain `#`, so it cannot collide with a user."
    ),
    key=(KeyTemplate("userId", "EMAIL#{email}"),),
    attributes=(EntityAttribute("ownerId", "the `userId` of the user holding the email"),),
)

USER_KEY = USER.key[0].attribute
GROUP_PREFIX = GROUP_ROW.key[0].prefix
MESSAGE_PREFIX = MESSAGE.key[0].prefix

# The stream records message-stream acts on: new message rows (`MSG#<group>`). Its own group
# row moves, the bulk of the stream, are dropped by the mapping before an invocation.
MESSAGE_STREAM_FILTER: dict[str, Any] = {
    "eventName": ["INSERT"],
    "dynamodb": {"Keys": {"pk": {"S": [{"prefix": MESSAGE_PREFIX}]}}},
}


def template_parts(template: str) -> tuple[str, ...]:
    """The names of the parts `template` is built from."""
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def render(template: str, parts: Mapping[str, str], where: str) -> str:
    """`template` filled from `parts`; `PatternError` names a missing part."""
    missing = [name for name in template_parts(template) if name not in parts]
    if missing:
        raise PatternError(f"{where}: no value for {', '.join(missing)}")
    return template.format_map(parts)


ENTITIES: tuple[Entity, ...] = (GROUP_ROW, MESSAGE, USER, EMAIL_LOCK)
