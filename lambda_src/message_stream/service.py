"""Apply new messages to their message groups."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from message_stream.models import NewMessage
from message_stream.repository import MessageRepository

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupUpdate:
    """The newest message of one group in a batch, and the batch's older ones it covers."""

    newest: NewMessage
    covered: tuple[NewMessage, ...]

    @property
    def messages(self) -> tuple[NewMessage, ...]:
        """Every message of the group in the batch, the newest first."""
        return (self.newest, *self.covered)


def group_updates(messages: list[NewMessage]) -> list[GroupUpdate]:
    """One update per group, in the order the groups first appear in `messages`.

    Only a group's newest message can leave a mark on its rows (an older one would be
    overwritten, or refused as older), so a batch moves each group row at most once.
    """
    by_group: dict[str, list[NewMessage]] = {}
    for message in messages:
        by_group.setdefault(message.group_uuid, []).append(message)
    updates = []
    for group in by_group.values():
        newest = max(group, key=lambda message: message.sort_key)
        updates.append(GroupUpdate(newest, tuple(m for m in group if m is not newest)))
    return updates


@dataclass
class MessageStreamService:
    """Moves every participant's group row to the group's newest message."""

    repository: MessageRepository

    def apply(self, message: NewMessage) -> int:
        """Bring each group row of the message's group up to it; return how many moved.

        Rows already at or after the message are left alone, so applying the same message
        twice, or an older one after a newer one, changes nothing.
        """
        moved = self.repository.move_all(self.repository.group_rows(message.group_uuid), message)
        logger.info(
            "message group %s at %s: %d group row(s) moved",
            message.group_uuid,
            message.sort_key,
            moved,
        )
        return moved

    def apply_update(self, update: GroupUpdate) -> int:
        """Apply the group's newest message; the ones it covers are done with it."""
        moved = self.apply(update.newest)
        for message in update.covered:
            logger.info(
                "message group %s at %s: 0 group row(s) moved (covered by %s)",
                message.group_uuid,
                message.sort_key,
                update.newest.sort_key,
            )
        return moved
