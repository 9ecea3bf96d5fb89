"""The sample data set: users, tasks and a conversation like the tutorial's.

Keys are deterministic (UUIDv5 of a fixed name, timestamps from an anchor), so seeding twice
leaves the same items. The anchor defaults to 09:00 UTC on 1 January of the current year, so
`patterns list-conversations` (which filters on the current year) finds the conversation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from datamodel.entities import GROUP_ROW, MESSAGE, USER, iso
from scripts.codec import WireItem, to_wire
from scripts.errors import UsageError
from stacks.config import StageConfig

NAMESPACE = uuid.UUID("5b1c8a3e-2f43-4f57-9a1d-2c1e6f0d9b7a")
SAMPLE_TABLES = ("users", "tasks", "messages")
DEFAULT_COUNT = 20


@dataclass(frozen=True)
class SampleUser:
    """A user of the sample data set."""

    user_id: str
    handle: str
    name: str
    email: str


def stable_uuid(name: str) -> str:
    """A UUID that is the same on every run for the same `name`."""
    return str(uuid.uuid5(NAMESPACE, name))


def default_anchor(now: datetime | None = None) -> datetime:
    """09:00 UTC on 1 January of `now`'s year."""
    now = now or datetime.now(UTC)
    return datetime(now.year, 1, 1, 9, 0, tzinfo=UTC)


def sample_users(count: int) -> list[SampleUser]:
    """The tutorial's two users, then `user0003`... up to `count`."""
    users = [
        SampleUser(
            stable_uuid("user:andrewbrown"), "andrewbrown", "Andrew Brown", "andrew@example.com"
        ),
        SampleUser(stable_uuid("user:bayko"), "bayko", "Andrew Bayko", "bayko@example.com"),
    ]
    for number in range(3, count + 1):
        handle = f"user{number:04d}"
        users.append(
            SampleUser(
                stable_uuid(f"user:{handle}"),
                handle,
                f"Sample User {number}",
                f"{handle}@example.com",
            )
        )
    return users[:count]


CONVERSATION = (
    "Have you watched Babylon 5 yet?",
    "Halfway through season two. The station feels like a character of its own.",
    "Wait until you meet Zathras.",
    "Is he the one who keeps talking about time?",
    "That's him. Quirky, but he matters more than you would think.",
    "The show planned its arcs years ahead; you can tell on a rewatch.",
    "Which season is your favourite?",
    "Season three. Everything the first two set up pays off.",
    "No spoilers, please!",
    "Fair. Let me know when you reach the end of season two.",
)

TASK_NAMES = (
    "Write the seed script",
    "Review the access patterns",
    "Load test the table",
    "Tune the GSI projection",
    "Rotate the API keys",
)


def users_items(count: int, anchor: datetime) -> list[WireItem]:
    """`count` items for the Users table."""
    return [
        to_wire(
            USER.item(
                {"user_uuid": user.user_id},
                {
                    "email": user.email,
                    "handle": user.handle,
                    "name": user.name,
                    "createdAt": iso(anchor),
                },
            )
        )
        for user in sample_users(count)
    ]


def tasks_items(count: int, anchor: datetime) -> list[WireItem]:
    """`count` items for the Tasks table, with varied attribute types."""
    items: list[WireItem] = []
    for number in range(1, count + 1):
        task: dict[str, Any] = {
            "id": stable_uuid(f"task:{number}"),
            "name": f"{TASK_NAMES[(number - 1) % len(TASK_NAMES)]} #{number}",
            "done": number % 3 == 0,
            "priority": number % 5 + 1,
            "tags": {"sample", f"batch-{(number - 1) // 10 + 1}"},
            "created_at": iso(anchor + timedelta(hours=number)),
        }
        items.append(to_wire(task))
    return items


def conversation_group_uuid() -> str:
    """The message group of the sample conversation."""
    return stable_uuid("group:andrewbrown:bayko")


def messages_items(count: int, anchor: datetime) -> list[WireItem]:
    """`count` items for the messages table: two group rows, then `count - 2` messages.

    Follows the tutorial's single-table design, built through the entity declarations of
    `datamodel.entities`: `GROUP_ROW` rows (`GRP#<user>`, one per member, `sk` the last
    message's time) and `MESSAGE` rows (`MSG#<group>`, `sk` the message's ISO timestamp).
    """
    if count < 3:
        raise UsageError(
            "the conversation data set needs --count of at least 3 (two group rows and one message)"
        )
    me, other = sample_users(2)
    group = conversation_group_uuid()
    messages: list[WireItem] = []
    last = anchor
    for number in range(count - 2):
        author = (me, other)[number % 2]
        created = anchor + timedelta(minutes=number)
        last = created
        messages.append(
            to_wire(
                MESSAGE.item(
                    {"message_group_uuid": group, "created_at": iso(created)},
                    {
                        "created_at": iso(created),
                        "message_uuid": stable_uuid(f"message:{group}:{number}"),
                        "message": CONVERSATION[number % len(CONVERSATION)],
                        "user_uuid": author.user_id,
                        "user_display_name": author.name,
                        "user_handle": author.handle,
                    },
                )
            )
        )
    last_message = CONVERSATION[(count - 3) % len(CONVERSATION)]
    groups = [
        to_wire(
            GROUP_ROW.item(
                {"user_uuid": owner.user_id, "last_message_at": iso(last)},
                {
                    "created_at": iso(anchor),
                    "message_group_uuid": group,
                    "message": last_message,
                    "user_uuid": partner.user_id,
                    "user_display_name": partner.name,
                    "user_handle": partner.handle,
                },
            )
        )
        for owner, partner in ((me, other), (other, me))
    ]
    return groups + messages


def sample_items(
    stage: StageConfig, key: str, count: int = DEFAULT_COUNT, anchor: datetime | None = None
) -> list[WireItem]:
    """The sample items for the stage's table with logical `key`."""
    if count < 1:
        raise UsageError("--count must be at least 1")
    anchor = anchor or default_anchor()
    builders = {"users": users_items, "tasks": tasks_items, "messages": messages_items}
    if key not in builders:
        raise UsageError(
            f"there is no sample data for table {key!r}; use --from FILE "
            f"(sample data exists for {', '.join(SAMPLE_TABLES)})"
        )
    stage.table(key)  # KeyError would be a config bug: every stage has the three tables
    return builders[key](count, anchor)
