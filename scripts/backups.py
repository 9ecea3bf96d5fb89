"""`restore` and `export`: a table as of a point in time, into a new table or to S3.

Both need the table's point-in-time recovery (PITR): they read its window with
`DescribeContinuousBackups` first and refuse, before anything changes, a table without PITR
and a time outside the window. Times are ISO 8601 with a time zone; a naive time is refused
rather than guessed (UTC and the machine's zone are both plausible, and restoring the wrong
hour fails silently). DynamoDB Local, bare or behind the local cloud, answers
`UnknownOperationException` to both operations: against an endpoint the tool first asks
whether the server knows the operation at all, and if not names the local alternative.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from scripts.errors import ConfirmationRequired, TableNotFound, ToolError, UsageError
from scripts.tables import TableInfo, account_id, describe_table
from scripts.target import Target, error_code, error_message, translated_errors

EXPORT_FORMATS = ("DYNAMODB_JSON", "ION")
DEFAULT_WAIT_S = 3600.0

# What RestoreTableToPointInTime carries over (from the source's settings at restore time)
# and what it leaves for the owner to set up again.
RESTORED = (
    "items as of the restore time",
    "keys",
    "GSIs and LSIs",
    "billing mode and capacity",
    "encryption",
)
NOT_RESTORED = (
    "stream",
    "TTL",
    "auto scaling",
    "tags",
    "CloudWatch alarms",
    "point-in-time recovery",
    "IAM policies",
)

# A name no server can create a table under ('!' is not allowed in table names): the probe
# that asks an endpoint whether it knows an operation can never change anything.
_PROBE_TABLE = "no-such-table!probe"
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_MAX_PREFIX_BYTES = 1024


class PointInTimeRecoveryOff(ToolError):
    """The table has no point-in-time recovery, so nothing can be restored or exported."""


class NotSupportedHere(ToolError):
    """The endpoint (DynamoDB Local) does not know the operation at all."""


class TableExists(ToolError):
    """The table a restore would create already exists."""


class ExportFailed(ToolError):
    """DynamoDB reported the export as FAILED."""


class WaitTimedOut(ToolError):
    """`--wait` gave up; the operation itself goes on."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str, option: str, *, allow_latest: bool = False) -> datetime | None:
    """An ISO 8601 time with a zone, in UTC; `None` for `latest` when `allow_latest`."""
    cleaned = text.strip()
    if allow_latest and cleaned.lower() == "latest":
        return None
    example = "2026-01-01T09:00:00+00:00" + (" or latest" if allow_latest else "")
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not an ISO 8601 time (e.g. {example})") from None
    if moment.tzinfo is None:
        raise UsageError(
            f"{option} {text!r} has no time zone; add one, e.g. {cleaned}+00:00 for UTC"
        )
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class S3Location:
    """Where an export goes: a bucket and a key prefix (`""`: the bucket's root)."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        """`s3://bucket/prefix`."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_s3_url(url: str, option: str = "--to") -> S3Location:
    """`s3://bucket/prefix` as bucket and prefix; refuse anything else with one line."""
    parts = urlsplit(url.strip())
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise UsageError(f"{option} {url!r} is not an s3://bucket/prefix URL")
    bucket = parts.netloc
    if not _BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        raise UsageError(
            f"{option} {url!r}: {bucket!r} is not an S3 bucket name "
            "(3-63 lowercase letters, digits, dots and hyphens)"
        )
    prefix = parts.path.strip("/")
    if "//" in prefix:
        raise UsageError(f"{option} {url!r}: the prefix has an empty path segment ('//')")
    if len(prefix.encode()) > _MAX_PREFIX_BYTES:
        raise UsageError(f"{option} {url!r}: the prefix is longer than 1024 bytes")
    return S3Location(bucket, prefix)


@dataclass(frozen=True)
class RecoveryWindow:
    """The times a table can be restored or exported to (`latest`: if reported)."""

    earliest: datetime
    latest: datetime | None


def _restore_unsupported(target: Target) -> str:
    return (
        f"the local cloud (DynamoDB Local) at {target.where} has no point-in-time restore; "
        "save and restore local data with `make snapshot NAME=x` / `make restore NAME=x`"
    )


