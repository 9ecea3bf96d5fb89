"""Apply new messages to their message groups."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from message_stream.models import NewMessage
from message_stream.repository import MessageRepository

logger = logging.getLogger(__name__)


@dataclass
class MessageStreamService:
    """Moves every participant's group row to the group's newest message."""

    repository: MessageRepository

    def apply(self, message: NewMessage) -> int:
        """Bring each group row of the message's group up to it; return how many moved.

        Rows already at or after the message are left alone, so applying the same message
        twice, or an older one after a newer one, changes nothing.
        """
        moved = 0
        for row in self.repository.group_rows(message.group_uuid):
            if self.repository.move(row, message):
                moved += 1
        logger.info(
            "message group %s at %s: %d group row(s) moved",
            message.group_uuid,
            message.sort_key,
            moved,
        )
        return moved
