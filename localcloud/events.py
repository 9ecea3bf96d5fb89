"""EventBridge: scheduled rules fire, `PutEvents` reaches Lambda, SQS and SNS targets, and
EventBridge Scheduler schedules fire, as on AWS.

moto 5.2.5 keeps rules, targets and schedules (and CloudFormation's `AWS::Events::Rule` with
its `Targets`, and `AWS::Lambda::Permission` as a statement of the function's policy), but
never fires a schedule, and its `PutEvents` delivery (`Rule.send_to_targets`) delivers to
disabled rules and to schedule-only rules (an empty pattern matches everything), fails the
whole request with `NotImplementedError` for a Lambda or SNS target, ignores `Input` and
`InputPath`, and fills an `InputTransformer` template with unquoted strings. This module:

* parses schedule expressions as AWS does (`rate(1 minute)`, `rate(5 hours)`, the 6-field
  `cron(Minutes Hours Day-of-month Month Day-of-week Year)` with `*`, `?`, ranges, lists,
  steps, names, `L`, `W`, `#`; Scheduler's `at(...)` too) and refuses an invalid one at
  `PutRule` with AWS's error;
* runs one scheduler thread: every rule with a schedule on a default bus, in every account
  and region, and every Scheduler schedule, gets its next fire time from the clock (UTC; a
  Scheduler schedule's `ScheduleExpressionTimezone`). Rules and schedules are read from
  moto on each tick, so ones created, changed, disabled or deleted at any time (or restored
  from the state directory) are followed. A fire time is always after the moment the rule
  was first seen, so a restart never fires a past occurrence again. `rate()` periods are
  aligned to the epoch and divided by `Settings.schedule_speedup` (cron is not sped up);
* delivers an event to each target of a rule: Lambda asynchronously through our runner (if
  the function's resource policy lets `events.amazonaws.com` invoke it for this rule, as
  `lambda:AddPermission`/`AWS::Lambda::Permission` grant), SQS through moto's backend (FIFO
  with the target's `MessageGroupId` and the event id as deduplication id), SNS through
  moto's `Publish`; other target types moto knows (log groups, archives, buses, API
  destinations) are handed to moto's own delivery. The target's `Input`, `InputPath` or
  `InputTransformer` shapes what it receives.

Counters (rules scheduled, fired, delivered, failed deliveries, last error) are in the health
document (`events`).
"""

from __future__ import annotations

import calendar
import copy
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from moto.events.models import EventsBackend, Rule, events_backends
from moto.events.utils import EventMessageType

from localcloud import lambda_permissions, lambda_runner
from localcloud.patches import Patch, PatchSet
from localcloud.settings import Settings
from localcloud.state import RequestLock

log = logging.getLogger("localcloud.events")

TICK_S = 0.2
STOP_WAIT_S = 10.0
EVENTS_PRINCIPAL = "events.amazonaws.com"
ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


class ScheduleError(ValueError):
    """A schedule expression AWS would refuse; the message says why."""


