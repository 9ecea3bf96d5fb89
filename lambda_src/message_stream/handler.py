"""Lambda entry point of message-stream, fed by the messages table's stream (NEW_IMAGE).

Returns `{"batchItemFailures": [...]}` (the event source mapping must enable
`ReportBatchItemFailures`): only the records that failed, by sequence number, are retried.
Records this function ignores, and malformed ones that no retry could fix, are not failures.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from common.dynamo import dynamodb_client

from message_stream.models import MalformedRecord, NewMessage, parse_record
from message_stream.repository import MessageRepository
from message_stream.service import MessageStreamService, group_updates
from message_stream.settings import Settings

logger = logging.getLogger(__name__)


def handle(event: object, service: MessageStreamService) -> dict[str, Any]:
    """Process every record of `event`; report the sequence numbers of those that failed.

    A group's records are applied together, as its newest message: when that fails, every
    record of the group is reported (Lambda resumes from the lowest).
    """
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        logger.error("not a DynamoDB stream event (no Records list); nothing to do")
        return {"batchItemFailures": []}
    messages: list[NewMessage] = []
    for index, record in enumerate(records):
        try:
            message = parse_record(record)
        except MalformedRecord as error:
            logger.error("skipping record %d: %s", index, error)
            continue
        if message is not None:
            messages.append(message)
    failures: list[dict[str, str]] = []
    for failed in service.apply_all(group_updates(messages)):
        update = failed.update
        logger.error(
            "group %s failed; its %d record(s) will be retried",
            update.newest.group_uuid,
            len(update.messages),
            exc_info=failed.error,
        )
        failures.extend({"itemIdentifier": m.sequence_number} for m in update.messages)
    return {"batchItemFailures": failures}


@functools.cache
def service() -> MessageStreamService:
    """The container's service, built on the first invocation from the environment."""
    settings = Settings.from_environ(os.environ)
    repository = MessageRepository(
        dynamodb_client(), table=settings.table, group_index=settings.group_index
    )
    return MessageStreamService(repository)


def lambda_handler(event: object, context: object) -> dict[str, Any]:
    """The Lambda entry point (`message_stream.handler.lambda_handler`)."""
    return handle(event, service())
