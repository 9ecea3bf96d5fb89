"""HTTP API (v2) AWS service integrations: `AWS_PROXY` with an `IntegrationSubtype`, as CDK's
`HttpSqsIntegration` makes (`SQS-SendMessage`), and `SQS-ReceiveMessage`/`SQS-DeleteMessage`.

The integration's `RequestParameters` are the SQS request's parameters (`QueueUrl`,
`MessageBody`, `DelaySeconds`, `MessageAttributes`, `MessageGroupId`, ...), each a static
value or a selection expression evaluated against the request: `$request.body`,
`$request.body.<json path>`, `$request.header.<name>`, `$request.querystring.<name>`,
`$request.path.<name>`, `$context.<name>`, `$stageVariables.<name>` (whole, or `${...}`
inside a string). The request is sent to the local cloud's own port signed as the
integration's `CredentialsArn` (`apigateway_integrations.send_signed`, as REST service
integrations are), so the front door checks that role's policies. SQS's success is answered
200 with the result in SQS's JSON response form
(`{"SendMessageResponse": {"SendMessageResult": {...}, "ResponseMetadata": {...}}}`); an
SQS error passes through with its status; an integration without a role answers 500.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from localcloud import apigateway, apigateway_integrations, apigateway_vtl

log = logging.getLogger("localcloud.apigateway")

SQS_TARGET_PREFIX = "AmazonSQS."
# Subtype -> (SQS action, the parameters that are numbers, the ones that are JSON).
SUBTYPES: dict[str, tuple[str, frozenset[str], frozenset[str]]] = {
    "SQS-SendMessage": (
        "SendMessage",
        frozenset({"DelaySeconds"}),
        frozenset({"MessageAttributes", "MessageSystemAttributes"}),
    ),
    "SQS-ReceiveMessage": (
        "ReceiveMessage",
        frozenset({"MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds"}),
        frozenset(),
    ),
    "SQS-DeleteMessage": ("DeleteMessage", frozenset(), frozenset()),
}
_LISTS = frozenset({"AttributeNames", "MessageAttributeNames", "MessageSystemAttributeNames"})
# `Region` selects the region; it is not a parameter of the SQS request.
_NOT_SENT = frozenset({"Region"})
_EXPRESSION = re.compile(
    r"\$\{(?P<braced>[^}]+)\}|\$(?P<bare>(?:request|context|stageVariables)\.[A-Za-z0-9_.\-]+)"
)
# What SQS's JSON response form has for a field the JSON protocol leaves out.
_SEND_FIELDS = (
    "MD5OfMessageAttributes",
    "MD5OfMessageBody",
    "MD5OfMessageSystemAttributes",
    "MessageId",
    "SequenceNumber",
)


def _context(
    server: apigateway.HttpApiServer,
    request: apigateway.Request,
    route_key: str,
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    request_time, epoch = apigateway._request_time(request.started)
    return {
        "accountId": server.account,
        "apiId": server.api.api_id,
        "domainName": request.host,
        "domainPrefix": server.api.api_id,
        "httpMethod": request.method,
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": request.header("User-Agent") or "",
        },
        "path": request.path,
        "protocol": "HTTP/1.1",
        "requestId": request.request_id[:16],
        "requestTime": request_time,
        "requestTimeEpoch": epoch,
        "routeKey": route_key,
        "stage": request.stage,
        "authorizer": dict(authorizer or {}),
    }


def _lookup(
    expression: str,
    request: apigateway.Request,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    context: dict[str, Any],
) -> str | None:
    """The value of one selection expression (without its `$`), None when absent."""
    head, _, rest = expression.partition(".")
    if head == "request":
        where, _, name = rest.partition(".")
        if where == "body":
            body = request.body.decode("utf-8", "replace")
            if not name:
                return body
            try:
                value = apigateway_vtl.json_path(json.loads(body), "$." + name)
            except ValueError:
                return None
            if value is None:
                return None
            return value if isinstance(value, str) else json.dumps(value)
        if where == "header":
            return request.header(name)
        if where == "querystring":
            found = [v for k, v in parse_qsl(request.query, keep_blank_values=True) if k == name]
            return ",".join(found) if found else None
        if where == "path":
            return path_parameters.get(name)
        return None
    if head == "stageVariables":
        return stage_variables.get(rest)
    if head == "context":
        node: Any = context
        for part in rest.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return None if node is None else str(node)
    return None


def evaluate(
    mapping: str,
    request: apigateway.Request,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    context: dict[str, Any],
) -> str:
    """A request parameter's value: its selection expressions replaced (absent: empty)."""

    def replace(found: re.Match[str]) -> str:
        expression = found.group("braced") or found.group("bare")
        value = _lookup(expression, request, path_parameters, stage_variables, context)
        return "" if value is None else value

    return _EXPRESSION.sub(replace, mapping)


