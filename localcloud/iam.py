"""IAM for function calls: each function's workers sign with credentials of their own, and
every DynamoDB request signed with them is authorized against the function's execution role.

`credentials_for` gives a function its access key (deterministic per function and role,
`ASIA…` like Lambda's temporary keys); the front door asks `Authorizer.check` before it
forwards a request. Requests with any other key are the account's administrator's and are
allowed, as with the tutorials' fake keys. The role's identity policies (inline, attached
managed policies, what CloudFormation created) are read from moto's IAM at each check, so
a deploy that changes them takes effect at once. Modes (`LOCALCLOUD_IAM`): `enforce` denies
as AWS would, `audit` allows and logs each would-be denial, `off` checks nothing. Every
decision is counted per function for `report()` (`make iam-report`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from localcloud import iam_policy

log = logging.getLogger("localcloud.iam")

ENFORCE = "enforce"
AUDIT = "audit"
OFF = "off"
MODES = (ENFORCE, AUDIT, OFF)
ACCESS_KEY_PREFIX = "ASIA"
# The service whose calls are checked (DynamoDB and its streams); others are not reported.
CHECKED_SERVICE = "dynamodb:"


class ModeError(ValueError):
    """`LOCALCLOUD_IAM` is not one of `MODES`."""


def check_mode(mode: str) -> str:
    """`mode` if it is one of `MODES`; else `ModeError` naming them."""
    if mode not in MODES:
        raise ModeError(f"LOCALCLOUD_IAM must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


@dataclass(frozen=True)
class Principal:
    """A function's role session, as AWS names it in a denial."""

    function_name: str
    function_arn: str
    role_arn: str
    account: str

    @property
    def session_arn(self) -> str:
        role_name = self.role_arn.rsplit("/", 1)[-1]
        return f"arn:aws:sts::{self.account}:assumed-role/{role_name}/{self.function_name}"


@dataclass(frozen=True)
class Credentials:
    """What a function's workers get as `AWS_ACCESS_KEY_ID`, `..._SECRET_...`, `..._TOKEN`."""

    access_key: str
    secret_key: str
    session_token: str


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\0".join(parts).encode()).digest()


@dataclass(frozen=True)
class Check:
    """One authorization request of one call, and what was decided."""

    action: str
    resource: str
    allowed: bool
    message: str = ""
    unsupported: tuple[str, ...] = ()


@dataclass
class _Usage:
    """Per function: each (action, resource) seen, with allowed and denied counts."""

    principal: Principal
    seen: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    unsupported: set[str] = field(default_factory=set)


