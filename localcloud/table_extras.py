"""What DynamoDB Local does not implement, answered by the local cloud: tags, PITR, endpoints.

DynamoDB Local 3.3 answers `UnknownOperationException` to `TagResource`, `UntagResource`,
`ListTagsOfResource`, `DescribeContinuousBackups`, `UpdateContinuousBackups` and
`DescribeEndpoints`, and ignores `Tags` in `CreateTable`. `TableExtras` keeps tags and the
point-in-time-recovery switch per table, checks that the table exists in the engine as AWS
would, and forgets them when the table is deleted; the answers have AWS's shapes and errors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localcloud import arns
from localcloud.engine import EngineClient, EngineRequestError

MAX_TAGS = 50
PITR_RECOVERY_DAYS = 35


@dataclass(frozen=True)
class Caller:
    """Who asked, as the answer's ARNs must show it."""

    region: str
    account: str
    host: str
    # The access key that signed the request ('' when unsigned).
    access_key: str = ""


class ExtrasError(Exception):
    """An AWS-shaped client error (`code` is the `__type` suffix)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Table:
    tags: dict[str, str] = field(default_factory=dict)
    pitr: bool = False
    pitr_since: float = 0.0


class TableExtras:
    """Tags and PITR settings of the engine's tables, keyed by table name."""

    OPERATIONS = frozenset(
        {
            "TagResource",
            "UntagResource",
            "ListTagsOfResource",
            "DescribeContinuousBackups",
            "UpdateContinuousBackups",
            "DescribeEndpoints",
        }
    )

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self._tables: dict[str, _Table] = {}
        self._lock = threading.Lock()

    # -- persistence ------------------------------------------------------------------
    def export(self) -> dict[str, dict[str, Any]]:
        """Every table's tags and PITR settings, as plain data (for the state snapshot)."""
        with self._lock:
            return {
                name: {"tags": dict(t.tags), "pitr": t.pitr, "pitr_since": t.pitr_since}
                for name, t in self._tables.items()
            }

    def restore(self, saved: dict[str, dict[str, Any]]) -> None:
        """Put back what `export` returned."""
        with self._lock:
            self._tables = {
                name: _Table(tags=dict(t["tags"]), pitr=bool(t["pitr"]), pitr_since=t["pitr_since"])
                for name, t in saved.items()
            }

    # -- bookkeeping of the engine's own operations -----------------------------------
    def table_created(self, request: dict[str, Any]) -> None:
        """Keep the `Tags` of a successful `CreateTable` (the engine drops them)."""
        tags = {tag["Key"]: tag["Value"] for tag in request.get("Tags") or []}
        with self._lock:
            self._tables[str(request["TableName"])] = _Table(tags=tags)

    def table_deleted(self, name: str) -> None:
        """Forget a deleted table's settings."""
        with self._lock:
            self._tables.pop(arns.table_of(name) if name.startswith("arn:") else name, None)

    def validate_create(self, request: dict[str, Any]) -> None:
        """Refuse bad `Tags` in `CreateTable` before the engine creates anything."""
        if "Tags" in request:
            self._check_tags(request["Tags"])

    # -- answered operations -----------------------------------------------------------
    def answer(self, operation: str, request: dict[str, Any], caller: Caller) -> dict[str, Any]:
        """The response of one of `OPERATIONS`; raises `ExtrasError` as AWS would."""
        handlers: dict[str, Callable[[dict[str, Any], Caller], dict[str, Any]]] = {
            "TagResource": self._tag,
            "UntagResource": self._untag,
            "ListTagsOfResource": self._list_tags,
            "DescribeContinuousBackups": self._describe_backups,
            "UpdateContinuousBackups": self._update_backups,
            "DescribeEndpoints": self._endpoints,
        }
        return handlers[operation](request, caller)

    def _existing(self, name: str, *, not_found: str = "ResourceNotFoundException") -> _Table:
        try:
            self.client.call("DescribeTable", {"TableName": name})
        except EngineRequestError as error:
            if error.code == "ResourceNotFoundException":
                message = (
                    f"Table not found: {name}"
                    if not_found == "TableNotFoundException"
                    else f"Requested resource not found: ResourcArn: {name} not found"
                )
                raise ExtrasError(not_found, message) from error
            raise
        with self._lock:
            return self._tables.setdefault(name, _Table())

    def _table_from_arn(self, request: dict[str, Any]) -> _Table:
        arn = str(request.get("ResourceArn") or "")
        try:
            name = arns.table_of(arn)
        except ValueError as error:
            raise ExtrasError("ValidationException", f"Invalid TableArn: {arn}") from error
        return self._existing(name)

    @staticmethod
    def _check_tags(tags: Any) -> None:
        if not isinstance(tags, list) or not all(isinstance(tag, dict) for tag in tags):
            raise ExtrasError(
                "SerializationException", "Tags must be a list of {Key, Value} structures"
            )
        for number, tag in enumerate(tags, start=1):
            for member in ("Key", "Value"):
                if not isinstance(tag.get(member), str):
                    raise ExtrasError(
                        "ValidationException",
                        f"1 validation error detected: Value null at 'tags.{number}.member."
                        f"{member.lower()}' failed to satisfy constraint: Member must not be null",
                    )
        if len(tags) > MAX_TAGS:
            raise ExtrasError(
                "ValidationException", f"Too many tags: {len(tags)} (at most {MAX_TAGS})"
            )
        for tag in tags:
            key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
            if not 1 <= len(key) <= 128 or len(value) > 256 or key.startswith("aws:"):
                raise ExtrasError(
                    "ValidationException",
                    "One or more parameter values were invalid: tag keys must be 1 to 128 "
                    "characters (not starting with aws:) and values at most 256",
                )

    def _tag(self, request: dict[str, Any], caller: Caller) -> dict[str, Any]:
        tags = request.get("Tags")
        self._check_tags(tags)
        table = self._table_from_arn(request)
        with self._lock:
            merged = {**table.tags, **{t["Key"]: t["Value"] for t in tags or []}}
            if len(merged) > MAX_TAGS:
                raise ExtrasError("ValidationException", f"Too many tags (at most {MAX_TAGS})")
            table.tags = merged
        return {}

    def _untag(self, request: dict[str, Any], caller: Caller) -> dict[str, Any]:
        table = self._table_from_arn(request)
        with self._lock:
            for key in request.get("TagKeys") or []:
                table.tags.pop(key, None)
        return {}

    def _list_tags(self, request: dict[str, Any], caller: Caller) -> dict[str, Any]:
        table = self._table_from_arn(request)
        with self._lock:
            return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(table.tags.items())]}

    def _backups(self, table: _Table) -> dict[str, Any]:
        pitr: dict[str, Any] = {
            "PointInTimeRecoveryStatus": "ENABLED" if table.pitr else "DISABLED"
        }
        if table.pitr:
            pitr.update(
                {
                    "EarliestRestorableDateTime": table.pitr_since,
                    "LatestRestorableDateTime": datetime.now(UTC).timestamp(),
                    "RecoveryPeriodInDays": PITR_RECOVERY_DAYS,
                }
            )
        return {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": pitr,
            }
        }

    def _describe_backups(self, request: dict[str, Any], caller: Caller) -> dict[str, Any]:
        table = self._existing(str(request.get("TableName")), not_found="TableNotFoundException")
        with self._lock:
            return self._backups(table)

    def _update_backups(self, request: dict[str, Any], caller: Caller) -> dict[str, Any]:
        spec = request.get("PointInTimeRecoverySpecification")
        if not isinstance(spec, dict) or "PointInTimeRecoveryEnabled" not in spec:
            raise ExtrasError(
                "ValidationException",
                "1 validation error detected: Value null at 'pointInTimeRecoverySpecification' "
                "failed to satisfy constraint: Member must not be null",
            )
        table = self._existing(str(request.get("TableName")), not_found="TableNotFoundException")
        self.set_pitr(str(request.get("TableName")), bool(spec["PointInTimeRecoveryEnabled"]))
        with self._lock:
            return self._backups(table)

    def set_pitr(self, name: str, enabled: bool) -> None:
        """Switch point-in-time recovery of an existing table (CloudFormation uses this)."""
        with self._lock:
            table = self._tables.setdefault(name, _Table())
            if enabled and not table.pitr:
                table.pitr_since = datetime.now(UTC).timestamp()
            table.pitr = enabled

    def set_tags(self, name: str, tags: dict[str, str]) -> None:
        """Replace a table's tags (CloudFormation uses this)."""
        self._check_tags([{"Key": k, "Value": v} for k, v in tags.items()])
        with self._lock:
            self._tables.setdefault(name, _Table()).tags = dict(tags)

    def _endpoints(self, request: dict[str, Any], caller: Caller) -> dict[str, Any]:
        return {"Endpoints": [{"Address": caller.host, "CachePeriodInMinutes": 1440}]}
