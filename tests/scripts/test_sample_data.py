"""The sample data set: deterministic keys, the tutorial's conversation shape."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scripts.errors import UsageError
from scripts.sample_data import conversation_group_uuid, default_anchor, sample_items, sample_users
from stacks.config import stage_config

ANCHOR = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("key", ["users", "tasks", "messages"])
def test_same_input_gives_the_same_items(key: str) -> None:
    stage = stage_config("local")
    first = sample_items(stage, key, 12, ANCHOR)
    assert first == sample_items(stage, key, 12, ANCHOR)
    assert len(first) == 12


def test_conversation_has_two_group_rows_then_messages_with_iso_sort_keys() -> None:
    items = sample_items(stage_config("local"), "messages", 7, ANCHOR)
    me, other = sample_users(2)
    group = conversation_group_uuid()
    groups = [item for item in items if item["pk"]["S"].startswith("GRP#")]
    messages = [item for item in items if item["pk"]["S"] == f"MSG#{group}"]
    assert {row["pk"]["S"] for row in groups} == {f"GRP#{me.user_id}", f"GRP#{other.user_id}"}
    assert all(row["message_group_uuid"] == {"S": group} for row in groups)
    assert len(messages) == 5
    sort_keys = [m["sk"]["S"] for m in messages]
    assert sort_keys == sorted(sort_keys)
    assert sort_keys[0] == "2026-01-01T09:00:00.000000+00:00"
    # A group row's sk is the time of the conversation's last message.
    assert {row["sk"]["S"] for row in groups} == {sort_keys[-1]}
    # Messages alternate between the two users.
    assert [m["user_handle"]["S"] for m in messages[:2]] == ["andrewbrown", "bayko"]


def test_messages_need_room_for_the_group_rows() -> None:
    with pytest.raises(UsageError, match="at least 3"):
        sample_items(stage_config("local"), "messages", 2, ANCHOR)


def test_count_must_be_positive() -> None:
    with pytest.raises(UsageError, match="at least 1"):
        sample_items(stage_config("local"), "users", 0, ANCHOR)


def test_default_anchor_is_new_year_of_the_current_year() -> None:
    assert default_anchor(datetime(2031, 7, 4, tzinfo=UTC)) == datetime(2031, 1, 1, 9, tzinfo=UTC)