def _export_unsupported(target: Target, table: str) -> str:
    return (
        f"the local cloud (DynamoDB Local) at {target.where} has no point-in-time export to "
        f"S3; copy the table to a file with `python -m scripts scan {table} --out FILE`"
    )


def _pitr_off(target: Target, table: str) -> str:
    return (
        f"point-in-time recovery is off for table {table} at {target.where}: turn on the "
        f"stage option point_in_time_recovery for stage {target.stage.name} "
        "(stacks/config.py) and deploy; times from then on become restorable"
    )


def _mapped(
    error: ClientError, target: Target, table: str, unsupported: str, new: str | None = None
) -> ToolError | None:
    """The tool's error for the PITR operations' own error codes (`None`: the generic one)."""
    code = error_code(error)
    message = error_message(error)
    if code == "UnknownOperationException":
        return NotSupportedHere(unsupported)
    if code == "PointInTimeRecoveryUnavailableException":
        return PointInTimeRecoveryOff(_pitr_off(target, table))
    if code in {"TableNotFoundException", "SourceTableNotFoundException"}:
        return TableNotFound(f"table {table} does not exist at {target.where} ({message})")
    if code == "TableAlreadyExistsException":
        return TableExists(f"table {new or table} already exists at {target.where}")
    if code in {"InvalidRestoreTimeException", "InvalidExportTimeException"}:
        return UsageError(f"{table}: {message}")
    if code == "TableInUseException":
        return ToolError(f"table {table} is busy (being created, updated or restored)")
    if code == "ExportConflictException":
        return ToolError(f"an export of {table} to the same place is already running: {message}")
    return None


def _refuse_unknown_operation(
    target: Target, client: Any, probe: Callable[[], Any], unsupported: str
) -> None:
    """Against an endpoint, refuse when the server does not know the operation at all.

    The probe names a table that cannot exist: a server that knows the operation refuses
    the table, one that does not (DynamoDB Local) answers `UnknownOperationException`.
    AWS itself knows both operations and is never probed.
    """
    if target.endpoint is None:
        return
    with translated_errors(target):
        try:
            probe()
        except ClientError as error:
            if error_code(error) == "UnknownOperationException":
                raise NotSupportedHere(unsupported) from None


def recovery_window(
    target: Target, table: str, client: Any | None = None, *, unsupported: str | None = None
) -> RecoveryWindow:
    """The PITR window of table `table` (physical name); refuse when PITR is off."""
    client = client or target.client()
    with translated_errors(target, table):
        try:
            response = client.describe_continuous_backups(TableName=table)
        except ClientError as error:
            mapped = _mapped(error, target, table, unsupported or _restore_unsupported(target))
            if mapped is not None:
                raise mapped from None
            raise
    pitr = response["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription") or {}
    earliest = pitr.get("EarliestRestorableDateTime")
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED" or earliest is None:
        raise PointInTimeRecoveryOff(_pitr_off(target, table))
    return RecoveryWindow(earliest=earliest, latest=pitr.get("LatestRestorableDateTime"))


def _check_time(
    moment: datetime, window: RecoveryWindow, table: str, option: str, *, restore: bool
) -> None:
    now = datetime.now(UTC)
    if moment > now:
        raise UsageError(f"{option} {_iso(moment)} is in the future (now is {_iso(now)})")
    if moment < window.earliest:
        raise UsageError(
            f"{option} {_iso(moment)} is before the earliest restorable time of {table}, "
            f"{_iso(window.earliest)}"
        )
    if restore and window.latest is not None and moment > window.latest:
        raise UsageError(
            f"{option} {_iso(moment)} is after the latest restorable time of {table}, "
            f"{_iso(window.latest)} (AWS keeps it about 5 minutes behind now); "
            "use --to latest"
        )


