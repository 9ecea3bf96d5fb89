"""The Users table's email uniqueness rule, shared by user-manager and the seeder.

A user `{"userId": "u1", "email": "a@x.io"}` owns the row `{"userId": "EMAIL#a@x.io",
"ownerId": "u1"}` (the `EMAIL_LOCK` entity); the row expires with its user. Emails are
compared in lower case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datamodel.entities import EMAIL_LOCK, USER_KEY

KEY = USER_KEY
EMAIL = "email"
LOCK_PREFIX = EMAIL_LOCK.key[0].prefix
OWNER = EMAIL_LOCK.attributes[0].name
# The TTL attribute of users and their rows when `USERS_TTL_ATTRIBUTE` is not set.
DEFAULT_TTL_ATTRIBUTE = "expiresAt"


def normalize_email(email: str) -> str:
    """`email` as it is stored and compared: in lower case."""
    return email.lower()


def lock_key(email: str) -> str:
    """The key of the uniqueness row for `email` (already normalized)."""
    return EMAIL_LOCK.key_value(KEY, {EMAIL: email})


def is_lock_key(key: str) -> bool:
    """True when `key` is a uniqueness row's key (a user id never contains `#`)."""
    return key.startswith(LOCK_PREFIX)


def lock_row(user: Mapping[str, Any], ttl_attribute: str) -> dict[str, Any]:
    """The uniqueness row of `user` (a plain item with a normalized `email`)."""
    row: dict[str, Any] = {KEY: lock_key(str(user[EMAIL])), OWNER: user[KEY]}
    if user.get(ttl_attribute) is not None:
        # The row expires with its user, or the email would stay taken forever.
        row[ttl_attribute] = user[ttl_attribute]
    return row
