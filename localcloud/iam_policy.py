"""AWS IAM identity-policy evaluation: policy documents and a request in, a decision out.

One principal's identity-based policies, as AWS evaluates them when no resource policy, SCP,
permissions boundary or session policy applies: an explicit `Deny` in any matching statement
wins; otherwise any matching `Allow` allows; otherwise the request is implicitly denied. A
statement matches when its `Action` (or `NotAction`), its `Resource` (or `NotResource`) and
every entry of its `Condition` match the request.

- Actions: `service:Name` with `*` and `?`, case-insensitive. Resources: ARNs with `*` and
  `?` that stay within one of the first five colon-separated segments (a `*` ending the
  pattern runs on), and match anything, `/` and `:` included, in the resource part.
- Conditions: `String(Not)Equals`, `String(Not)EqualsIgnoreCase`, `String(Not)Like`,
  `Arn(Not)Equals`, `Arn(Not)Like` (the same, as on AWS), `Numeric(Not)Equals`,
  `NumericLessThan(Equals)`, `NumericGreaterThan(Equals)`, `Bool`, each with `IfExists` and
  `ForAllValues:`/`ForAnyValue:`, and `Null`. Operators AND, keys AND, values OR (NOR for the
  negated operators). Key names are case-insensitive, values case-sensitive. A missing key:
  false, but true for `...IfExists`, for `ForAllValues:` and for a negated operator without a
  set operator (`ForAnyValue:` stays false); a key with several values needs a set operator
  (without one the condition is false); a key with no values is missing.
- Policy variables (`${aws:username}`, `${key, 'default'}`, `${*}`, `${?}`, `${$}`) in
  `Resource`/`NotResource` and in String and ARN condition values, in Version 2012-10-17 only.

What the evaluator cannot evaluate (another operator, such as the Date, IP address and Binary
ones; a condition key or variable that the caller does not fill, see `Request.filled_keys`;
an unresolvable variable) makes its statement not apply: an `Allow` allows nothing, a `Deny`
denies nothing. Each is listed in `Decision.unsupported` rather than passed silently.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import unquote

VERSIONS = ("2012-10-17", "2008-10-17")
_VARIABLES_VERSION = "2012-10-17"  # older documents keep `${...}` as literal text
_DEFAULT_VERSION = "2008-10-17"  # what AWS assumes for a document without Version
_POLICY_ELEMENTS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction"}
    | {"Resource", "NotResource", "Condition"}
)
_ARN_SEGMENTS_BEFORE_RESOURCE = 5  # arn:partition:service:region:account:resource
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_VARIABLE_BODY = re.compile(r"\s*([^\s,']+)\s*(?:,\s*'([^']*)'\s*)?")
_SPECIAL_VARIABLES = frozenset({"*", "?", "$"})
_OPERATOR = re.compile(r"(?:(ForAllValues|ForAnyValue):)?(\w+?)(IfExists)?", re.IGNORECASE)
# operator name in lower case -> (the positive test it applies, negated)
_OPERATORS = {
    "stringequals": ("StringEquals", False),
    "stringnotequals": ("StringEquals", True),
    "stringequalsignorecase": ("StringEqualsIgnoreCase", False),
    "stringnotequalsignorecase": ("StringEqualsIgnoreCase", True),
    "stringlike": ("StringLike", False),
    "stringnotlike": ("StringLike", True),
    "arnequals": ("ArnLike", False),
    "arnlike": ("ArnLike", False),
    "arnnotequals": ("ArnLike", True),
    "arnnotlike": ("ArnLike", True),
    "numericequals": ("NumericEquals", False),
    "numericnotequals": ("NumericEquals", True),
    "numericlessthan": ("NumericLessThan", False),
    "numericlessthanequals": ("NumericLessThanEquals", False),
    "numericgreaterthan": ("NumericGreaterThan", False),
    "numericgreaterthanequals": ("NumericGreaterThanEquals", False),
    "bool": ("Bool", False),
}
_NUMERIC_TESTS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "NumericEquals": operator.eq,
    "NumericLessThan": operator.lt,
    "NumericLessThanEquals": operator.le,
    "NumericGreaterThan": operator.gt,
    "NumericGreaterThanEquals": operator.ge,
}
_VARIABLE_TESTS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnLike"})

# A policy string with its variables resolved: (text, literal) pieces, where only the
# policy's own text (literal False) has wildcards.
_Pieces = tuple[tuple[str, bool], ...]


class PolicyError(ValueError):
    """A malformed policy document; the message says what is wrong and where."""


@dataclass(frozen=True)
class Condition:
    """One key of one operator of a statement's `Condition`, values as strings."""

    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """One statement; `label` is its Sid, or its 0-based index when it has none."""

    label: str
    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Policy:
    """One identity policy: its name (an inline name or a managed policy's ARN), statements."""

    name: str
    statements: tuple[Statement, ...]
    version: str = _VARIABLES_VERSION


