"""IAM identity-policy evaluation, as the front door applies a function role's policies."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import pytest

from localcloud.iam_policy import (
    Decision,
    PolicyError,
    Request,
    action_matches,
    allowed_actions,
    denial_message,
    evaluate,
    parse_policy,
)

ACCOUNT = "123456789012"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Users"
INDEX = f"{TABLE}/index/EmailIndex"
OTHER_TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/MyRole/my-fn"
INLINE = "inline:MyRoleDefaultPolicy"
MANAGED = f"arn:aws:iam::{ACCOUNT}:policy/DenyDeletes"

# What CDK's table.grant_read_write_data(fn) synthesizes, with the ARNs resolved.
CDK_READ_WRITE: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Action": [
                "dynamodb:BatchGetItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem",
                "dynamodb:DescribeTable",
                "dynamodb:GetItem",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:UpdateItem",
            ],
            "Effect": "Allow",
            "Resource": [TABLE, f"{TABLE}/index/*"],
        }
    ],
}


def statement(effect: str = "Allow", **elements: Any) -> dict[str, Any]:
    elements.setdefault("Action", "dynamodb:Query")
    if "NotResource" not in elements:
        elements.setdefault("Resource", TABLE)
    return {"Effect": effect, **elements}


def decide(
    *statements: dict[str, Any],
    action: str = "dynamodb:Query",
    resource: str = TABLE,
    context: Mapping[str, tuple[str, ...]] | None = None,
    filled_keys: frozenset[str] | None = None,
    version: str = "2012-10-17",
) -> Decision:
    policy = parse_policy({"Version": version, "Statement": list(statements)}, INLINE)
    return evaluate([policy], Request(action, resource, context or {}, filled_keys))


def allowed_when(
    condition: dict[str, Any], context: Mapping[str, tuple[str, ...]] | None = None
) -> bool:
    """Whether an Allow statement with `condition` allows a request with `context`."""
    return decide(statement(Condition=condition), context=context).allowed


@pytest.mark.parametrize(
    "document",
    [CDK_READ_WRITE, json.dumps(CDK_READ_WRITE), quote(json.dumps(CDK_READ_WRITE))],
    ids=["dict", "json", "url-encoded"],
)
@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        ("dynamodb:Query", TABLE, True),
        ("dynamodb:Query", INDEX, True),
        ("dynamodb:PutItem", TABLE, True),
        ("dynamodb:GetRecords", TABLE, True),
        ("dynamodb:PutItem", INDEX, True),  # the grant names index/*, whatever the action
        ("dynamodb:DeleteTable", TABLE, False),
        ("dynamodb:Query", OTHER_TABLE, False),
        ("dynamodb:Query", f"{TABLE}2", False),
        ("dynamodb:Query", f"{TABLE}2/index/EmailIndex", False),
        ("dynamodb:ListTables", "*", False),
    ],
)
def test_cdk_grant_read_write_data(
    document: Any, action: str, resource: str, expected: bool
) -> None:
    decision = evaluate([parse_policy(document, INLINE)], Request(action, resource))
    assert decision.allowed is expected
    assert decision.explicit_deny is False
    assert decision.matched == ((f"{INLINE}#0",) if expected else ())
    assert decision.unsupported == ()


def test_no_policy_is_an_implicit_deny() -> None:
    assert evaluate([], Request("dynamodb:Query", TABLE)) == Decision(False, False, (), ())


def test_a_deny_in_another_policy_overrides_every_allow() -> None:
    grant = parse_policy(CDK_READ_WRITE, INLINE)
    guard = parse_policy(
        {"Statement": statement("Deny", Sid="NoDeletes", Action="dynamodb:Delete*")}, MANAGED
    )
    denied = evaluate([grant, guard], Request("dynamodb:DeleteItem", TABLE))
    assert (denied.allowed, denied.explicit_deny) == (False, True)
    assert denied.matched == (f"{MANAGED}#NoDeletes",)
    assert evaluate([grant, guard], Request("dynamodb:PutItem", TABLE)).allowed


def test_matched_names_every_deciding_statement_by_sid_or_index() -> None:
    decision = decide(statement(Sid="Reads"), statement(), statement("Allow", Action="s3:*"))
    assert decision.matched == (f"{INLINE}#Reads", f"{INLINE}#1")


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("dynamodb:Query", "dynamodb:Query", True),
        ("DynamoDB:query", "dynamodb:Query", True),
        ("dynamodb:Query", "DYNAMODB:QUERY", True),
        ("dynamodb:Get*", "dynamodb:GetItem", True),
        ("dynamodb:Get*", "dynamodb:Query", False),
        ("dynamodb:?etItem", "dynamodb:GetItem", True),
        ("dynamodb:?etItem", "dynamodb:BatchGetItem", False),
        ("dynamodb:*", "dynamodb:DeleteTable", True),
        ("dynamodb:*", "s3:GetObject", False),
        ("*", "s3:GetObject", True),
        ("dynamodb:Query", "dynamodb:QueryItems", False),
    ],
)
def test_action_patterns(pattern: str, action: str, expected: bool) -> None:
    assert decide(statement(Action=pattern, Resource="*"), action=action).allowed is expected


def test_action_matches_is_the_statements_action_test() -> None:
    assert action_matches("dynamodb:Batch*", "DynamoDB:BatchGetItem")
    assert not action_matches("dynamodb:Batch*", "dynamodb:GetItem")


def test_allowed_actions_lists_the_allow_statements_actions_once() -> None:
    policy = parse_policy(
        {
            "Statement": [
                statement(Action=["dynamodb:Query", "dynamodb:Get*"]),
                statement(Action="dynamodb:Query", Resource=INDEX),
                statement("Deny", Action="dynamodb:DeleteItem"),
                {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            ]
        },
        INLINE,
    )
    assert allowed_actions(policy) == ("dynamodb:Query", "dynamodb:Get*")


def test_not_action_allows_every_other_action() -> None:
    allow_all_but = statement(NotAction=["dynamodb:DeleteTable", "dynamodb:Update*"])
    del allow_all_but["Action"]
    assert decide(allow_all_but, action="dynamodb:Query").allowed
    assert not decide(allow_all_but, action="dynamodb:DeleteTable").allowed
    assert not decide(allow_all_but, action="dynamodb:UpdateItem").allowed


def test_a_not_action_deny_denies_every_other_action() -> None:
    only_reads = statement("Deny", NotAction="dynamodb:GetItem", Resource="*")
    del only_reads["Action"]
    grant = statement(Action="dynamodb:*")
    assert decide(grant, only_reads, action="dynamodb:Query").explicit_deny
    assert decide(grant, only_reads, action="dynamodb:GetItem").allowed


def test_not_resource_matches_every_other_resource() -> None:
    elsewhere = statement("Deny", NotResource=[TABLE, f"{TABLE}/index/*"])
    grant = statement(Resource="*")
    assert decide(grant, elsewhere, resource=OTHER_TABLE).explicit_deny
    assert decide(grant, elsewhere, resource=INDEX).allowed


SMUGGLED_ACCOUNT = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/x.txt"
LOG_STREAM = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fn:log-stream:s"


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("*", TABLE, True),
        ("*", "*", True),
        (TABLE, "*", False),
        (TABLE, INDEX, False),
        ("arn:aws:dynamodb:*:*:table/Users*", INDEX, True),  # `*` crosses `/` in the resource
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/*", TABLE, True),
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/*", INDEX, True),
        (f"arn:aws:dynamodb:us-east-?:{ACCOUNT}:table/Users", TABLE, True),
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/users", TABLE, False),  # case-sensitive
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Users/index/?mailIndex", INDEX, True),
        ("arn:aws:dynamodb:*", TABLE, True),  # a `*` that ends the pattern runs on
        ("arn:aws:s3:::*", TABLE, False),
        # AWS's ArnLike example: a segment's `*` stops at the next colon.
        ("arn:aws:someservice:*:111122223333:finance/*", SMUGGLED_ACCOUNT, False),
        ("arn:aws:logs:*:*:log-group:/aws/lambda/*", LOG_STREAM, True),  # `:` in the resource
    ],
)
def test_resource_patterns(pattern: str, resource: str, expected: bool) -> None:
    assert decide(statement(Resource=pattern), resource=resource).allowed is expected


@pytest.mark.parametrize(
    ("operator", "policy_values", "request_value", "expected"),
    [
        ("StringEquals", "COUNT", "COUNT", True),
        ("StringEquals", "COUNT", "count", False),
        ("StringEquals", ["COUNT", "ALL"], "COUNT", True),  # values OR
        ("StringNotEquals", ["COUNT", "ALL"], "COUNT", False),  # negated values NOR
        ("StringNotEquals", ["COUNT", "ALL"], "SPECIFIC", True),
        ("StringEqualsIgnoreCase", "count", "COUNT", True),
        ("StringNotEqualsIgnoreCase", "count", "COUNT", False),
        ("StringLike", "ALL_*", "ALL_ATTRIBUTES", True),
        ("StringLike", "?OUNT", "COUNT", True),
        ("StringLike", "ALL_*", "COUNT", False),
        ("StringLike", "a*", "a/b:c", True),  # no segments outside ARNs
        ("StringNotLike", "ALL_*", "COUNT", True),
        ("StringNotLike", "ALL_*", "ALL_PROJECTED", False),
        ("NumericLessThan", "10", "5", True),
        ("NumericLessThan", 10, "10", False),
        ("NumericLessThanEquals", 10, "10", True),
        ("NumericGreaterThan", "10", "10.5", True),
        ("NumericGreaterThanEquals", "10", "9", False),
        ("NumericEquals", "10", "10.0", True),
        ("NumericEquals", "10", "ten", False),
        ("NumericNotEquals", ["10", "20"], "20", False),
        ("NumericNotEquals", ["10", "20"], "30", True),
        ("Bool", "true", "true", True),
        ("Bool", True, "true", True),
        ("Bool", "True", "true", True),
        ("Bool", False, "true", False),
    ],
)
def test_condition_operators(
    operator: str, policy_values: Any, request_value: str, expected: bool
) -> None:
    condition = {operator: {"aws:PrincipalTag/level": policy_values}}
    assert allowed_when(condition, {"aws:PrincipalTag/level": (request_value,)}) is expected


@pytest.mark.parametrize(
    ("operator", "source_arn", "expected"),
    [
        ("ArnLike", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:my-fn", True),
        ("ArnEquals", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:my-fn", True),
        ("ArnLike", "arn:aws:lambda:us-east-1:999999999999:function:my-fn", False),
        ("ArnLike", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:my-fn:live", True),
        ("ArnNotLike", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:my-fn", False),
        ("ArnNotEquals", "arn:aws:lambda:us-east-1:999999999999:function:my-fn", True),
    ],
)
def test_arn_operators(operator: str, source_arn: str, expected: bool) -> None:
    # ArnEquals takes wildcards too: AWS's ArnEquals and ArnLike behave identically.
    condition = {operator: {"aws:SourceArn": f"arn:aws:lambda:*:{ACCOUNT}:function:*"}}
    assert allowed_when(condition, {"aws:SourceArn": (source_arn,)}) is expected


def test_keys_and_operators_combine_with_and() -> None:
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": ["blue", "red"], "dynamodb:Select": "COUNT"},
        "NumericLessThan": {"s3:max-keys": "100"},
    }
    everything = {
        "aws:PrincipalTag/team": ("red",),
        "dynamodb:Select": ("COUNT",),
        "s3:max-keys": ("10",),
    }
    assert allowed_when(condition, everything)
    assert not allowed_when(condition, {**everything, "s3:max-keys": ("100",)})
    assert not allowed_when(condition, {**everything, "dynamodb:Select": ("ALL",)})
    assert not allowed_when(condition, {**everything, "aws:PrincipalTag/team": ("green",)})


def test_condition_key_names_are_case_insensitive_and_values_are_not() -> None:
    condition = {"StringEquals": {"AWS:PrincipalTag/Team": "Blue"}}
    assert allowed_when(condition, {"aws:principaltag/team": ("Blue",)})
    assert not allowed_when(condition, {"aws:principaltag/team": ("blue",)})


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("ArnLike", False),
        ("Bool", False),
        ("NumericLessThan", False),
        ("StringNotEquals", True),  # a negated operator holds when the key is missing
        ("StringNotLike", True),
        ("StringNotEqualsIgnoreCase", True),
        ("ArnNotLike", True),
        ("NumericNotEquals", True),
        ("StringEqualsIfExists", True),
        ("StringNotEqualsIfExists", True),
        ("NumericLessThanIfExists", True),
        ("ForAllValues:StringEquals", True),  # no values: all of them match
        ("ForAllValues:StringNotEquals", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAnyValue:StringNotEquals", False),
        ("ForAnyValue:StringEqualsIfExists", True),
    ],
)
def test_a_missing_key(operator: str, expected: bool) -> None:
    condition = {operator: {"dynamodb:Attributes": "1"}}
    assert allowed_when(condition) is expected
    assert allowed_when(condition, {"dynamodb:Attributes": ()}) is expected  # no values: missing


@pytest.mark.parametrize(
    ("value", "context", "expected"),
    [
        ("true", None, True),
        (True, None, True),
        ("true", ("x",), False),
        ("false", ("x",), True),
        (False, None, False),
        (["true", "false"], ("x",), True),
    ],
)
def test_null_tests_whether_the_key_is_there(
    value: Any, context: tuple[str, ...] | None, expected: bool
) -> None:
    keys = {} if context is None else {"aws:TokenIssueTime": context}
    condition = {"Null": {"aws:TokenIssueTime": value}}
    assert decide(statement(Condition=condition), context=keys).allowed is expected


LEADING_KEYS = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "user-1"}}


@pytest.mark.parametrize(
    ("leading_keys", "expected"),
    [
        (("user-1",), True),
        (("user-2",), False),
        (("user-1", "user-1"), True),
        (("user-1", "user-2"), False),  # a BatchGetItem touching another user's items
        (None, True),  # AWS's pitfall: a Scan has no leading keys, so all of them match
    ],
)
def test_leading_keys_for_all_values(leading_keys: tuple[str, ...] | None, expected: bool) -> None:
    context = {} if leading_keys is None else {"dynamodb:LeadingKeys": leading_keys}
    decision = decide(
        statement(Action=["dynamodb:Query", "dynamodb:Scan"], Condition=LEADING_KEYS),
        action="dynamodb:Scan" if leading_keys is None else "dynamodb:Query",
        context=context,
        filled_keys=frozenset({"dynamodb:LeadingKeys"}),
    )
    assert decision.allowed is expected
    assert decision.unsupported == ()


ATTRIBUTES = ("pk", "name", "email")


@pytest.mark.parametrize(
    ("operator", "attributes", "expected"),
    [
        ("ForAllValues:StringEquals", ("pk", "name"), True),
        ("ForAllValues:StringEquals", ("pk", "ssn"), False),
        ("ForAllValues:StringLike", ("pk", "email"), True),
        ("ForAnyValue:StringEquals", ("ssn", "email"), True),
        ("ForAnyValue:StringEquals", ("ssn", "dob"), False),
        # Negated: each value must match none of the policy's values (NOR).
        ("ForAllValues:StringNotEquals", ("ssn", "dob"), True),
        ("ForAllValues:StringNotEquals", ("ssn", "name"), False),
        ("ForAnyValue:StringNotEquals", ("name", "email"), False),
        ("ForAnyValue:StringNotEquals", ("name", "ssn"), True),
        # A key with several values needs a set operator; without one nothing matches.
        ("StringEquals", ("pk", "name"), False),
        ("StringNotEquals", ("ssn", "dob"), False),
        ("StringEquals", ("pk",), True),
    ],
)
def test_attributes_with_set_operators(
    operator: str, attributes: tuple[str, ...], expected: bool
) -> None:
    condition = {operator: {"dynamodb:Attributes": list(ATTRIBUTES)}}
    assert allowed_when(condition, {"dynamodb:Attributes": attributes}) is expected


def test_a_for_any_value_deny_of_attributes() -> None:
    guard = statement(
        "Deny",
        Action="dynamodb:*",
        Condition={"ForAnyValue:StringEquals": {"dynamodb:Attributes": ["ssn", "dob"]}},
    )
    grant = statement(Action="dynamodb:*")
    assert decide(grant, guard, context={"dynamodb:Attributes": ("pk", "ssn")}).explicit_deny
    assert decide(grant, guard, context={"dynamodb:Attributes": ("pk", "name")}).allowed
    assert decide(grant, guard).allowed  # no attributes named: ForAnyValue does not deny


def test_if_exists_tests_the_key_only_when_it_is_there() -> None:
    grant = statement(
        Condition={"StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}
    )
    assert decide(grant).allowed
    assert decide(grant, context={"dynamodb:Select": ("SPECIFIC_ATTRIBUTES",)}).allowed
    assert not decide(grant, context={"dynamodb:Select": ("ALL_ATTRIBUTES",)}).allowed


def test_a_negated_if_exists_deny_still_denies_when_the_key_is_missing() -> None:
    guard = statement(
        "Deny", Condition={"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "blue"}}
    )
    assert decide(statement(), guard).explicit_deny
    assert decide(statement(), guard, context={"aws:PrincipalTag/team": ("blue",)}).allowed


@pytest.mark.parametrize(
    "operator", ["DateLessThan", "IpAddress", "ForSomeValues:StringEquals", "NullIfExists"]
)
def test_an_unknown_operator_matches_nothing_and_is_reported(operator: str) -> None:
    unsure: dict[str, Any] = {"Condition": {operator: {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}
    context = {"aws:CurrentTime": ("2026-01-01T00:00:00Z",)}
    no_allow = decide(statement(Sid="Until2030", **unsure), context=context)
    assert not no_allow.allowed
    assert no_allow.unsupported == (f"{INLINE}#Until2030: operator {operator} is not supported",)
    no_deny = decide(statement(), statement("Deny", **unsure), context=context)
    assert (no_deny.allowed, no_deny.explicit_deny) == (True, False)
    assert no_deny.unsupported == (f"{INLINE}#1: operator {operator} is not supported",)


def test_a_key_the_caller_does_not_fill_is_reported_not_guessed() -> None:
    guard = statement(
        "Deny", Sid="OnlyViaVpce", Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}
    )
    filled = frozenset({"dynamodb:LeadingKeys"})
    unsure = decide(statement(), guard, filled_keys=filled)
    assert (unsure.allowed, unsure.explicit_deny) == (True, False)
    assert unsure.unsupported == (
        f"{INLINE}#OnlyViaVpce: condition key aws:SourceVpce is not filled",
    )
    # Filled (or the context complete), a missing key is AWS's missing key: the deny holds.
    assert decide(statement(), guard, filled_keys=filled | {"AWS:SOURCEVPCE"}).explicit_deny
    assert decide(statement(), guard).explicit_deny
    # A key the context holds is evaluated, named in filled_keys or not.
    present = decide(
        statement(), guard, context={"aws:SourceVpce": ("vpce-1",)}, filled_keys=filled
    )
    assert present.allowed and present.unsupported == ()


def test_null_on_an_unfilled_key_is_reported() -> None:
    grant = statement(Condition={"Null": {"aws:TokenIssueTime": "false"}})
    decision = decide(grant, filled_keys=frozenset())
    assert not decision.allowed
    assert decision.unsupported == (f"{INLINE}#0: condition key aws:TokenIssueTime is not filled",)


def test_statements_for_other_actions_report_nothing() -> None:
    other = statement(Action="s3:GetObject", Condition={"DateLessThan": {"aws:CurrentTime": "x"}})
    assert decide(other, statement()).unsupported == ()


OWN_TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/${{aws:username}}"


def test_policy_variables_take_the_request_context_values() -> None:
    grant = statement(Resource=OWN_TABLE)
    assert decide(grant, context={"aws:username": ("Users",)}).allowed
    assert not decide(grant, context={"aws:username": ("Orders",)}).allowed
    assert not decide(grant, context={"aws:username": ("*",)}).allowed  # a value is literal


def test_a_variable_without_a_value_invalidates_its_statement() -> None:
    grant = statement(Resource=[OWN_TABLE, TABLE])
    complete = decide(grant)  # the context is complete: AWS's behaviour, nothing to report
    assert (complete.allowed, complete.unsupported) == (False, ())
    unfilled = decide(grant, filled_keys=frozenset())
    assert not unfilled.allowed
    assert unfilled.unsupported == (f"{INLINE}#0: variable ${{aws:username}} is not filled",)
    several = decide(grant, context={"aws:username": ("a", "b")})
    assert several.unsupported == (f"{INLINE}#0: variable ${{aws:username}} has several values",)


def test_a_variable_default_and_the_special_variables() -> None:
    with_default = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/${{aws:username, 'Users'}}"
    assert decide(statement(Resource=with_default)).allowed
    star = {"StringLike": {"dynamodb:Select": "ALL${*}"}}
    assert allowed_when(star, {"dynamodb:Select": ("ALL*",)})
    assert not allowed_when(star, {"dynamodb:Select": ("ALL_ATTRIBUTES",)})


def test_variables_in_condition_values() -> None:
    own_items = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "${aws:userid}"}}
    grant = statement(Condition=own_items)
    mine = {"aws:userid": ("AROA1:my-fn",), "dynamodb:LeadingKeys": ("AROA1:my-fn",)}
    assert decide(grant, context=mine).allowed
    assert not decide(grant, context={**mine, "dynamodb:LeadingKeys": ("AROA2:x",)}).allowed


def test_version_2008_keeps_variables_literal() -> None:
    grant = statement(Resource=OWN_TABLE)
    assert not decide(grant, context={"aws:username": ("Users",)}, version="2008-10-17").allowed
    assert decide(grant, resource=OWN_TABLE, version="2008-10-17").allowed


def test_parse_accepts_aws_shorthands() -> None:
    policy = parse_policy(
        {"Statement": {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": TABLE}}, INLINE
    )
    assert policy.version == "2008-10-17"  # AWS's default without a Version
    (only,) = policy.statements
    assert (only.label, only.effect, only.actions, only.not_action) == (
        "0",
        "Deny",
        ("dynamodb:*",),
        False,
    )
    assert (only.resources, only.not_resource, only.conditions) == ((TABLE,), True, ())


def test_parse_keeps_condition_values_as_strings() -> None:
    policy = parse_policy(
        {"Statement": statement(Condition={"Bool": {"aws:SecureTransport": True}})}, INLINE
    )
    (condition,) = policy.statements[0].conditions
    assert (condition.operator, condition.key, condition.values) == (
        "Bool",
        "aws:SecureTransport",
        ("true",),
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "policy P: the document is not JSON"),
        ("[]", "policy P: the document must be a JSON object"),
        ({"Version": "2012-10-18", "Statement": []}, "Version must be one of 2012-10-17"),
        ({"Version": "2012-10-17"}, "policy P: the document has no Statement"),
        ({"Statement": "Allow"}, "Statement must be an object or a list of objects"),
        ({"Statement": [], "Policy": 1}, "policy P: unknown element Policy"),
        ({"Statement": ["x"]}, "policy P, Statement[0]: a statement must be a JSON object"),
        (
            {"Statement": [statement(), statement(Sid="Bad", Principal={"AWS": "*"})]},
            "policy P, Statement[1] (Sid Bad): an identity-based policy names no Principal",
        ),
        ({"Statement": [statement(Effect="allow")]}, 'Effect must be "Allow" or "Deny"'),
        ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, "exactly one of Action, NotAction"),
        (
            {"Statement": [statement(NotAction="s3:*")]},
            "a statement needs exactly one of Action, NotAction",
        ),
        ({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}, "exactly one of Resource"),
        ({"Statement": [statement(Action=[])]}, "Action must be a string or a list of strings"),
        ({"Statement": [statement(Resource=[TABLE, 7])]}, "Resource must be a string or a list"),
        (
            {"Statement": [statement(Action="Query")]},
            "action 'Query' must be prefaced by a service",
        ),
        ({"Statement": [statement(Actions="s3:*")]}, "Statement[0]: unknown element Actions"),
        ({"Statement": [statement(Condition=[])]}, "Condition must be a JSON object"),
        (
            {"Statement": [statement(Condition={"StringEquals": "x"})]},
            "Condition StringEquals must map keys to values",
        ),
        (
            {"Statement": [statement(Condition={"StringEquals": {"Select": "x"}})]},
            "Condition StringEquals Select: a key must be prefaced by a service",
        ),
        (
            {"Statement": [statement(Condition={"StringEquals": {"aws:x": None}})]},
            "Condition StringEquals aws:x: a value must be a string, number or boolean",
        ),
        (
            {"Statement": [statement(Condition={"StringEquals": {"aws:x": []}})]},
            "Condition StringEquals aws:x: no values",
        ),
        (
            {"Statement": [statement(Condition={"NumericLessThan": {"aws:x": "ten"}})]},
            "Condition NumericLessThan aws:x: 'ten' is not a number",
        ),
    ],
)
def test_parse_refuses_malformed_documents(document: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        parse_policy(document, "P")


def test_denial_message_for_an_implicit_deny() -> None:
    request = Request("dynamodb:Query", INDEX)
    assert denial_message(SESSION, request, evaluate([], request)) == (
        f"User: {SESSION} is not authorized to perform: dynamodb:Query on resource: {INDEX}"
        " because no identity-based policy allows the dynamodb:Query action"
    )


def test_denial_message_for_an_explicit_deny() -> None:
    request = Request("dynamodb:DeleteItem", TABLE)
    refused = (
        f"User: {SESSION} is not authorized to perform: dynamodb:DeleteItem on resource: {TABLE}"
    )
    guard = {"Statement": statement("Deny", Action="dynamodb:Delete*")}
    inline = evaluate([parse_policy(guard, INLINE)], request)
    assert denial_message(SESSION, request, inline) == (
        f"{refused} with an explicit deny in an identity-based policy"
    )
    managed = evaluate([parse_policy(guard, MANAGED)], request)
    assert denial_message(SESSION, request, managed) == (
        f"{refused} with an explicit deny in an identity-based policy: {MANAGED}"
    )


def test_denial_message_refuses_an_allowed_request() -> None:
    request = Request("dynamodb:Query", TABLE)
    with pytest.raises(ValueError, match="allows"):
        denial_message(SESSION, request, evaluate([parse_policy(CDK_READ_WRITE, INLINE)], request))
