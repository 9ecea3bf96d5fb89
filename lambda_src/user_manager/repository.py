"""The Users table: user rows and the email uniqueness rows that sit beside them.

A user `{"userId": "u1", "email": "a@x.io", ...}` owns the row `{"userId": "EMAIL#a@x.io",
"ownerId": "u1"}`. Every write that sets, moves or frees an email changes both rows in one
`TransactWriteItems`, so two users can never hold the same email, however many requests race.
Uniqueness rows carry no `email` attribute (they stay out of `EmailIndex`) and user ids never
contain `#` (they can never be mistaken for one), so reads see only users.

Items whose TTL attribute lies in the past are treated as gone: DynamoDB deletes expired
items only eventually, so reads hide them and creates may take over their id or email.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from common import dynamo
from common.dynamo import Item, Sleep, deserialize, serialize, serialize_value
from common.errors import ConflictError

from datamodel.patterns import FIND_BY_EMAIL
from datamodel.retry import backoff_delay
from datamodel.uniqueness import (
    DEFAULT_TTL_ATTRIBUTE,
    KEY,
    LOCK_PREFIX,
    OWNER,
    lock_key,
    lock_row,
)
from user_manager.errors import (
    ConcurrentUpdate,
    EmailInUse,
    UserAlreadyExists,
    UserNotFound,
    VersionMismatch,
)

VERSION = "version"
CONDITION_FAILED = "ConditionalCheckFailed"
_EXPECTED_REASONS = frozenset({CONDITION_FAILED, "TransactionConflict"})
# A user and its uniqueness row are two of the 100 items one transaction may write.
MAX_BATCH_USERS = 50
# The most rows one LIST evaluates, uniqueness rows and expired users included, so that a
# table full of them cannot run a page into the function's timeout (the caller pages on).
LIST_BUDGET = 1000


class _Stale(Exception):
    """The row changed between our read and our conditional write: read again and retry."""


@dataclass
class UserRepository:
    """Reads and writes users in `table`; owns every DynamoDB request the function makes.

    `max_attempts` bounds the retries of a transaction that lost a race (a
    `TransactionConflict`, or a row changed between our read and write) before giving up
    with a 409. `list_budget` is the most rows one `list_page` call evaluates.
    """

    client: Any
    table: str
    email_index: str
    ttl_attribute: str = DEFAULT_TTL_ATTRIBUTE
    max_attempts: int = 5
    list_budget: int = LIST_BUDGET
    sleep: Sleep = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        if self.list_budget < 1:
            raise ValueError("list_budget must be at least 1")

    # -- reads ---------------------------------------------------------------------------------

    def _is_live(self, item: Item, now: int) -> bool:
        expires = item.get(self.ttl_attribute)
        return expires is None or int(expires) >= now

    def get(self, user_id: str, *, now: int) -> Item | None:
        """The live user `user_id` (strongly consistent read), or `None`."""
        response = self.client.get_item(
            TableName=self.table, Key={KEY: {"S": user_id}}, ConsistentRead=True
        )
        raw = response.get("Item")
        if raw is None:
            return None
        item = deserialize(raw)
        return item if self._is_live(item, now) else None

    def find_by_email(self, email: str, *, now: int) -> Item | None:
        """The live user with `email`, through the email index (eventually consistent)."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": self.email_index,
            "KeyConditionExpression": FIND_BY_EMAIL.query.key_condition,
            "ExpressionAttributeNames": dict(FIND_BY_EMAIL.query.names),
            "ExpressionAttributeValues": {":email": {"S": email}},
        }
        while True:
            response = self.client.query(**request)
            for raw in response.get("Items", []):
                item = deserialize(raw)
                if self._is_live(item, now):
                    return item
            last = response.get("LastEvaluatedKey")
            if not last:
                return None
            request["ExclusiveStartKey"] = last

    def list_page(
        self, *, limit: int, start_key: str | None, now: int
    ) -> tuple[list[Item], str | None]:
        """Up to `limit` live users after the row `start_key`, and the key to continue from.

        One call evaluates at most `list_budget` rows: `Limit` counts rows before the filter
        drops uniqueness rows and expired users, so a page may hold fewer than `limit` users
        (even none) and still return a key; only the table's end returns `None`. A full page
        continues from its last user; a page cut short by the budget continues from the last
        row evaluated, which may be a uniqueness row (whose email LIST shows with its user).
        """
        users: list[Item] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": (
                "NOT begins_with(#pk, :lock) AND (attribute_not_exists(#ttl) OR #ttl >= :now)"
            ),
            "ExpressionAttributeNames": {"#pk": KEY, "#ttl": self.ttl_attribute},
            "ExpressionAttributeValues": {
                ":lock": {"S": LOCK_PREFIX},
                ":now": {"N": str(now)},
            },
        }
        if start_key is not None:
            request["ExclusiveStartKey"] = {KEY: {"S": start_key}}
        budget = self.list_budget
        step = 2 * limit  # about half the rows of the table are uniqueness rows
        while budget > 0:
            wanted = limit - len(users)
            request["Limit"] = min(budget, max(2 * wanted, step))
            step *= 2  # sparse stretches (many uniqueness rows) take few round trips
            response = self.client.scan(**request)
            budget -= int(response.get("ScannedCount", request["Limit"]))
            found = [deserialize(raw) for raw in response.get("Items", [])]
            last = response.get("LastEvaluatedKey")
            if len(found) > wanted or (len(found) == wanted and last):
                # The page is full: continue after its last user (the rows after it in this
                # response are read again by the next page, never skipped or repeated).
                users.extend(found[:wanted])
                return users, str(users[-1][KEY])
            users.extend(found)
            if not last:
                return users, None
            request["ExclusiveStartKey"] = last
        return users, str(request["ExclusiveStartKey"][KEY]["S"])

    def batch_get(self, user_ids: list[str], *, now: int) -> list[Item]:
        """The live users among `user_ids` (`BatchGetItem`, unprocessed keys retried)."""
        keys = [{KEY: {"S": user_id}} for user_id in user_ids]
        items = dynamo.batch_get(self.client, self.table, keys, sleep=self.sleep)
        return [item for item in items if self._is_live(item, now)]

    # -- writes --------------------------------------------------------------------------------

    def _lock_item(self, user: Item) -> Item:
        return lock_row(user, self.ttl_attribute)

    def _claim(self, item: Item, now: int) -> dict[str, Any]:
        """A transactional put that succeeds only where no live row has this key."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": serialize(item),
                "ConditionExpression": "attribute_not_exists(#pk) OR #ttl < :now",
                "ExpressionAttributeNames": {"#pk": KEY, "#ttl": self.ttl_attribute},
                "ExpressionAttributeValues": {":now": {"N": str(now)}},
            }
        }

    def _release(self, email: str, owner: str) -> dict[str, Any]:
        """A transactional delete of `email`'s uniqueness row, unless another user holds it."""
        return {
            "Delete": {
                "TableName": self.table,
                "Key": {KEY: {"S": lock_key(email)}},
                "ConditionExpression": "attribute_not_exists(#pk) OR #owner = :owner",
                "ExpressionAttributeNames": {"#pk": KEY, "#owner": OWNER},
                "ExpressionAttributeValues": {":owner": {"S": owner}},
            }
        }

    def _guard(self, *, version: int | None, email: str | None, now: int) -> tuple[str, Any, Any]:
        """The condition that the user row is live, at `version` and holds `email`."""
        parts = ["attribute_exists(#pk)", "(attribute_not_exists(#ttl) OR #ttl >= :now)"]
        names: dict[str, str] = {"#pk": KEY, "#ttl": self.ttl_attribute}
        values: dict[str, Any] = {":now": {"N": str(now)}}
        if version is not None:
            names["#ver"] = VERSION
            if version == 0:
                parts.append("attribute_not_exists(#ver)")
            else:
                parts.append("#ver = :expected")
                values[":expected"] = {"N": str(version)}
        if email is not None:
            names["#email"] = "email"
            parts.append("#email = :current_email")
            values[":current_email"] = {"S": email}
        return " AND ".join(parts), names, values

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run one transaction; `None` on success, else the per-item cancellation codes.

        A cancellation caused only by a competing transaction (`TransactionConflict`) is
        retried with backoff; after `max_attempts` the codes are returned to the caller.
        """
        reasons: list[str] = []
        for attempt in range(self.max_attempts):
            try:
                self.client.transact_write_items(TransactItems=items)
                return None
            except ClientError as error:
                if dynamo.error_code(error) != "TransactionCanceledException":
                    raise
                reasons = dynamo.cancellation_reasons(error)
            dynamo.check_reasons(reasons, _EXPECTED_REASONS)
            if CONDITION_FAILED in reasons:
                return reasons
            self.sleep(backoff_delay(attempt))
        return reasons

    def create(self, user: Item, *, now: int) -> None:
        """Write `user` and its uniqueness row together, or neither.

        Raises `UserAlreadyExists` or `EmailInUse`; `ConcurrentUpdate` if competing
        transactions kept cancelling ours.
        """
        reasons = self._transact([self._claim(user, now), self._claim(self._lock_item(user), now)])
        if reasons is None:
            return
        if reasons[:1] == [CONDITION_FAILED]:
            raise UserAlreadyExists([str(user[KEY])])
        if reasons[1:2] == [CONDITION_FAILED]:
            raise EmailInUse([str(user["email"])])
        raise ConcurrentUpdate(str(user[KEY]))

    def _set_clause(self, changes: Item) -> tuple[str, dict[str, str], dict[str, Any]]:
        """`SET` with a placeholder for every name (`name`, `role` are reserved words)."""
        assignments: list[str] = []
        names: dict[str, str] = {"#ver": VERSION}
        values: dict[str, Any] = {":zero": {"N": "0"}, ":one": {"N": "1"}}
        for index, (attribute, value) in enumerate(sorted(changes.items())):
            names[f"#f{index}"] = attribute
            values[f":v{index}"] = serialize_value(value)
            assignments.append(f"#f{index} = :v{index}")
        assignments.append("#ver = if_not_exists(#ver, :zero) + :one")
        return "SET " + ", ".join(assignments), names, values

    def update(
        self, user_id: str, changes: Item, *, expected_version: int | None, now: int
    ) -> Item:
        """Apply `changes` to the user, bump its version and return the new item.

        With `expected_version`, a stored version that differs gives `VersionMismatch`. A
        new `email` moves the uniqueness row in the same transaction (`EmailInUse` if taken).
        """
        for attempt in range(self.max_attempts):
            try:
                if "email" not in changes:
                    return self._update_row(user_id, changes, version=expected_version, now=now)
                return self._update_email(user_id, changes, expected_version, now)
            except _Stale:
                self.sleep(backoff_delay(attempt))
        raise ConcurrentUpdate(user_id)

    def _update_row(
        self, user_id: str, changes: Item, *, version: int | None, now: int, retry: bool = False
    ) -> Item:
        expression, names, values = self._set_clause(changes)
        condition, guard_names, guard_values = self._guard(version=version, email=None, now=now)
        try:
            response = self.client.update_item(
                TableName=self.table,
                Key={KEY: {"S": user_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={**names, **guard_names},
                ExpressionAttributeValues={**values, **guard_values},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            code = dynamo.error_code(error)
            if code == "TransactionConflictException":
                raise _Stale from None
            if code != "ConditionalCheckFailedException":
                raise
            current = self.get(user_id, now=now)
            if current is None:
                raise UserNotFound(user_id) from None
            if retry or version is None:
                # The row changed under a guard we chose ourselves (or appeared meanwhile).
                raise _Stale from None
            raise VersionMismatch(user_id, version, int(current.get(VERSION, 0))) from None
        return deserialize(response["Attributes"])

    def _current(self, user_id: str, expected_version: int | None, now: int) -> tuple[Item, int]:
        """The live user and its version; `UserNotFound`, or `VersionMismatch` if not expected."""
        current = self.get(user_id, now=now)
        if current is None:
            raise UserNotFound(user_id)
        version = int(current.get(VERSION, 0))
        if expected_version is not None and expected_version != version:
            raise VersionMismatch(user_id, expected_version, version)
        return current, version

    def _update_email(
        self, user_id: str, changes: Item, expected_version: int | None, now: int
    ) -> Item:
        current, version = self._current(user_id, expected_version, now)
        old_email = current.get("email")
        if changes["email"] == old_email:
            # Same email: no uniqueness row moves, but guard on the version we read so a
            # concurrent email change cannot be overwritten with the old address.
            return self._update_row(
                user_id, changes, version=version, now=now, retry=expected_version is None
            )
        expression, names, values = self._set_clause(changes)
        condition, guard_names, guard_values = self._guard(
            version=version, email=old_email if isinstance(old_email, str) else None, now=now
        )
        moved = {**current, **changes}
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": {KEY: {"S": user_id}},
                    "UpdateExpression": expression,
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {**names, **guard_names},
                    "ExpressionAttributeValues": {**values, **guard_values},
                }
            },
            self._claim(self._lock_item(moved), now),
        ]
        if isinstance(old_email, str):
            items.append(self._release(old_email, user_id))
        reasons = self._transact(items)
        if reasons is None:
            moved[VERSION] = version + 1
            return moved
        if reasons[1:2] == [CONDITION_FAILED]:
            raise EmailInUse([str(changes["email"])])
        if reasons[2:3] == [CONDITION_FAILED]:
            raise ConflictError(
                f"the uniqueness row of {old_email} belongs to another user; "
                "the table needs repair",
                field="email",
            )
        if expected_version is not None and reasons[:1] == [CONDITION_FAILED]:
            latest = self.get(user_id, now=now)
            if latest is None:
                raise UserNotFound(user_id)
            raise VersionMismatch(user_id, expected_version, int(latest.get(VERSION, 0)))
        raise _Stale

    def delete(self, user_id: str, *, expected_version: int | None, now: int) -> None:
        """Delete the user and free its email, or raise `UserNotFound`/`VersionMismatch`."""
        for attempt in range(self.max_attempts):
            current, version = self._current(user_id, expected_version, now)
            email = current.get("email")
            condition, names, values = self._guard(
                version=version, email=email if isinstance(email, str) else None, now=now
            )
            items: list[dict[str, Any]] = [
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {KEY: {"S": user_id}},
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            ]
            if isinstance(email, str):
                items.append(self._release(email, user_id))
            reasons = self._transact(items)
            if reasons is None:
                return
            if reasons[1:2] == [CONDITION_FAILED]:
                raise ConflictError(
                    f"the uniqueness row of {email} belongs to another user; "
                    "the table needs repair",
                    field="email",
                )
            self.sleep(backoff_delay(attempt))
        raise ConcurrentUpdate(user_id)

    def batch_create(self, users: list[Item], *, now: int) -> None:
        """Write `users` and their uniqueness rows in one transaction: all of them, or none.

        Every row is a conditional put, as in `create`, so a concurrent `CREATE` of the same id
        or email cannot slip in between a check and the write. At most `MAX_BATCH_USERS` users
        (a transaction holds at most 100 rows; the handler allows 25). Raises
        `UserAlreadyExists` naming every taken id, or `EmailInUse` naming every taken email;
        `ConcurrentUpdate` if competing transactions kept cancelling ours.
        """
        if len(users) > MAX_BATCH_USERS:
            raise ValueError(f"batch_create takes at most {MAX_BATCH_USERS} users")
        locks = [self._lock_item(user) for user in users]
        reasons = self._transact([self._claim(item, now) for item in (*users, *locks)])
        if reasons is None:
            return
        # One code per row, users first, then their uniqueness rows (padded if unreported).
        count = len(users)
        failed = [reason == CONDITION_FAILED for reason in reasons[: 2 * count]]
        failed += [False] * (2 * count - len(failed))
        taken_ids = sorted(
            str(user[KEY]) for user, taken in zip(users, failed[:count], strict=True) if taken
        )
        taken_emails = sorted(
            str(user["email"]) for user, taken in zip(users, failed[count:], strict=True) if taken
        )
        if taken_ids:
            raise UserAlreadyExists(taken_ids)
        if taken_emails:
            raise EmailInUse(taken_emails)
        raise ConcurrentUpdate(", ".join(str(user[KEY]) for user in users))
