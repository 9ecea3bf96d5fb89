"""User-manager business rules over a `UserRepository`: timestamps, versions, TTL, paging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from common.dynamo import Item
from common.validation import encode_cursor

from datamodel.uniqueness import KEY
from user_manager.errors import UserNotFound
from user_manager.models import ListRequest, NewUser
from user_manager.repository import UserRepository

Clock = Callable[[], datetime]
SECONDS_PER_DAY = 86_400


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Page:
    """One page of users and the cursor of the next one (`None` on the last page)."""

    users: list[Item]
    cursor: str | None


@dataclass
class UserService:
    """Create, read, change and list users; every rule that is not storage lives here."""

    repository: UserRepository
    clock: Clock = field(default=utc_now, repr=False)

    def _now(self) -> tuple[int, str]:
        moment = self.clock()
        return int(moment.timestamp()), moment.isoformat(timespec="milliseconds")

    def _item(self, user: NewUser, epoch: int, stamp: str) -> Item:
        item: Item = {
            KEY: user.user_id,
            "email": user.email,
            "name": user.name,
            "createdAt": stamp,
            "updatedAt": stamp,
            "version": 1,
        }
        if user.age is not None:
            item["age"] = user.age
        if user.role is not None:
            item["role"] = user.role
        if user.expires_in_days is not None:
            item[self.repository.ttl_attribute] = epoch + user.expires_in_days * SECONDS_PER_DAY
        return item

    def create(self, user: NewUser) -> Item:
        """Create `user`; 409 if its id exists or its email belongs to another user."""
        epoch, stamp = self._now()
        item = self._item(user, epoch, stamp)
        self.repository.create(item, now=epoch)
        return item

    def read(self, user_id: str) -> Item:
        """The user `user_id`, or `UserNotFound`."""
        epoch, _ = self._now()
        item = self.repository.get(user_id, now=epoch)
        if item is None:
            raise UserNotFound(user_id)
        return item

    def update(self, user_id: str, changes: dict[str, Any], expected_version: int | None) -> Item:
        """Apply validated `changes`; with `expected_version`, only to that version."""
        epoch, stamp = self._now()
        return self.repository.update(
            user_id,
            {**changes, "updatedAt": stamp},
            expected_version=expected_version,
            now=epoch,
        )

    def delete(self, user_id: str, expected_version: int | None) -> None:
        """Delete the user and free its email."""
        epoch, _ = self._now()
        self.repository.delete(user_id, expected_version=expected_version, now=epoch)

    def list_page(self, request: ListRequest) -> Page:
        """One page of users in table order; it may hold fewer than `limit`, with a cursor."""
        epoch, _ = self._now()
        start = request.cursor[KEY] if request.cursor is not None else None
        users, last = self.repository.list_page(limit=request.limit, start_key=start, now=epoch)
        return Page(users=users, cursor=encode_cursor({KEY: last}) if last is not None else None)

    def find_by_email(self, email: str) -> Item | None:
        """The user with `email`, if any."""
        epoch, _ = self._now()
        return self.repository.find_by_email(email, now=epoch)

    def batch_create(self, users: list[NewUser]) -> list[Item]:
        """Create all `users` in one transaction, or none if an id or email is taken."""
        epoch, stamp = self._now()
        items = [self._item(user, epoch, stamp) for user in users]
        self.repository.batch_create(items, now=epoch)
        return items

    def batch_get(self, user_ids: list[str]) -> tuple[list[Item], list[str]]:
        """The users found, in request order, and the ids not found."""
        epoch, _ = self._now()
        by_id = {str(item[KEY]): item for item in self.repository.batch_get(user_ids, now=epoch)}
        found = [by_id[user_id] for user_id in user_ids if user_id in by_id]
        missing = [user_id for user_id in user_ids if user_id not in by_id]
        return found, missing
