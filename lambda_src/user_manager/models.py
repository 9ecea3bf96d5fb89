"""Validated user-manager requests: what each action accepts, and the limits on it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from common.errors import ValidationError
from common.validation import decode_cursor, expect_object, integer, reject_unknown, string

from datamodel.uniqueness import normalize_email

# A user id never contains '#', so it can never collide with an `EMAIL#...` uniqueness row.
USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")
# RFC 5322's dot-atom local part and a DNS domain name with at least two labels.
EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
ROLE = re.compile(r"[A-Za-z][A-Za-z0-9 _.-]{0,63}")

MAX_EMAIL = 254
MAX_NAME = 200
MIN_AGE, MAX_AGE = 0, 150
MAX_TTL_DAYS = 3650
MAX_LIST_LIMIT = 100
DEFAULT_LIST_LIMIT = 25
MAX_BATCH_CREATE = 25
MAX_BATCH_GET = 100

PROFILE_FIELDS = ("email", "name", "age", "role")
CREATE_FIELDS = ("userId", *PROFILE_FIELDS, "expiresInDays")
# Attributes the service maintains itself; a caller may read them but never write them.
MANAGED_FIELDS = ("version", "createdAt", "updatedAt", "expiresAt")


@dataclass(frozen=True)
class NewUser:
    """A user to create. `email` is normalized to lower case (uniqueness ignores case)."""

    user_id: str
    email: str
    name: str
    age: int | None = None
    role: str | None = None
    expires_in_days: int | None = None


@dataclass(frozen=True)
class ListRequest:
    """One page of `LIST`: at most `limit` users after `cursor` (a row's key)."""

    limit: int = DEFAULT_LIST_LIMIT
    cursor: dict[str, str] | None = None


def user_id(value: object, field: str = "userId") -> str:
    """A user id: 1-128 characters of letters, digits and `_ . : @ -`."""
    return string(
        value,
        field,
        max_length=128,
        pattern=USER_ID,
        hint="use 1-128 letters, digits or _ . : @ - starting with a letter or digit",
    )


def email(value: object, field: str = "email") -> str:
    """An email address of a plausible shape, lower-cased."""
    text = string(
        value, field, max_length=MAX_EMAIL, pattern=EMAIL, hint="expected name@domain.tld"
    )
    return normalize_email(text)


def _name(value: object, field: str) -> str:
    return string(value, field, max_length=MAX_NAME).strip()


def _age(value: object, field: str) -> int:
    return integer(value, field, minimum=MIN_AGE, maximum=MAX_AGE)


def _role(value: object, field: str) -> str:
    return string(
        value, field, max_length=64, pattern=ROLE, hint="letters, digits, space, _ . - (max 64)"
    )


def version(value: object, field: str = "version") -> int:
    """An expected item version for an optimistic check (0 = a row that never had one)."""
    return integer(value, field, minimum=0, maximum=2**53)


def new_user(data: object, where: str = "data") -> NewUser:
    """Validate a `CREATE` payload: `userId`, `email`, `name`; optional `age`, `role`, TTL."""
    obj = expect_object(data, where)
    prefix = f"{where}."
    reject_unknown(obj, CREATE_FIELDS, prefix)
    for required in ("userId", "email", "name"):
        if required not in obj:
            raise ValidationError(f"{prefix}{required} is required", field=f"{prefix}{required}")
    return NewUser(
        user_id=user_id(obj["userId"], f"{prefix}userId"),
        email=email(obj["email"], f"{prefix}email"),
        name=_name(obj["name"], f"{prefix}name"),
        age=_age(obj["age"], f"{prefix}age") if "age" in obj else None,
        role=_role(obj["role"], f"{prefix}role") if "role" in obj else None,
        expires_in_days=(
            integer(obj["expiresInDays"], f"{prefix}expiresInDays", minimum=1, maximum=MAX_TTL_DAYS)
            if "expiresInDays" in obj
            else None
        ),
    )


def profile_changes(updates: object) -> dict[str, Any]:
    """Validate an `UPDATE`'s `updates`: a non-empty subset of email, name, age, role."""
    obj = expect_object(updates, "updates")
    if not obj:
        raise ValidationError("updates must change at least one field", field="updates")
    for key in obj:
        field = f"updates.{key}"
        if key == "userId":
            raise ValidationError("userId is the table key and cannot be changed", field=field)
        if key in MANAGED_FIELDS:
            raise ValidationError(f"{key} is maintained by the service", field=field)
    reject_unknown(obj, PROFILE_FIELDS, "updates.")
    parsers = {"email": email, "name": _name, "age": _age, "role": _role}
    return {key: parsers[key](value, f"updates.{key}") for key, value in obj.items()}


def list_request(event: dict[str, Any]) -> ListRequest:
    """`LIST`'s optional `limit` (1-100) and `cursor` (from a previous page)."""
    limit = (
        integer(event["limit"], "limit", minimum=1, maximum=MAX_LIST_LIMIT)
        if event.get("limit") is not None
        else DEFAULT_LIST_LIMIT
    )
    cursor = (
        decode_cursor(event["cursor"], "cursor", key_names=("userId",))
        if event.get("cursor") is not None
        else None
    )
    return ListRequest(limit=limit, cursor=cursor)


def id_list(value: object, field: str, *, maximum: int) -> list[str]:
    """A non-empty list of at most `maximum` distinct user ids."""
    if not isinstance(value, list) or not value:
        raise ValidationError(f"{field} must be a non-empty list", field=field)
    if len(value) > maximum:
        raise ValidationError(f"{field} holds at most {maximum} ids", field=field)
    ids = [user_id(item, f"{field}[{index}]") for index, item in enumerate(value)]
    if len(set(ids)) != len(ids):
        raise ValidationError(f"{field} must not repeat an id", field=field)
    return ids


def new_users(value: object, field: str = "users") -> list[NewUser]:
    """`BATCH_CREATE`'s users: 1-25 valid users with distinct ids and emails."""
    if not isinstance(value, list) or not value:
        raise ValidationError(f"{field} must be a non-empty list", field=field)
    if len(value) > MAX_BATCH_CREATE:
        raise ValidationError(f"{field} holds at most {MAX_BATCH_CREATE} users", field=field)
    users = [new_user(item, f"{field}[{index}]") for index, item in enumerate(value)]
    for attribute, label in (("user_id", "userId"), ("email", "email")):
        seen: set[str] = set()
        for index, user in enumerate(users):
            key = getattr(user, attribute)
            if key in seen:
                raise ValidationError(
                    f"{field}[{index}].{label} repeats an earlier user's {label}",
                    field=f"{field}[{index}].{label}",
                )
            seen.add(key)
    return users
