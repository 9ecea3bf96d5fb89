"""Serialized DynamoDB writes, so moto's transactions are isolated as DynamoDB's are.

moto 5.2.5's `transact_write_items` takes no lock: it checks each item's condition while other
requests run, and a cancelled transaction "rolls back" by putting back a deep copy of every
table it touched, taken when it started, which erases whatever other requests wrote in the
meantime. Under concurrent load two transactions that each claim the same key can both
succeed, and a plain `PutItem` can vanish. The local cloud's server is threaded, so the
functions' email-uniqueness guarantee did not hold on it.

Every write of the DynamoDB backend (single-item writes, transactions, PartiQL) now runs under
one re-entrant lock: a transaction and its rollback happen with no other write in between.
Reads are not serialized; DynamoDB's own reads outside a transaction are not isolated either.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from localcloud.patches import Patch, PatchSet

# Re-entrant: moto's transaction calls the backend's own put/update/delete for each item.
WRITE_LOCK = threading.RLock()

SERIALIZED_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",  # a documentation stub in moto 5.2.5 (the handler puts item by item)
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)


def serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    """`method`, run while holding `WRITE_LOCK`."""

    @functools.wraps(method)
    def under_lock(*args: Any, **kwargs: Any) -> Any:
        with WRITE_LOCK:
            return method(*args, **kwargs)

    return under_lock


PATCHES = PatchSet(
    "dynamodb",
    [
        Patch(
            f"dynamodb-serialized-{name}",
            DynamoDBBackend,
            name,
            serialized(getattr(DynamoDBBackend, name)),
        )
        for name in SERIALIZED_WRITES
    ],
)