def _sqs_request(subtype: str, parameters: dict[str, str]) -> tuple[str, dict[str, Any]]:
    action, numbers, documents = SUBTYPES[subtype]
    body: dict[str, Any] = {}
    for name, value in parameters.items():
        if name in _NOT_SENT:
            continue
        if name in numbers:
            body[name] = int(value)
        elif name in documents:
            body[name] = json.loads(value)
        elif name in _LISTS:
            body[name] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            body[name] = value
    return action, body


def _response(action: str, result: dict[str, Any], request_id: str) -> dict[str, Any]:
    """SQS's JSON response form, which API Gateway answers with."""
    if action == "SendMessage":
        shaped: dict[str, Any] | None = {name: result.get(name) for name in _SEND_FIELDS}
    elif action == "ReceiveMessage":
        shaped = {"messages": result.get("Messages") or None}
    else:
        shaped = None
    answer: dict[str, Any] = {"ResponseMetadata": {"RequestId": request_id}}
    if shaped is not None:
        answer[f"{action}Result"] = shaped
    return {f"{action}Response": answer}


def run(
    server: apigateway.HttpApiServer,
    request: apigateway.Request,
    stage: Any,
    match: Any,
    integration: Any,
    authorizer: dict[str, Any] | None,
) -> apigateway.Answer:
    """Answer a request to an HTTP API service integration."""
    error = apigateway._message(500, "Internal Server Error")
    subtype = str(integration.integration_subtype or "")
    if subtype not in SUBTYPES:
        log.warning("HTTP API integration subtype %s is not run by the local cloud", subtype)
        return error
    context = _context(server, request, str(match.route.route_key), authorizer)
    stage_variables = dict(stage.stage_variables or {})
    parameters = {
        str(name): evaluate(str(mapping), request, match.path_parameters, stage_variables, context)
        for name, mapping in (integration.request_parameters or {}).items()
    }
    try:
        action, body = _sqs_request(subtype, parameters)
    except ValueError as failure:
        log.warning("%s request parameters are not valid: %s", subtype, failure)
        return error
    region = parameters.get("Region") or server.region
    started = time.time()
    try:
        backend = apigateway_integrations.send_signed(
            apigateway_integrations.Caller(server.api.api_id, server.account, region),
            str(integration.credentials_arn or ""),
            "sqs",
            "/",
            json.dumps(body),
            {
                "X-Amz-Target": SQS_TARGET_PREFIX + action,
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
    except apigateway_integrations.IntegrationRefused:
        return error
    log.debug("%s answered %s in %.0f ms", subtype, backend.status, (time.time() - started) * 1e3)
    headers = [("Content-Type", "application/json")]
    if backend.status != 200:
        return backend.status, headers, backend.body.encode()
    try:
        result = json.loads(backend.body) if backend.body.strip() else {}
    except ValueError:
        log.warning("SQS %s answered what is not JSON: %.200s", action, backend.body)
        return error
    lowered = {k.lower(): v for k, v in backend.headers.items()}
    request_id = str(lowered.get("x-amzn-requestid") or request.request_id)
    return 200, headers, json.dumps(_response(action, result, request_id)).encode()
