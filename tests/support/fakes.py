"""Fault injection around a real boto3 client: it talks to a real endpoint, then misbehaves.

`FlakyBatchClient` forwards every call to a real DynamoDB client, except that the first
`unprocessed_rounds` `BatchWriteItem` calls are sent with only part of their items and
report the rest as `UnprocessedItems`, as DynamoDB does under throttling. It also records
the size of every batch and the most requests it saw in flight at once.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class FlakyBatchClient:
    """A real client whose first batch writes are partly left unprocessed."""

    def __init__(self, client: Any, unprocessed_rounds: int = 0, delay_s: float = 0.0) -> None:
        self._client = client
        self._rounds_left = unprocessed_rounds
        self._delay_s = delay_s
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        self.batch_sizes: list[int] = []
        self.unprocessed_reported = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]], **kwargs: Any) -> Any:  # noqa: N803
        ((table, requests),) = RequestItems.items()
        with self._lock:
            self.batch_sizes.append(len(requests))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            flaky = self._rounds_left > 0
            if flaky:
                self._rounds_left -= 1
        try:
            if self._delay_s:
                time.sleep(self._delay_s)  # lets concurrent requests overlap measurably
            if not flaky or len(requests) < 2:
                return self._client.batch_write_item(RequestItems=RequestItems, **kwargs)
            half = len(requests) // 2
            response = self._client.batch_write_item(
                RequestItems={table: requests[:half]}, **kwargs
            )
            with self._lock:
                self.unprocessed_reported += len(requests) - half
            response["UnprocessedItems"] = {table: requests[half:]}
            return response
        finally:
            with self._lock:
                self._in_flight -= 1