@dataclass(frozen=True)
class Request:
    """What is asked: the action, the resource ARN (or `*`) and the condition keys' values.

    `filled_keys` names the condition keys the caller fills whenever the request has them:
    a condition on another key that `context` lacks cannot be evaluated and is reported.
    None: `context` is complete, a key it lacks is absent from the request.
    """

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    filled_keys: Collection[str] | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome; `matched` names the deciding statements as `policy-name#label`."""

    allowed: bool
    explicit_deny: bool
    matched: tuple[str, ...]
    unsupported: tuple[str, ...]


def parse_policy(document: str | Mapping[str, Any], name: str) -> Policy:
    """A policy from its JSON document (a string, URL-encoded or not, or parsed).

    Raises `PolicyError` for what IAM would refuse in an identity policy: another Version,
    no Statement, an unknown element, a Principal, a missing or doubled Action/NotAction or
    Resource/NotResource, an action or condition key without a service prefix, a malformed
    Condition, a Numeric operator with a value that is not a number.
    """
    data = _load(document, name) if isinstance(document, str) else document
    where = f"policy {name}"
    if not isinstance(data, Mapping):
        raise PolicyError(f"{where}: the document must be a JSON object")
    _refuse_unknown(data, _POLICY_ELEMENTS, where)
    version = data.get("Version", _DEFAULT_VERSION)
    if version not in VERSIONS:
        raise PolicyError(f"{where}: Version must be one of {', '.join(VERSIONS)}, not {version!r}")
    if not isinstance(data.get("Id", ""), str):
        raise PolicyError(f"{where}: Id must be a string")
    if "Statement" not in data:
        raise PolicyError(f"{where}: the document has no Statement")
    entries = data["Statement"]
    if isinstance(entries, Mapping):
        entries = [entries]
    if not isinstance(entries, list):
        raise PolicyError(f"{where}: Statement must be an object or a list of objects")
    statements = tuple(
        _statement(entry, index, f"{where}, Statement[{index}]")
        for index, entry in enumerate(entries)
    )
    return Policy(name, statements, version)


def evaluate(policies: Sequence[Policy], request: Request) -> Decision:
    """AWS's decision for a principal holding `policies` (see the module's docstring).

    A statement holding something the evaluator cannot evaluate (an unknown operator, an
    unfilled key, a variable without a value) does not apply: an Allow does not allow, a Deny
    does not deny; `Decision.unsupported` names each such thing.
    """
    evaluation = _Evaluation(request)
    allows: list[str] = []
    denies: list[str] = []
    for policy in policies:
        for statement in policy.statements:
            if evaluation.applies(policy, statement):
                matches = allows if statement.effect == "Allow" else denies
                matches.append(f"{policy.name}#{statement.label}")
    return Decision(
        allowed=bool(allows) and not denies,
        explicit_deny=bool(denies),
        matched=tuple(denies or allows),
        unsupported=tuple(evaluation.unsupported),
    )


def denial_message(principal_arn: str, request: Request, decision: Decision) -> str:
    """The `AccessDenied` message AWS gives for a refused request.

    For an explicit deny by a managed policy AWS now ends the message with that policy's ARN;
    an inline policy has none.
    """
    if decision.allowed:
        raise ValueError("the decision allows the request: there is nothing to deny")
    refused = (
        f"User: {principal_arn} is not authorized to perform: {request.action}"
        f" on resource: {request.resource}"
    )
    if not decision.explicit_deny:
        return f"{refused} because no identity-based policy allows the {request.action} action"
    denying_policy = decision.matched[0].partition("#")[0]  # policy names hold no '#'
    named = f": {denying_policy}" if denying_policy.startswith("arn:") else ""
    return f"{refused} with an explicit deny in an identity-based policy{named}"


def action_matches(pattern: str, action: str) -> bool:
    """Whether an `Action` pattern (`service:Name`, `*` and `?`, any case) names `action`."""
    return (
        _wildcards(((pattern, False),), arn=False, ignore_case=True).fullmatch(action) is not None
    )


def allowed_actions(policy: Policy) -> tuple[str, ...]:
    """The action patterns the policy's Allow statements name (a NotAction grant names none)."""
    return tuple(
        dict.fromkeys(
            action
            for statement in policy.statements
            if statement.effect == "Allow" and not statement.not_action
            for action in statement.actions
        )
    )