# -- schedule expressions -----------------------------------------------------------------

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_AT = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
# AWS numbers the days of the week 1 (SUN) to 7 (SAT).
_DAYS = {name: n for n, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_YEARS = (1970, 2199)


@dataclass(frozen=True)
class Rate:
    """`rate(N unit)`: every `seconds`, aligned to the epoch."""

    seconds: int

    def next_after(self, moment: float, speedup: float = 1.0) -> float | None:
        """The first fire time strictly after `moment` (epoch seconds)."""
        period = self.seconds / speedup
        return (int(moment // period) + 1) * period


@dataclass(frozen=True)
class At:
    """Scheduler's one-time `at(yyyy-mm-ddThh:mm:ss)`, in its time zone."""

    when: datetime

    def next_after(self, moment: float, speedup: float = 1.0) -> float | None:
        """The fire time if it is after `moment`, else None."""
        fire = self.when.timestamp()
        return fire if fire > moment else None


@dataclass(frozen=True)
class _DayOfMonth:
    days: frozenset[int] = frozenset()
    last: bool = False
    # `nW`: the weekday nearest day n.
    nearest_weekday: int | None = None
    any: bool = False

    def matches(self, year: int, month: int, day: int) -> bool:
        length = calendar.monthrange(year, month)[1]
        if self.any:
            return True
        if self.last:
            return day == length
        if self.nearest_weekday is not None:
            return day == _nearest_weekday(year, month, min(self.nearest_weekday, length))
        return day in self.days


@dataclass(frozen=True)
class _DayOfWeek:
    days: frozenset[int] = frozenset()
    # `nL`: the last such day of the month; `n#k`: the k-th.
    last_of: int | None = None
    nth: tuple[int, int] | None = None
    any: bool = False

    def matches(self, year: int, month: int, day: int) -> bool:
        if self.any:
            return True
        weekday = _aws_weekday(year, month, day)
        if self.last_of is not None:
            return weekday == self.last_of and day + 7 > calendar.monthrange(year, month)[1]
        if self.nth is not None:
            wanted, k = self.nth
            return weekday == wanted and (day - 1) // 7 + 1 == k
        return weekday in self.days


def _aws_weekday(year: int, month: int, day: int) -> int:
    """1 (Sunday) to 7 (Saturday)."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, day: int) -> int:
    """The weekday (Mon-Fri) nearest `day`, in the same month (as `W` means)."""
    weekday = calendar.weekday(year, month, day)  # 0 Monday .. 6 Sunday
    length = calendar.monthrange(year, month)[1]
    if weekday == 5:  # Saturday: Friday before, or Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: Monday after, or Friday before on the last day
        return day + 1 if day < length else day - 2
    return day


@dataclass(frozen=True)
class Cron:
    """AWS's `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, in `zone` (UTC)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: _DayOfMonth
    months: frozenset[int]
    day_of_week: _DayOfWeek
    years: frozenset[int]
    zone: str = "UTC"

    def next_after(self, moment: float, speedup: float = 1.0) -> float | None:
        """The first fire time strictly after `moment`; None when the years run out."""
        tz = UTC if self.zone == "UTC" else ZoneInfo(self.zone)
        start = datetime.fromtimestamp(moment, tz).replace(tzinfo=None)
        found = self.next_local(start)
        if found is None:
            return None
        return found.replace(tzinfo=tz).timestamp()

    def next_local(self, after: datetime) -> datetime | None:
        """The first matching minute strictly after `after` (naive wall-clock time)."""
        t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        last_year = max(self.years)
        while t.year <= last_year:
            if t.year not in self.years:
                t = datetime(t.year + 1, 1, 1)
            elif t.month not in self.months:
                t = (
                    datetime(t.year + 1, 1, 1)
                    if t.month == 12
                    else datetime(t.year, t.month + 1, 1)
                )
            elif not (
                self.day_of_month.matches(t.year, t.month, t.day)
                and self.day_of_week.matches(t.year, t.month, t.day)
            ):
                t = datetime(t.year, t.month, t.day) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        return None


Schedule = Rate | Cron | At


def parse_schedule(expression: str, zone: str = "UTC", *, allow_at: bool = False) -> Schedule:
    """The schedule of a `rate()`, `cron()` (or, for Scheduler, `at()`) expression;
    `ScheduleError` saying what is wrong, for what AWS refuses."""
    text = expression.strip()
    if text.startswith("rate("):
        return _parse_rate(text)
    if text.startswith("cron("):
        found = _CRON.match(text)
        if found is None:
            raise ScheduleError(f"{expression!r}: a cron expression ends with ')'")
        return _parse_cron(found.group(1), zone)
    if allow_at and text.startswith("at("):
        found = _AT.match(text)
        if found is None:
            raise ScheduleError(f"{expression!r}: an at expression is at(yyyy-mm-ddThh:mm:ss)")
        try:
            year, month, day, hour, minute, second = (int(part) for part in found.groups())
            naive = datetime(year, month, day, hour, minute, second)
        except ValueError as error:
            raise ScheduleError(f"{expression!r}: {error}") from None
        return At(naive.replace(tzinfo=_zone(zone)))
    kinds = "rate(), cron() or at()" if allow_at else "rate() or cron()"
    raise ScheduleError(f"{expression!r}: a schedule expression is {kinds}")


def _zone(name: str) -> Any:
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name!r}") from None


def _parse_rate(text: str) -> Rate:
    found = _RATE.match(text)
    if found is None:
        raise ScheduleError(
            f"{text!r}: a rate expression is rate(<value> <unit>), value a whole number "
            "above 0, unit minute(s), hour(s) or day(s)"
        )
    value, unit = int(found.group(1)), found.group(2)
    if value < 1:
        raise ScheduleError(f"{text!r}: the value must be above 0")
    if (value == 1) != (not unit.endswith("s")):
        raise ScheduleError(f"{text!r}: the unit is singular for 1 and plural otherwise")
    return Rate(value * _UNIT_S[unit.rstrip("s")])


def _parse_cron(body: str, zone: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleError(
            f"cron({body}): 6 fields are needed (minutes hours day-of-month month "
            f"day-of-week year), got {len(fields)}"
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(
            f"cron({body}): exactly one of day-of-month and day-of-week must be '?'"
        )
    _zone(zone)
    return Cron(
        minutes=_values(minutes, 0, 59, "minutes"),
        hours=_values(hours, 0, 23, "hours"),
        day_of_month=_day_of_month(dom),
        months=_values(month, 1, 12, "month", _MONTHS),
        day_of_week=_day_of_week(dow),
        years=_values(year, *_YEARS, "year"),
        zone=zone,
    )


def _number(text: str, low: int, high: int, what: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleError(f"{what}: {text!r} is not a value")
    value = int(text)
    if not low <= value <= high:
        raise ScheduleError(f"{what}: {value} is outside {low}-{high}")
    return value


def _values(
    text: str, low: int, high: int, what: str, names: dict[str, int] | None = None
) -> frozenset[int]:
    """The values of one field: `*`, `a`, `a-b`, `a,b`, `*/n`, `a/n`, `a-b/n`."""
    found: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = _number(step_text, 1, high, what, None) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            start, _, end = span.partition("-")
            first = _number(start, low, high, what, names)
            last = _number(end, low, high, what, names)
            if first > last:
                raise ScheduleError(f"{what}: the range {span!r} runs backwards")
        else:
            first = _number(span, low, high, what, names)
            last = high if step_text else first
        found.update(range(first, last + 1, step))
    return frozenset(found)


def _day_of_month(text: str) -> _DayOfMonth:
    if text == "?":
        return _DayOfMonth(any=True)
    if text == "L":
        return _DayOfMonth(last=True)
    if text.endswith("W"):
        return _DayOfMonth(nearest_weekday=_number(text[:-1], 1, 31, "day-of-month", None))
    if "L" in text or "W" in text:
        raise ScheduleError(f"day-of-month: {text!r} (use L, or nW alone)")
    return _DayOfMonth(days=_values(text, 1, 31, "day-of-month"))


def _day_of_week(text: str) -> _DayOfWeek:
    if text == "?":
        return _DayOfWeek(any=True)
    if text == "L":
        return _DayOfWeek(days=frozenset({7}))
    if text.endswith("L"):
        return _DayOfWeek(last_of=_number(text[:-1], 1, 7, "day-of-week", _DAYS))
    if "#" in text:
        day, _, k = text.partition("#")
        return _DayOfWeek(
            nth=(_number(day, 1, 7, "day-of-week", _DAYS), _number(k, 1, 5, "day-of-week", None))
        )
    return _DayOfWeek(days=_values(text, 1, 7, "day-of-week", _DAYS))


# -- what a target receives ---------------------------------------------------------------

_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']+)'\]")
_PLACEHOLDER = re.compile(r"<([^<>\s]+)>")
_MISSING = object()


def json_path(event: Any, path: str) -> Any:
    """The value at a JSONPath of EventBridge's subset (`$`, `$.a.b-c`, `$.a[0]`);
    `_MISSING` when there is none."""
    if not path.startswith("$"):
        raise ValueError(f"{path!r} is not a JSON path")
    rest = path[1:]
    value = event
    while rest:
        step = _PATH_STEP.match(rest)
        if step is None:
            raise ValueError(f"{path!r} is not a JSON path EventBridge supports")
        name, index, quoted = step.groups()
        rest = rest[step.end() :]
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
        else:
            key = name if name is not None else quoted
            if not isinstance(value, dict) or key not in value:
                return _MISSING
            value = value[key]
    return value


def fill_template(template: str, values: dict[str, Any]) -> str:
    """An `InputTemplate` with its placeholders filled as EventBridge does: inside a JSON
    string a value goes in as text (escaped), outside as JSON; a missing value is empty
    inside a string and `null` outside; unknown names stay as they are."""
    pieces: list[str] = []
    in_string = False
    index = 0
    while index < len(template):
        char = template[index]
        if char == '"' and (index == 0 or template[index - 1] != "\\"):
            in_string = not in_string
        elif char == "<":
            found = _PLACEHOLDER.match(template, index)
            if found is not None and found.group(1) in values:
                value = values[found.group(1)]
                if value is _MISSING:
                    pieces.append("" if in_string else "null")
                elif in_string:
                    text = value if isinstance(value, str) else json.dumps(value)
                    pieces.append(json.dumps(text)[1:-1])
                else:
                    pieces.append(json.dumps(value))
                index = found.end()
                continue
        pieces.append(char)
        index += 1
    return "".join(pieces)


def target_input(
    target: dict[str, Any], event: dict[str, Any], rule_arn: str, rule_name: str
) -> str:
    """The text the target receives: its `Input`, the part of the event its `InputPath`
    selects, its `InputTransformer`'s filled template, else the event."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        selected = json_path(event, str(target["InputPath"]))
        return json.dumps(None if selected is _MISSING else selected)
    transformer = target.get("InputTransformer")
    if transformer:
        values: dict[str, Any] = {
            name: json_path(event, str(path))
            for name, path in (transformer.get("InputPathsMap") or {}).items()
        }
        without_detail = {k: v for k, v in event.items() if k != "detail"}
        values |= {
            "aws.events.rule-arn": rule_arn,
            "aws.events.rule-name": rule_name,
            "aws.events.event.ingestion-time": event.get("time"),
        }
        template = str(transformer.get("InputTemplate") or "")
        filled = fill_template(template, values)
        # The whole event goes in unescaped, as JSON (AWS: only as a JSON field's value).
        filled = filled.replace("<aws.events.event.json>", json.dumps(event))
        return filled.replace("<aws.events.event>", json.dumps(without_detail))
    return json.dumps(event)


# -- delivery ------------------------------------------------------------------------------


class DeliveryError(RuntimeError):
    """A target could not be given an event (missing, not permitted, not supported)."""


@dataclass
class Counters:
    """What the EventBridge part did since the server started."""

    rules_scheduled: int = 0
    schedules_scheduled: int = 0
    fired: int = 0
    events_matched: int = 0
    delivered: int = 0
    failed_deliveries: int = 0
    last_error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str, by: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + by)

    def failed(self, message: str) -> None:
        log.warning("EventBridge delivery failed: %s", message)
        with self.lock:
            self.failed_deliveries += 1
            self.last_error = message


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    """service, region, account, resource of an ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        raise DeliveryError(f"{arn!r} is not an ARN")
    return parts[2], parts[3], parts[4], parts[5]


def lambda_permits(
    statements: list[dict[str, Any]], function_arn: str, source_arn: str, account: str
) -> bool:
    """Whether a function's resource policy lets EventBridge invoke it for `source_arn`."""
    return lambda_permissions.permits(
        statements, EVENTS_PRINCIPAL, function_arn, source_arn, account
    )


class Deliverer:
    """Gives events to targets: Lambda, SQS, SNS here; the rest to moto."""

    def __init__(self, iam_mode: str, requests: RequestLock | None, counters: Counters) -> None:
        self.iam_mode = iam_mode
        self.requests = requests
        self.counters = counters

    def _locked(self) -> Any:
        # Changes to moto's state (a message queued) are seen whole by a state capture.
        import contextlib

        return self.requests.shared() if self.requests is not None else contextlib.nullcontext()

    def deliver(self, target: dict[str, Any], payload: str, source_arn: str, event_id: str) -> None:
        """Give `payload` to one target; `DeliveryError` when it cannot be."""
        arn = str(target.get("Arn", ""))
        service, region, account, resource = _arn_parts(arn)
        if service == "lambda":
            self._to_lambda(arn, region, account, payload, source_arn)
        elif service == "sqs":
            self._to_sqs(target, region, account, resource, payload, event_id)
        elif service == "sns":
            self._to_sns(arn, region, account, payload)
        else:
            raise DeliveryError(f"targets of type {service} are not run by the local cloud")

    def _to_lambda(self, arn: str, region: str, account: str, payload: str, source: str) -> None:
        from moto.awslambda.exceptions import LambdaClientError
        from moto.awslambda.models import lambda_backends

        try:
            fn = lambda_backends[account][region].get_function(arn)
        except LambdaClientError as error:
            raise DeliveryError(f"{arn}: {error.message}") from None
        if self.iam_mode != "off":
            allowed = lambda_permits(fn.policy.statements, arn, source, account)
            if not allowed:
                message = (
                    f"{arn}: its resource policy does not let {EVENTS_PRINCIPAL} invoke it for "
                    f"{source} (add a lambda:InvokeFunction permission, as CDK's targets do)"
                )
                if self.iam_mode == "enforce":
                    raise DeliveryError(message)
                log.warning("IAM audit (allowed): %s", message)
        try:
            event: Any = json.loads(payload)
        except ValueError:
            event = payload
        lambda_runner.runner().invoke_async(fn, event)

    def _to_sqs(
        self,
        target: dict[str, Any],
        region: str,
        account: str,
        queue: str,
        body: str,
        event_id: str,
    ) -> None:
        from moto.sqs.exceptions import QueueDoesNotExist
        from moto.sqs.models import sqs_backends

        group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
        try:
            with self._locked():
                sqs_backends[account][region].send_message(
                    queue_name=queue,
                    message_body=body,
                    group_id=group_id,
                    deduplication_id=event_id if queue.endswith(".fifo") else None,
                )
        except QueueDoesNotExist:
            raise DeliveryError(f"the queue {queue} does not exist") from None

    def _to_sns(self, arn: str, region: str, account: str, message: str) -> None:
        from moto.sns.exceptions import SNSNotFoundError, TopicNotFound
        from moto.sns.models import sns_backends

        try:
            with self._locked():
                sns_backends[account][region].publish(message=message, arn=arn)
        except (TopicNotFound, SNSNotFoundError):
            raise DeliveryError(f"the topic {arn} does not exist") from None


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime(ISO_SECONDS)


def _as_delivered(event: EventMessageType | dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it over: ISO `time`, no moto bookkeeping."""
    delivered = {k: copy.deepcopy(v) for k, v in event.items() if k != "ingestion-time"}
    moment = delivered.get("time")
    if isinstance(moment, int | float):
        delivered["time"] = _iso(float(moment))
    return delivered


def deliver_to_rule(
    rule: Rule,
    event: EventMessageType | dict[str, Any],
    deliverer: Deliverer,
    moto_delivery: Callable[[Rule, Any, bool], None] | None = None,
    transform_input: bool = True,
) -> None:
    """Give `event` to each target of `rule`; a failed target is counted, the rest go on."""
    delivered = _as_delivered(event)
    others: list[dict[str, Any]] = []
    for target in list(rule.targets):
        service = str(target.get("Arn", "")).split(":")[2:3]
        if service and service[0] not in ("lambda", "sqs", "sns"):
            others.append(target)
            continue
        try:
            payload = (
                target_input(target, delivered, rule.arn, rule.name)
                if transform_input
                else json.dumps(delivered)
            )
            deliverer.deliver(target, payload, rule.arn, str(delivered.get("id", "")))
        except (DeliveryError, ValueError) as error:
            deliverer.counters.failed(f"rule {rule.arn}, target {target.get('Id')}: {error}")
            continue
        deliverer.counters.count("delivered")
    if others and moto_delivery is not None:
        # moto's own delivery for what it runs (log groups, archives, buses, API destinations).
        stand_in = copy.copy(rule)
        stand_in.targets = others
        try:
            moto_delivery(stand_in, event, transform_input)
        except (NotImplementedError, KeyError, ValueError) as error:
            deliverer.counters.failed(f"rule {rule.arn}: {error!r}")
            return
        deliverer.counters.count("delivered", len(others))


# -- moto's seams -------------------------------------------------------------------------

_original_send = Rule.send_to_targets
_original_put_rule = EventsBackend.put_rule


def _send_to_targets(
    self: Rule, original_event: EventMessageType, transform_input: bool = True
) -> None:
    """moto's `PutEvents` delivery to one rule, as EventBridge does it."""
    if _part is None:
        _original_send(self, original_event, transform_input)
        return
    if self.state != "ENABLED" or not self.event_pattern.get_pattern():
        return  # a disabled rule, or a schedule-only rule: events never match it
    if not self.event_pattern.matches_event(original_event):
        return
    _part.counters.count("events_matched")
    deliver_to_rule(self, original_event, _part.deliverer, _original_send, transform_input)


def _put_rule(self: EventsBackend, name: str, *args: Any, **kwargs: Any) -> Rule:
    """moto's `PutRule`, refusing a schedule expression EventBridge refuses."""
    from moto.events.exceptions import ValidationException

    expression = kwargs.get("scheduled_expression")
    if expression:
        try:
            parse_schedule(str(expression))
        except ScheduleError as error:
            raise ValidationException(
                f"Parameter ScheduleExpression is not valid. Reason: {error}"
            ) from None
    return _original_put_rule(self, name, *args, **kwargs)


PATCHES = PatchSet(
    "events",
    [
        Patch("events.put_events_delivery", Rule, "send_to_targets", _send_to_targets),
        Patch("events.put_rule_schedule_validation", EventsBackend, "put_rule", _put_rule),
    ],
)


# -- the scheduler ------------------------------------------------------------------------


@dataclass
class _Entry:
    expression: str
    zone: str
    schedule: Schedule
    next_fire: float | None


@dataclass(frozen=True)
class _Due:
    """One rule or schedule seen on a tick."""

    key: str
    kind: str  # "rule" or "schedule"
    expression: str
    zone: str
    owner: Any
    account: str
    region: str


def _scheduled_rules() -> Iterator[_Due]:
    for account, regions in list(events_backends.items()):
        for region, backend in list(regions.items()):
            bus = backend.event_buses.get("default")
            if bus is None:
                continue
            for rule in list(bus.rules.values()):
                if rule.scheduled_expression and rule.state == "ENABLED":
                    yield _Due(
                        rule.arn, "rule", rule.scheduled_expression, "UTC", rule, account, region
                    )


def _scheduler_schedules() -> Iterator[_Due]:
    from moto.scheduler.models import scheduler_backends

    for account, regions in list(scheduler_backends.items()):
        for region, backend in list(regions.items()):
            for group in list(backend.schedule_groups.values()):
                for schedule in list(group.schedules.values()):
                    if schedule.state == "ENABLED":
                        yield _Due(
                            schedule.arn,
                            "schedule",
                            schedule.schedule_expression,
                            schedule.schedule_expression_timezone or "UTC",
                            schedule,
                            account,
                            region,
                        )


def _moment(value: Any) -> float | None:
    """A Scheduler StartDate/EndDate (epoch seconds or ISO 8601) as epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except ValueError:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


class EventScheduler:
    """One thread: fires every scheduled rule and Scheduler schedule when its time comes."""

    def __init__(
        self, speedup: float, deliverer: Deliverer, clock: Callable[[], float] = time.time
    ) -> None:
        self.speedup = speedup
        self.deliverer = deliverer
        self.counters = deliverer.counters
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name="localcloud-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (a delivery in progress ends first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_S)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                self.tick(self.clock())
            except Exception as error:  # noqa: BLE001 - the scheduler must outlive one bad tick
                log.exception("EventBridge scheduler tick failed")
                with self.counters.lock:
                    self.counters.last_error = repr(error)

    def _seen(self) -> list[_Due]:
        try:
            return [*_scheduled_rules(), *_scheduler_schedules()]
        except RuntimeError:  # a dict changed size under a concurrent request: next tick
            return []

    def tick(self, now: float) -> int:
        """Follow the rules and schedules as they are now; fire those due; how many fired."""
        seen = self._seen()
        if not seen and not self._entries:
            return 0
        current: dict[str, _Due] = {due.key: due for due in seen}
        for key in list(self._entries):
            if key not in current:
                del self._entries[key]  # deleted or disabled: starts afresh if it comes back
        fired = 0
        for key, due in current.items():
            entry = self._entries.get(key)
            if entry is None or (entry.expression, entry.zone) != (due.expression, due.zone):
                entry = self._new_entry(due, now)
                if entry is None:
                    continue
                self._entries[key] = entry
            if entry.next_fire is not None and entry.next_fire <= now:
                fire_time = entry.next_fire
                # Missed occurrences (the machine slept) are not caught up, as on AWS.
                entry.next_fire = entry.schedule.next_after(max(fire_time, now), self.speedup)
                if self._fire(due, fire_time):
                    fired += 1
        with self.counters.lock:
            self.counters.rules_scheduled = sum(1 for d in current.values() if d.kind == "rule")
            self.counters.schedules_scheduled = len(current) - self.counters.rules_scheduled
        return fired

    def _new_entry(self, due: _Due, now: float) -> _Entry | None:
        try:
            schedule = parse_schedule(due.expression, due.zone, allow_at=due.kind == "schedule")
        except ScheduleError as error:
            key = f"invalid:{due.key}:{due.expression}"
            if key not in self._entries:  # said once per expression
                self.counters.failed(f"{due.key}: {error}")
                self._entries[key] = _Entry(due.expression, due.zone, Rate(86400), None)
            return None
        return _Entry(due.expression, due.zone, schedule, schedule.next_after(now, self.speedup))

    def _fire(self, due: _Due, fire_time: float) -> bool:
        if due.kind == "rule":
            self.counters.count("fired")
            deliver_to_rule(due.owner, self.scheduled_event(due, fire_time), self.deliverer)
            return True
        return self._fire_schedule(due, fire_time)

    @staticmethod
    def scheduled_event(due: _Due, fire_time: float) -> dict[str, Any]:
        """The event of a scheduled rule, in EventBridge's shape."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": due.account,
            "time": _iso(fire_time),
            "region": due.region,
            "resources": [due.key],
            "detail": {},
        }

    def _fire_schedule(self, due: _Due, fire_time: float) -> bool:
        schedule = due.owner
        start, end = _moment(schedule.start_date), _moment(schedule.end_date)
        if (start is not None and fire_time < start) or (end is not None and fire_time > end):
            return False
        self.counters.count("fired")
        target = dict(schedule.target)
        # Scheduler sends the target's Input as it is (an empty object when there is none).
        payload = str(target.get("Input") or "{}")
        try:
            self.deliverer.deliver(target, payload, schedule.arn, str(uuid.uuid4()))
        except DeliveryError as error:
            self.counters.failed(f"schedule {schedule.arn}: {error}")
        else:
            self.counters.count("delivered")
        if isinstance(parse_schedule(due.expression, due.zone, allow_at=True), At):
            self._complete(due)
        return True

    def _complete(self, due: _Due) -> None:
        """A one-time schedule has run: deleted with `ActionAfterCompletion: DELETE`."""
        schedule = due.owner
        if schedule.action_after_completion != "DELETE":
            return
        from moto.scheduler.models import scheduler_backends

        backend = scheduler_backends[due.account][due.region]
        with self.deliverer._locked():
            group = backend.schedule_groups.get(schedule.group_name)
            if group is not None:
                group.schedules.pop(schedule.name, None)

    def counters_json(self) -> dict[str, Any]:
        """The health document's `events`."""
        c = self.counters
        with c.lock:
            return {
                "speedup": self.speedup,
                "rules_scheduled": c.rules_scheduled,
                "schedules_scheduled": c.schedules_scheduled,
                "fired": c.fired,
                "events_matched": c.events_matched,
                "delivered": c.delivered,
                "failed_deliveries": c.failed_deliveries,
                "last_error": c.last_error,
            }


@dataclass
class _Part:
    counters: Counters
    deliverer: Deliverer
    scheduler: EventScheduler


_part: _Part | None = None


def install(settings: Settings, requests: RequestLock | None = None) -> EventScheduler:
    """Install the `PutEvents` delivery and `PutRule` check; start the scheduler (idempotent)."""
    global _part
    if _part is None:
        counters = Counters()
        deliverer = Deliverer(settings.iam_mode, requests, counters)
        scheduler = EventScheduler(settings.schedule_speedup, deliverer)
        _part = _Part(counters, deliverer, scheduler)
        PATCHES.install()
        scheduler.start()
    return _part.scheduler


def scheduler() -> EventScheduler:
    """The installed scheduler; `RuntimeError` before `install()`."""
    if _part is None:
        raise RuntimeError("the EventBridge scheduler is not installed")
    return _part.scheduler


def uninstall() -> None:
    """Stop the scheduler and restore moto's delivery."""
    global _part
    if _part is not None:
        part, _part = _part, None
        part.scheduler.stop()
        PATCHES.uninstall()