class Authorizer:
    """The principals of the server's functions, their policies, and every decision."""

    def __init__(self, mode: str = ENFORCE) -> None:
        self.mode = check_mode(mode)
        self._principals: dict[str, Principal] = {}
        self._usage: dict[str, _Usage] = {}
        self._parsed: dict[tuple[str, str], iam_policy.Policy] = {}
        self._lock = threading.Lock()

    # -- credentials ---------------------------------------------------------------------
    def credentials_for(
        self, function_name: str, function_arn: str, role_arn: str, account: str
    ) -> Credentials:
        """The function's credentials (the same for the same function and role)."""
        digest = _digest(function_arn, role_arn)
        access_key = ACCESS_KEY_PREFIX + base64.b32encode(digest[:10]).decode()[:16]
        principal = Principal(function_name, function_arn, role_arn, account)
        with self._lock:
            self._principals[access_key] = principal
        return Credentials(
            access_key=access_key,
            secret_key=base64.b64encode(_digest("secret", access_key)).decode()[:40],
            session_token=base64.b64encode(_digest("token", access_key) * 4).decode(),
        )

    def principal(self, access_key: str) -> Principal | None:
        """The function whose credentials these are; None for anyone else."""
        if not access_key.startswith(ACCESS_KEY_PREFIX):
            return None
        with self._lock:
            return self._principals.get(access_key)

    # -- policies ------------------------------------------------------------------------
    def _parse(self, name: str, document: Any) -> iam_policy.Policy:
        text = document if isinstance(document, str) else json.dumps(document)
        key = (name, text)
        with self._lock:
            cached = self._parsed.get(key)
        if cached is None:
            cached = iam_policy.parse_policy(text, name)
            with self._lock:
                if len(self._parsed) > 1000:
                    self._parsed.clear()
                self._parsed[key] = cached
        return cached

    def policies(self, principal: Principal) -> list[iam_policy.Policy]:
        """The role's identity policies now (none if the role is gone)."""
        from moto.iam.models import iam_backends

        try:
            role = iam_backends[principal.account]["global"].get_role_by_arn(principal.role_arn)
        except Exception:  # noqa: BLE001 - moto raises its own IAMNotFoundException
            return []
        found = [self._parse(f"{role.name}/{name}", doc) for name, doc in role.policies.items()]
        for arn, managed in role.managed_policies.items():
            version = next((v for v in managed.versions if v.is_default), None)
            if version is not None:
                found.append(self._parse(arn, version.document))
        return found

    # -- decisions -----------------------------------------------------------------------
    def check(self, principal: Principal, requests: Sequence[iam_policy.Request]) -> list[Check]:
        """Evaluate each request; record it; return the checks (denials have a message)."""
        policies = self.policies(principal)
        checks = []
        for request in requests:
            decision = iam_policy.evaluate(policies, request)
            message = (
                ""
                if decision.allowed
                else iam_policy.denial_message(principal.session_arn, request, decision)
            )
            checks.append(
                Check(
                    request.action,
                    request.resource,
                    decision.allowed,
                    message,
                    tuple(decision.unsupported),
                )
            )
        self._record(principal, checks)
        return checks

    def _record(self, principal: Principal, checks: Iterable[Check]) -> None:
        with self._lock:
            usage = self._usage.setdefault(principal.function_arn, _Usage(principal))
            for check in checks:
                counts = usage.seen.setdefault((check.action, check.resource), [0, 0])
                counts[0 if check.allowed else 1] += 1
                usage.unsupported.update(check.unsupported)

    def note_unsupported(self, principal: Principal, what: str) -> None:
        """Something of the function's calls that is allowed unchecked, for the report."""
        with self._lock:
            self._usage.setdefault(principal.function_arn, _Usage(principal)).unsupported.add(what)

    def report(self) -> dict[str, Any]:
        """Per function: the actions it used (allowed/denied), and granted actions it never
        used, so a role can be narrowed."""
        with self._lock:
            usages = list(self._usage.values())
        functions: dict[str, Any] = {}
        for usage in usages:
            used = sorted(usage.seen.items())
            granted = {
                action
                for policy in self.policies(usage.principal)
                for action in iam_policy.allowed_actions(policy)
                if action.lower().startswith(CHECKED_SERVICE)
            }
            used_actions = {action for (action, _), _ in used}
            functions[usage.principal.function_name] = {
                "role": usage.principal.role_arn,
                "used": [
                    {"action": a, "resource": r, "allowed": n[0], "denied": n[1]}
                    for (a, r), n in used
                ],
                "denied": sorted({a for (a, _), n in used if n[1]}),
                "unused": sorted(
                    g
                    for g in granted
                    if not any(iam_policy.action_matches(g, a) for a in used_actions)
                ),
                "unsupported": sorted(usage.unsupported),
            }
        return {"mode": self.mode, "functions": functions}


_authorizer: Authorizer | None = None


def install(mode: str) -> Authorizer:
    """The server's authorizer (idempotent)."""
    global _authorizer
    if _authorizer is None:
        _authorizer = Authorizer(mode)
    return _authorizer


def authorizer() -> Authorizer | None:
    """The installed authorizer, if any (unit tests of other parts run without one)."""
    return _authorizer


def uninstall() -> None:
    global _authorizer
    _authorizer = None
