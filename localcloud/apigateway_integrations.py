"""REST API integrations of type `AWS`: non-proxy Lambda, and the DynamoDB and SQS service
integrations, with their request and response mapping templates (`apigateway_vtl`); and
`MOCK` integrations, whose rendered request template's `statusCode` selects the response.

The request template is chosen by the request's `Content-Type` (none: `application/json`);
with no template for it, `passthroughBehavior` decides: `WHEN_NO_MATCH` (the default) sends
the body as it came, `WHEN_NO_TEMPLATES` only when the integration has no templates at all,
`NEVER` answers 415 `{"message":"Unsupported Media Type"}`.

- Lambda (`arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations`):
  the rendered request is the event (it must be JSON); a function error's `errorMessage`
  is matched against each integration response's `selectionPattern` (a full regex match);
  success and an error no pattern matches take the default response (no pattern), as on
  AWS.
- DynamoDB (`arn:aws:apigateway:<region>:dynamodb:action/<Action>`): the rendered request is
  the action's JSON body, POSTed to the local cloud's own port with
  `X-Amz-Target: DynamoDB_20120810.<Action>`, so it takes the front door's path to DynamoDB
  Local like any client's.
- SQS (`arn:aws:apigateway:<region>:sqs:path/<account>/<queue>`, or `action/<Action>`): the
  rendered request (CDK's form-encoded `Action=SendMessage&MessageBody=...`) is sent to the
  queue's URL with the `integration.request.header.*` parameters as headers.

Service integrations pick their response by the backend's HTTP status (`"200"`, `"4\\d{2}"`)
and sign their request as the integration's `credentials` role: under
`LOCALCLOUD_IAM=enforce` the front door checks that role's policies as it checks a
function's (a role that may not `dynamodb:PutItem` is denied; the denial is the backend's
400, answered by whichever integration response selects it). An integration without a
role answers 500, as AWS does.

The chosen integration response's status must be one of the method's responses (when the
method has any), else 500; its `responseParameters` (`'literal'`,
`integration.response.body[.path]`, `integration.response.header.X`, `method.request.*`)
become headers; its template (`$input` is the backend's answer) becomes the body, or the
backend's body passes through.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from localcloud import apigateway, apigateway_vtl, iam

log = logging.getLogger("localcloud.apigateway")

_SERVICE_URI = re.compile(
    r"^arn:aws[a-z-]*:apigateway:(?P<region>[^:]*):(?P<service>[^:]+):"
    r"(?P<kind>path|action)/(?P<rest>.*)$"
)
DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
_MOCK_STATUS = re.compile(r"[\"']?statusCode[\"']?\s*:\s*(\d{3})")
DEFAULT_CONTENT_TYPE = "application/json"


@dataclass
class Backend:
    """What the integration's backend answered."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    # A Lambda function's errorMessage (None: the function did not fail).
    error_message: str | None = None


class _Refused(Exception):
    def __init__(self, answer: apigateway.Answer) -> None:
        super().__init__("refused")
        self.answer = answer


def _internal_error() -> apigateway.Answer:
    return apigateway._message(500, "Internal server error", "InternalServerErrorException")


