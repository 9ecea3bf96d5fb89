"""DynamoDB's retry rules, shared by the functions and the data tooling: which error codes
mean "too much traffic right now", and how long to wait before trying again."""

from __future__ import annotations

import random

# Error codes of a request DynamoDB throttled (botocore has already retried them).
THROTTLING_ERRORS = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
# Throttling, or a limit or transaction in progress: the caller may retry later (503).
BUSY_ERRORS = THROTTLING_ERRORS | {"LimitExceededException", "TransactionInProgressException"}
# Throttling or a server-side fault: a write that failed on these may be resent.
TRANSIENT_ERRORS = THROTTLING_ERRORS | {"InternalServerError", "ServiceUnavailable"}
# `TransactionCanceledException` reasons that mean the transaction was throttled, not refused.
THROTTLED_REASONS = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)


def backoff_delay(attempt: int, *, base_s: float = 0.05, cap_s: float = 2.0) -> float:
    """Exponential backoff with full jitter for retry number `attempt`."""
    return random.uniform(0, min(cap_s, base_s * (2**attempt)))