def _load(text: str, name: str) -> Any:
    document = text.strip()
    if document.startswith("%"):  # as IAM (and moto) hand documents out: URL-encoded
        document = unquote(document)
    try:
        return json.loads(document)
    except ValueError as error:
        raise PolicyError(f"policy {name}: the document is not JSON: {error}") from error


def _refuse_unknown(element: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(str(key) for key in element if key not in known)
    if unknown:
        raise PolicyError(f"{where}: unknown element {', '.join(unknown)}")


def _statement(entry: Any, index: int, where: str) -> Statement:
    if not isinstance(entry, Mapping):
        raise PolicyError(f"{where}: a statement must be a JSON object")
    sid = entry.get("Sid", "")
    if not isinstance(sid, str):
        raise PolicyError(f"{where}: Sid must be a string")
    if sid:
        where = f"{where} (Sid {sid})"
    _refuse_unknown(entry, _STATEMENT_ELEMENTS, where)
    if "Principal" in entry or "NotPrincipal" in entry:
        raise PolicyError(
            f"{where}: an identity-based policy names no Principal (it applies to its holder)"
        )
    effect = entry.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f'{where}: Effect must be "Allow" or "Deny", not {effect!r}')
    actions, not_action = _patterns(entry, "Action", where)
    for action in actions:
        if action != "*" and ":" not in action:
            raise PolicyError(
                f"{where}: action {action!r} must be prefaced by a service, as in dynamodb:Query"
            )
    resources, not_resource = _patterns(entry, "Resource", where)
    return Statement(
        label=sid or str(index),
        effect=effect,
        actions=actions,
        not_action=not_action,
        resources=resources,
        not_resource=not_resource,
        conditions=_conditions(entry.get("Condition", {}), where),
    )


def _patterns(entry: Mapping[str, Any], element: str, where: str) -> tuple[tuple[str, ...], bool]:
    """The strings of `element` or of `Not<element>` (exactly one of them), and which."""
    present = [name for name in (element, f"Not{element}") if name in entry]
    if len(present) != 1:
        raise PolicyError(f"{where}: a statement needs exactly one of {element}, Not{element}")
    value = entry[present[0]]
    patterns = [value] if isinstance(value, str) else value
    if not (
        isinstance(patterns, list)
        and patterns
        and all(isinstance(pattern, str) and pattern for pattern in patterns)
    ):
        raise PolicyError(f"{where}: {present[0]} must be a string or a list of strings")
    return tuple(patterns), present[0] != element


