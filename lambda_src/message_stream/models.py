"""DynamoDB stream records, reduced to the one kind this function acts on: a new message.

The rows are declared in `datamodel.entities`: a message (`MESSAGE`, `pk = MSG#<group uuid>`,
`sk = <created-at timestamp>`) and a group row (`GROUP_ROW`, `pk = GRP#<user uuid>`, one per
participant).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from datamodel.entities import MESSAGE_PREFIX

MAX_KEY_LENGTH = 1024


class MalformedRecord(ValueError):
    """A record that claims to insert a message but cannot be read as one."""


@dataclass(frozen=True)
class NewMessage:
    """A message inserted into group `group_uuid` at `sort_key` (its timestamp)."""

    group_uuid: str
    sort_key: str
    text: str
    sequence_number: str


def _string(attribute: object) -> str | None:
    if isinstance(attribute, dict) and set(attribute) == {"S"} and isinstance(attribute["S"], str):
        return attribute["S"]
    return None


def parse_record(record: object) -> NewMessage | None:
    """The new message a stream record carries, or `None` for records this function ignores.

    Ignored: `MODIFY` and `REMOVE` events and rows that are not messages (group rows, whose
    own moves arrive on the stream too). `MalformedRecord` for an `INSERT` of a message row
    whose keys, image or sequence number are missing or mistyped.
    """
    if not isinstance(record, dict):
        raise MalformedRecord("a stream record must be an object")
    if record.get("eventName") != "INSERT":
        return None
    change = record.get("dynamodb")
    if not isinstance(change, dict):
        raise MalformedRecord("an INSERT record needs its `dynamodb` change")
    keys: Any = change.get("Keys")
    if not isinstance(keys, dict):
        raise MalformedRecord("an INSERT record needs `dynamodb.Keys`")
    pk = _string(keys.get("pk"))
    if pk is None or not pk.startswith(MESSAGE_PREFIX):
        return None
    sequence_number = change.get("SequenceNumber")
    if not isinstance(sequence_number, str) or not sequence_number:
        raise MalformedRecord(f"message record {pk} has no SequenceNumber")
    sort_key = _string(keys.get("sk"))
    group_uuid = pk.removeprefix(MESSAGE_PREFIX)
    if not group_uuid or len(group_uuid) > MAX_KEY_LENGTH:
        raise MalformedRecord(f"message record {pk!r} names no message group")
    if sort_key is None or not sort_key or len(sort_key) > MAX_KEY_LENGTH:
        raise MalformedRecord(f"message record {pk} has no string sort key")
    image = change.get("NewImage")
    if not isinstance(image, dict):
        raise MalformedRecord(f"message record {pk} has no NewImage (stream view NEW_IMAGE)")
    text = _string(image.get("message"))
    if text is None:
        raise MalformedRecord(f"message record {pk} has no string `message`")
    return NewMessage(
        group_uuid=group_uuid, sort_key=sort_key, text=text, sequence_number=sequence_number
    )