def _table_exists(target: Target, client: Any, name: str) -> bool:
    with translated_errors(target, name):
        try:
            client.describe_table(TableName=name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return False
            raise
    return True


@dataclass(frozen=True)
class RestoreStarted:
    """A restore DynamoDB accepted: the new table is being created from the source."""

    source: str
    table: str
    status: str
    # The time restored to, as the service reports it (`--to latest` resolved).
    restore_time: datetime | None
    arn: str


def restore_table(
    target: Target,
    source: str,
    new: str,
    at: datetime | None,
    *,
    yes: bool = False,
    announce: Callable[[str, str, str, str], None] | None = None,
    confirm: Callable[[str], str] | None = None,
    client: Any | None = None,
) -> RestoreStarted:
    """Start restoring table `source` (logical key or name) as of `at` into new table `new`.

    `at=None` is the latest restorable time. Refused with nothing changed: an endpoint that
    has no point-in-time restore, a source without PITR, a time in the future or outside
    the window, and a `new` that already exists. Against `prod`, as `drop`:
    `announce(account, region, source, new)` first, then `yes=True` or a `confirm(new)`
    returning what the person typed, which must be the new table's name.
    """
    client = client or target.client()
    new_name = target.table_name(new)
    if not _TABLE_NAME.fullmatch(new_name):
        raise UsageError(
            f"--as {new!r} is not a table name (3-255 letters, digits, '_', '-' and '.')"
        )
    unsupported = _restore_unsupported(target)
    _refuse_unknown_operation(
        target,
        client,
        lambda: client.restore_table_to_point_in_time(
            SourceTableName=_PROBE_TABLE,
            TargetTableName=_PROBE_TABLE,
            UseLatestRestorableTime=True,
        ),
        unsupported,
    )
    info = describe_table(target, source, client)
    window = recovery_window(target, info.name, client, unsupported=unsupported)
    if at is not None:
        _check_time(at, window, info.name, "--to", restore=True)
    if _table_exists(target, client, new_name):
        raise TableExists(
            f"table {new_name} already exists at {target.where}; a restore always creates a "
            "new table: choose another --as"
        )
    if target.is_prod:
        if announce is not None:
            announce(account_id(target), target.region, info.name, new_name)
        if not yes:
            if confirm is None:
                raise ConfirmationRequired(
                    f"restoring {info.name} into {new_name} in prod needs --yes or typing "
                    "the new table's name"
                )
            if confirm(new_name).strip() != new_name:
                raise ConfirmationRequired(
                    f"confirmation did not match {new_name!r}; nothing restored"
                )
    request: dict[str, Any] = {"SourceTableName": info.name, "TargetTableName": new_name}
    if at is None:
        request["UseLatestRestorableTime"] = True
    else:
        request["RestoreDateTime"] = at
    with translated_errors(target, info.name):
        try:
            table = client.restore_table_to_point_in_time(**request)["TableDescription"]
        except ClientError as error:
            mapped = _mapped(error, target, info.name, unsupported, new_name)
            if mapped is not None:
                raise mapped from None
            raise
    summary = table.get("RestoreSummary") or {}
    return RestoreStarted(
        source=info.name,
        table=table.get("TableName", new_name),
        status=table.get("TableStatus", "?"),
        restore_time=summary.get("RestoreDateTime"),
        arn=table.get("TableArn", ""),
    )


def _poll_interval(target: Target) -> float:
    return 0.2 if target.endpoint else 10.0


def wait_until_active(
    target: Target,
    name: str,
    *,
    timeout_s: float = DEFAULT_WAIT_S,
    client: Any | None = None,
    poll_s: float | None = None,
) -> TableInfo:
    """Poll table `name` until it is ACTIVE; `WaitTimedOut` after `timeout_s`."""
    client = client or target.client()
    interval = _poll_interval(target) if poll_s is None else poll_s
    deadline = time.monotonic() + timeout_s
    while True:
        info = describe_table(target, name, client)
        if info.status == "ACTIVE":
            return info
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimedOut(
                f"table {name} is still {info.status} after {timeout_s:.0f} s; the restore "
                f"goes on: `python -m scripts --stage {target.stage.name} describe {name}` "
                "shows when it is ACTIVE"
            )
        time.sleep(min(interval, left))


@dataclass(frozen=True)
class ExportInfo:
    """An export as `ExportTableToPointInTime` / `DescribeExport` report it."""

    arn: str
    status: str
    destination: S3Location
    export_format: str
    export_time: datetime | None
    item_count: int | None
    # The S3 key of the export's manifest (`manifest-summary.json`), once reported.
    manifest: str | None
    failure: str | None

    @property
    def manifest_url(self) -> str | None:
        """The manifest as an `s3://` URL."""
        return f"s3://{self.destination.bucket}/{self.manifest}" if self.manifest else None

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> ExportInfo:
        """From the `ExportDescription` of either response."""
        code = description.get("FailureCode")
        message = description.get("FailureMessage")
        failure = ": ".join(str(part) for part in (code, message) if part) or None
        count = description.get("ItemCount")
        return cls(
            arn=description["ExportArn"],
            status=description.get("ExportStatus", "?"),
            destination=S3Location(
                description.get("S3Bucket", ""), (description.get("S3Prefix") or "").strip("/")
            ),
            export_format=description.get("ExportFormat", "?"),
            export_time=description.get("ExportTime"),
            item_count=int(count) if count is not None else None,
            manifest=description.get("ExportManifest") or None,
            failure=failure,
        )


def export_table(
    target: Target,
    table: str,
    destination: S3Location,
    *,
    export_format: str = "DYNAMODB_JSON",
    at: datetime | None = None,
    client: Any | None = None,
) -> ExportInfo:
    """Start exporting table `table` (logical key or name) as of `at` (default: now) to S3.

    Refused with nothing written: an endpoint that has no point-in-time export, a table
    without PITR, and a time in the future or before the earliest restorable time. The
    export runs at DynamoDB; `wait_for_export` follows it.
    """
    if export_format not in EXPORT_FORMATS:
        raise UsageError(f"export format {export_format!r} is not one of {EXPORT_FORMATS}")
    client = client or target.client()
    physical = target.table_name(table)
    unsupported = _export_unsupported(target, table)
    _refuse_unknown_operation(
        target,
        client,
        lambda: client.export_table_to_point_in_time(
            TableArn=f"arn:aws:dynamodb:{target.region}:000000000000:table/{_PROBE_TABLE}",
            S3Bucket="no-such-bucket",
            S3Prefix="probe",
        ),
        unsupported,
    )
    info = describe_table(target, physical, client)
    window = recovery_window(target, info.name, client, unsupported=unsupported)
    if at is not None:
        _check_time(at, window, info.name, "--at", restore=False)
    request: dict[str, Any] = {
        "TableArn": info.arn,
        "S3Bucket": destination.bucket,
        "ExportFormat": export_format,
    }
    if destination.prefix:
        request["S3Prefix"] = destination.prefix
    if at is not None:
        request["ExportTime"] = at
    with translated_errors(target, info.name):
        try:
            response = client.export_table_to_point_in_time(**request)
        except ClientError as error:
            mapped = _mapped(error, target, info.name, unsupported)
            if mapped is not None:
                raise mapped from None
            raise
    return ExportInfo.from_description(response["ExportDescription"])


def wait_for_export(
    target: Target,
    arn: str,
    *,
    timeout_s: float = DEFAULT_WAIT_S,
    client: Any | None = None,
    poll_s: float | None = None,
) -> ExportInfo:
    """Poll export `arn` until COMPLETED; `ExportFailed` when FAILED, `WaitTimedOut` after
    `timeout_s`."""
    client = client or target.client()
    interval = _poll_interval(target) if poll_s is None else poll_s
    deadline = time.monotonic() + timeout_s
    while True:
        with translated_errors(target):
            try:
                description = client.describe_export(ExportArn=arn)["ExportDescription"]
            except ClientError as error:
                if error_code(error) == "UnknownOperationException":
                    raise NotSupportedHere(_export_unsupported(target, "TABLE")) from None
                raise
        export = ExportInfo.from_description(description)
        if export.status == "COMPLETED":
            return export
        if export.status == "FAILED":
            raise ExportFailed(f"export {arn} FAILED: {export.failure or 'no reason given'}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimedOut(
                f"export {arn} is still {export.status} after {timeout_s:.0f} s; it goes on "
                "at DynamoDB (aws dynamodb describe-export --export-arn ... shows it)"
            )
        time.sleep(min(interval, left))
