"""Apply new messages to their message groups."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from message_stream.models import NewMessage
from message_stream.repository import GroupError, GroupMove, MessageRepository

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


@dataclass(frozen=True)
class FailedUpdate:
    """A group update that could not be applied, and why."""

    update: GroupUpdate
    error: GroupError


@dataclass
class MessageStreamService:
    """Moves every participant's group row to the group's newest message."""

    repository: MessageRepository

    def apply_all(self, updates: list[GroupUpdate]) -> list[FailedUpdate]:
        """Bring each update's group rows up to its newest message; return those that failed.

        Rows already at or after a message are left alone, so applying the same updates
        twice, or an older message after a newer one, changes nothing. A group whose rows
        could not be read or moved fails alone; the others are applied.
        """
        lookups = self.repository.group_rows_of([u.newest.group_uuid for u in updates])
        failed: list[FailedUpdate] = []
        moves: list[GroupMove] = []
        found: list[GroupUpdate] = []
        for update, rows in zip(updates, lookups, strict=True):
            if isinstance(rows, list):
                moves.append(GroupMove(rows, update.newest))
                found.append(update)
            else:
                failed.append(FailedUpdate(update, rows))
        for update, outcome in zip(found, self.repository.move_groups(moves), strict=True):
            if isinstance(outcome, int):
                self._log_applied(update, outcome)
            else:
                failed.append(FailedUpdate(update, outcome))
        return failed

    @staticmethod
    def _log_applied(update: GroupUpdate, moved: int) -> None:
        newest = update.newest
        logger.info(
            "message group %s at %s: %d group row(s) moved",
            newest.group_uuid,
            newest.sort_key,
            moved,
        )
        for message in update.covered:
            logger.info(
                "message group %s at %s: 0 group row(s) moved (covered by %s)",
                message.group_uuid,
                message.sort_key,
                newest.sort_key,
            )