def _conditions(block: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(block, Mapping):
        raise PolicyError(f"{where}: Condition must be a JSON object")
    conditions = []
    for operator_name, keys in block.items():
        if not isinstance(keys, Mapping) or not keys:
            raise PolicyError(f"{where}: Condition {operator_name} must map keys to values")
        parsed = _operator(operator_name)
        for key, raw in keys.items():
            at = f"{where}: Condition {operator_name} {key}"
            if ":" not in key:
                raise PolicyError(f"{at}: a key must be prefaced by a service, as in aws:SourceIp")
            values = _condition_values(raw, at)
            if parsed is not None and parsed.test in _NUMERIC_TESTS:
                for value in values:
                    if not _NUMBER.fullmatch(value):
                        raise PolicyError(f"{at}: {value!r} is not a number")
            conditions.append(Condition(operator_name, key, values))
    return tuple(conditions)


def _condition_values(raw: Any, where: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicyError(f"{where}: no values")
    values = []
    for item in items:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            values.append(str(item))
        else:
            raise PolicyError(f"{where}: a value must be a string, number or boolean: {item!r}")
    return tuple(values)


@dataclass(frozen=True)
class _Operator:
    test: str
    negated: bool
    null: bool
    set_operator: str | None  # "forallvalues", "foranyvalue" or None
    if_exists: bool


@lru_cache(maxsize=256)
def _operator(name: str) -> _Operator | None:
    """The operator a condition names, or None if the evaluator does not know it."""
    found = _OPERATOR.fullmatch(name)
    if found is None:
        return None
    set_operator, base, if_exists = found.groups()
    if base.lower() == "null":
        plain = set_operator is None and if_exists is None  # AWS has no NullIfExists
        return _Operator("Null", False, True, None, False) if plain else None
    if base.lower() not in _OPERATORS:
        return None
    test, negated = _OPERATORS[base.lower()]
    lowered = set_operator.lower() if set_operator else None
    return _Operator(test, negated, False, lowered, if_exists is not None)


@lru_cache(maxsize=4096)
def _wildcards(pieces: _Pieces, arn: bool, ignore_case: bool = False) -> re.Pattern[str]:
    """`*` and `?` of the policy's own text as wildcards (a variable's value is literal).

    In an ARN they stay within one of the first five colon-separated segments, as AWS
    matches ARNs, except a `*` that ends the pattern; in the resource part they match
    anything.
    """
    characters = [(character, literal) for text, literal in pieces for character in text]
    segment = 0
    regex = []
    for index, (character, literal) in enumerate(characters):
        bounded = arn and segment < _ARN_SEGMENTS_BEFORE_RESOURCE
        if literal or character not in "*?":
            regex.append(re.escape(character))
            if character == ":" and not literal:
                segment += 1
        elif character == "?":
            regex.append("[^:]" if bounded else ".")
        else:
            regex.append("[^:]*" if bounded and index < len(characters) - 1 else ".*")
    return re.compile("".join(regex), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _text(pieces: _Pieces) -> str:
    return "".join(text for text, _ in pieces)


def _number(text: str) -> Decimal | None:
    return Decimal(text) if _NUMBER.fullmatch(text) else None


def _value_test(test: str, pieces: _Pieces) -> Callable[[str], bool]:
    """Whether one request value passes `test` against one policy value."""
    if test == "StringEquals":
        return _text(pieces).__eq__
    if test == "StringEqualsIgnoreCase":
        folded = _text(pieces).casefold()
        return lambda value: value.casefold() == folded
    if test == "Bool":
        expected = _text(pieces).lower()
        return lambda value: value.lower() == expected
    if test in _NUMERIC_TESTS:
        compare, bound = _NUMERIC_TESTS[test], Decimal(_text(pieces))
        return lambda value: (number := _number(value)) is not None and compare(number, bound)
    pattern = _wildcards(pieces, arn=test == "ArnLike")
    return lambda value: pattern.fullmatch(value) is not None


class _Evaluation:
    """One request's evaluation: its context by lower-case key and what it could not do."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.context = {key.lower(): tuple(values) for key, values in request.context.items()}
        self.filled = (
            None if request.filled_keys is None else {key.lower() for key in request.filled_keys}
        )
        self.unsupported: dict[str, None] = {}  # an ordered set

    def applies(self, policy: Policy, statement: Statement) -> bool:
        """Whether `statement` matches the request (reporting what it cannot evaluate)."""
        named = any(action_matches(pattern, self.request.action) for pattern in statement.actions)
        if named == statement.not_action:
            return False
        where = f"{policy.name}#{statement.label}"
        variables = policy.version == _VARIABLES_VERSION
        resources = [self._resolve(pattern, variables, where) for pattern in statement.resources]
        if any(pieces is None for pieces in resources):
            return False  # AWS: an unresolvable variable invalidates the statement
        named = any(
            _wildcards(pieces, arn=True).fullmatch(self.request.resource)
            for pieces in resources
            if pieces is not None
        )
        if named == statement.not_resource:
            return False
        holds = [self._holds(condition, variables, where) for condition in statement.conditions]
        return all(holds)

    def _report(self, where: str, what: str) -> None:
        self.unsupported.setdefault(f"{where}: {what}")

    def _values(self, key: str) -> tuple[str, ...] | None:
        return self.context.get(key.lower()) or None

    def _knows(self, key: str) -> bool:
        """Whether a missing `key` is missing from the request (not just left unfilled)."""
        return self.filled is None or key.lower() in self.context or key.lower() in self.filled

    def _holds(self, condition: Condition, variables: bool, where: str) -> bool:
        parsed = _operator(condition.operator)
        if parsed is None:
            self._report(where, f"operator {condition.operator} is not supported")
            return False
        if not self._knows(condition.key):
            self._report(where, f"condition key {condition.key} is not filled")
            return False
        values = self._values(condition.key)
        if parsed.null:
            missing = "true" if values is None else "false"
            return any(expected.lower() == missing for expected in condition.values)
        if values is None:
            if parsed.set_operator == "forallvalues":
                return True
            return parsed.if_exists or (parsed.negated and parsed.set_operator is None)
        tests = []
        for expected in condition.values:
            pieces = (
                self._resolve(expected, variables, where)
                if parsed.test in _VARIABLE_TESTS
                else ((expected, False),)
            )
            if pieces is None:
                return False
            tests.append(_value_test(parsed.test, pieces))

        def passes(value: str) -> bool:
            return any(test(value) for test in tests) != parsed.negated

        if parsed.set_operator == "forallvalues":
            return all(passes(value) for value in values)
        if parsed.set_operator == "foranyvalue":
            return any(passes(value) for value in values)
        return len(values) == 1 and passes(values[0])

    def _resolve(self, template: str, variables: bool, where: str) -> _Pieces | None:
        """`template` with its policy variables replaced, or None if one has no value."""
        if not variables or "${" not in template:
            return ((template, False),)
        pieces = []
        position = 0
        for found in _VARIABLE.finditer(template):
            value = self._variable(found, where)
            if value is None:
                return None
            pieces += [(template[position : found.start()], False), (value, True)]
            position = found.end()
        pieces.append((template[position:], False))
        return tuple(piece for piece in pieces if piece[0])

    def _variable(self, found: re.Match[str], where: str) -> str | None:
        body = found.group(1)
        if body in _SPECIAL_VARIABLES:
            return body
        parsed = _VARIABLE_BODY.fullmatch(body)
        if parsed is None:
            self._report(where, f"variable {found.group()} is not understood")
            return None
        key, default = parsed.groups()
        values = self._values(key)
        if values is not None and len(values) == 1:
            return values[0]
        if values is None and default is not None:
            return default
        if values is not None:
            self._report(where, f"variable {found.group()} has several values")
        elif not self._knows(key):
            self._report(where, f"variable {found.group()} is not filled")
        return None