def variables(
    server: apigateway.RestApiServer,
    request: apigateway.Request,
    stage: Any,
    match: Any,
    body: str,
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    """The template variables: `$input` (over `body`), `$context`, `$stageVariables`."""
    headers = dict(request.headers)
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    params = {"path": dict(match.path_parameters), "querystring": query, "header": headers}
    request_time, epoch = apigateway._request_time(request.started)
    context: dict[str, Any] = {
        "accountId": server.account,
        "apiId": server.api.id,
        "domainName": request.host,
        "domainPrefix": server.api.id,
        "extendedRequestId": request.request_id[:16],
        "httpMethod": request.method,
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": request.header("User-Agent") or "",
            "accountId": "",
            "caller": "",
            "user": "",
            "userArn": "",
        },
        "path": f"/{request.stage}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request.request_id,
        "requestTime": request_time,
        "requestTimeEpoch": epoch,
        "resourceId": match.resource.id,
        "resourcePath": match.resource.get_path(),
        "stage": request.stage,
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return {
        "input": apigateway_vtl.Input(body, params),
        "context": context,
        "stageVariables": dict(stage.variables or {}),
    }


def _request_payload(request: apigateway.Request, integration: Any, names: dict[str, Any]) -> str:
    templates: dict[str, str] = dict(integration.request_templates or {})
    content_type = (request.header("Content-Type") or DEFAULT_CONTENT_TYPE).split(";")[0]
    content_type = content_type.strip().lower()
    template = next((t for k, t in templates.items() if k.lower() == content_type), None)
    body = request.body.decode("utf-8", "replace")
    if template is None:
        behaviour = str(integration.passthrough_behaviour or "WHEN_NO_MATCH").upper()
        if behaviour == "NEVER" or (behaviour == "WHEN_NO_TEMPLATES" and templates):
            raise _Refused(
                apigateway._message(415, "Unsupported Media Type", "UnsupportedMediaTypeException")
            )
        return body
    return apigateway_vtl.render(template, names)


def run(
    server: apigateway.RestApiServer,
    request: apigateway.Request,
    stage: Any,
    match: Any,
    method: Any,
    integration: Any,
    authorizer: dict[str, Any] | None,
) -> apigateway.Answer:
    """Answer a request to an `AWS` integration."""
    body = request.body.decode("utf-8", "replace")
    names = variables(server, request, stage, match, body, authorizer)
    try:
        payload = _request_payload(request, integration, names)
        uri = str(integration.uri or "")
        found = _SERVICE_URI.match(uri)
        if found is None:
            log.warning("AWS integration URI %r is not one the local cloud runs", uri)
            return _internal_error()
        service = found.group("service")
        if service == "lambda":
            backend = _lambda(server, request, stage, uri, payload)
        elif service == "dynamodb" and found.group("kind") == "action":
            backend = _service(
                server,
                integration,
                names,
                "dynamodb",
                found.group("region"),
                "/",
                payload,
                {
                    "X-Amz-Target": DYNAMODB_TARGET_PREFIX + found.group("rest"),
                    "Content-Type": "application/x-amz-json-1.0",
                },
            )
        elif service == "sqs":
            path = "/" + found.group("rest") if found.group("kind") == "path" else "/"
            headers = _request_headers(integration, names)
            if found.group("kind") == "action":
                payload = f"Action={found.group('rest')}&{payload}" if payload else payload
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            backend = _service(
                server, integration, names, "sqs", found.group("region"), path, payload, headers
            )
        else:
            log.warning("AWS service integration %s is not run by the local cloud", service)
            return _internal_error()
    except _Refused as refused:
        return refused.answer
    except apigateway_vtl.TemplateError as error:
        log.warning("mapping template failed: %s", error)
        return _internal_error()
    return respond(request, method, integration, names, backend)


def mock(
    server: apigateway.RestApiServer,
    request: apigateway.Request,
    stage: Any,
    match: Any,
    method: Any,
    integration: Any,
    authorizer: dict[str, Any] | None,
) -> apigateway.Answer:
    """A `MOCK` integration (CDK's CORS preflight): the rendered request template's
    `statusCode` is the status its integration responses are selected by."""
    names = variables(
        server, request, stage, match, request.body.decode("utf-8", "replace"), authorizer
    )
    try:
        rendered = _request_payload(request, integration, names)
    except _Refused as refused:
        return refused.answer
    except apigateway_vtl.TemplateError as error:
        log.warning("mapping template failed: %s", error)
        return _internal_error()
    found = _MOCK_STATUS.search(rendered)
    status = int(found.group(1)) if found else 200
    return respond(request, method, integration, names, Backend(status, ""))


def _lambda(
    server: apigateway.RestApiServer,
    request: apigateway.Request,
    stage: Any,
    uri: str,
    payload: str,
) -> Backend:
    try:
        fn = apigateway.function_of(uri, dict(stage.variables or {}))
    except apigateway.IntegrationFailure as failure:
        log.warning("%s", failure)
        raise _Refused(_internal_error()) from failure
    if not apigateway.permitted(fn, server.source_arn(request), server.account):
        raise _Refused(_internal_error())
    try:
        event = json.loads(payload) if payload.strip() else {}
    except ValueError as error:
        log.warning("the request template did not make JSON for %s: %s", fn.function_name, error)
        raise _Refused(_internal_error()) from error
    result, failed = apigateway.invoke_raw(fn, event)
    text = json.dumps(result) if result is not None else "null"
    if failed:
        message = result.get("errorMessage") if isinstance(result, dict) else None
        return Backend(200, text, error_message=str(message or ""))
    return Backend(200, text)


def _request_headers(integration: Any, names: dict[str, Any]) -> dict[str, str]:
    """The `integration.request.header.*` parameters."""
    headers: dict[str, str] = {}
    prefix = "integration.request.header."
    for target, source in (integration.request_parameters or {}).items():
        if str(target).startswith(prefix):
            value = _parameter(str(source), names, None)
            if value is not None:
                headers[str(target)[len(prefix) :]] = value
    return headers


def _service(
    server: apigateway.RestApiServer,
    integration: Any,
    names: dict[str, Any],
    service: str,
    region: str,
    path: str,
    payload: str,
    headers: dict[str, str],
) -> Backend:
    """POST `payload` to the local cloud's own port, signed as the integration's role."""
    try:
        return send_signed(
            Caller(server.api.id, server.account, region or server.region),
            str(integration.credentials or ""),
            service,
            path,
            payload,
            headers,
        )
    except IntegrationRefused as refused:
        raise _Refused(_internal_error()) from refused


@dataclass(frozen=True)
class Caller:
    """The API a service integration's request is made for."""

    api_id: str
    account: str
    region: str


class IntegrationRefused(Exception):
    """A service integration that AWS would not call (no credentials role)."""


def send_signed(
    caller: Caller, role: str, service: str, path: str, payload: str, headers: dict[str, str]
) -> Backend:
    """POST `payload` to the local cloud's own port, signed as `role` (the integration's
    credentials) so the front door checks that role's policies; REST and HTTP APIs' service
    integrations both send this way."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from localcloud import lambda_runner

    authorizer = iam.authorizer()
    checked = authorizer is not None and authorizer.mode != iam.OFF
    if not role and checked:
        log.warning("the %s integration has no credentials role: AWS answers 500", service)
        raise IntegrationRefused(service)
    if role and authorizer is not None:
        keys = authorizer.credentials_for(
            f"apigateway-{caller.api_id}",
            f"arn:aws:execute-api:{caller.region}:{caller.account}:{caller.api_id}",
            role,
            caller.account,
        )
        credentials = Credentials(keys.access_key, keys.secret_key, keys.session_token)
    else:
        credentials = Credentials("apigateway", "apigateway")
    endpoint = lambda_runner.runner().settings.endpoint
    request = AWSRequest(
        method="POST", url=endpoint + path, data=payload.encode(), headers=dict(headers)
    )
    SigV4Auth(credentials, service, caller.region).add_auth(request)
    prepared = urllib.request.Request(
        endpoint + path, data=payload.encode(), method="POST", headers=dict(request.headers)
    )
    try:
        with urllib.request.urlopen(prepared, timeout=60) as answer:
            return Backend(
                answer.status,
                answer.read().decode("utf-8", "replace"),
                dict(answer.headers.items()),
            )
    except urllib.error.HTTPError as error:
        return Backend(
            error.code, error.read().decode("utf-8", "replace"), dict(error.headers.items())
        )


# -- the integration response -----------------------------------------------------------------
def select_response(integration: Any, backend: Backend) -> Any | None:
    """The integration response for what the backend answered: a Lambda error's message,
    else the HTTP status, matched against `selectionPattern`; else the default."""
    responses = list((integration.integration_responses or {}).values())
    if backend.error_message is not None:
        subject: str | None = backend.error_message
    elif str(integration.uri or "").split(":")[4:5] == ["lambda"]:
        subject = None  # a function's success takes the default response
    else:
        subject = str(backend.status)
    if subject is not None:
        for response in responses:
            pattern = response.selection_pattern
            if pattern and re.fullmatch(pattern, subject, re.DOTALL):
                return response
    return next((r for r in responses if not r.selection_pattern), None)


def _parameter(source: str, names: dict[str, Any], backend: Backend | None) -> str | None:
    """A parameter mapping's value."""
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    input_: apigateway_vtl.Input = names["input"]
    params = input_.params()
    for where in ("header", "querystring", "path"):
        prefix = f"method.request.{where}."
        if source.startswith(prefix):
            wanted = source[len(prefix) :]
            values = params.get(where) or {}
            if where == "header":
                values = {k.lower(): v for k, v in values.items()}
                wanted = wanted.lower()
            found = values.get(wanted)
            return None if found is None else str(found)
    if source.startswith("stageVariables."):
        found = names["stageVariables"].get(source.split(".", 1)[1])
        return None if found is None else str(found)
    if source.startswith("context."):
        value: Any = names["context"]
        for part in source.split(".")[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else apigateway_vtl._render_value(value)
    if backend is not None and source.startswith("integration.response.header."):
        wanted = source.split(".", 3)[3].lower()
        return {k.lower(): v for k, v in backend.headers.items()}.get(wanted)
    if backend is not None and source.startswith("integration.response.body"):
        rest = source[len("integration.response.body") :]
        if not rest:
            return backend.body
        try:
            value = apigateway_vtl.json_path(json.loads(backend.body), "$" + rest)
        except ValueError:
            return None
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)
    return None


def respond(
    request: apigateway.Request,
    method: Any,
    integration: Any,
    names: dict[str, Any],
    backend: Backend,
) -> apigateway.Answer:
    """The method's answer from the backend's, through the integration response."""
    chosen = select_response(integration, backend)
    if chosen is None:
        log.warning("no integration response matches and there is no default one")
        return _internal_error()
    status = str(chosen.status_code)
    method_responses = method.method_responses or {}
    if method_responses and status not in method_responses:
        log.warning("integration response %s has no method response", status)
        return _internal_error()
    headers: list[tuple[str, str]] = []
    prefix = "method.response.header."
    for target, source in (chosen.response_parameters or {}).items():
        value = _parameter(str(source), names, backend)
        if str(target).startswith(prefix) and value is not None:
            headers.append((str(target)[len(prefix) :], value))
    templates: dict[str, str] = dict(chosen.response_templates or {})
    accept = (request.header("Accept") or "").split(",")[0].split(";")[0].strip().lower()
    content_type = accept if accept in templates else next(iter(templates), DEFAULT_CONTENT_TYPE)
    template = templates.get(content_type)
    if template:
        answer_names = {
            **names,
            "input": apigateway_vtl.Input(backend.body, names["input"].params()),
        }
        try:
            body = apigateway_vtl.render(template, answer_names)
        except apigateway_vtl.TemplateError as error:
            log.warning("response template failed: %s", error)
            return _internal_error()
    else:
        body = backend.body  # passed through
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", content_type))
    return int(status), headers, body.encode()
