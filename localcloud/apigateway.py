"""API Gateway's data plane: requests to a deployed REST API (v1) or HTTP API (v2).

moto keeps the APIs (its `apigateway` and `apigatewayv2` backends, filled by CloudFormation
through `cfn_apigateway`) but does not serve them: a request to one reached S3. The front
door hands this module every request in one of the local forms of an API's URL:

- `http://localhost:<port>/restapis/<api-id>/<stage>/_user_request_/<path>` (LocalStack's);
- any path on a host `<api-id>.execute-api.localhost[:<port>]` (or the AWS host name
  `<api-id>.execute-api.<region>.amazonaws.com` sent as `Host`): `/<stage>/<path>` for a REST
  API, `/<path>` on an HTTP API's `$default` stage (or `/<stage>/<path>` on a named one).

REST APIs: resources matched as API Gateway does (literal segments before `{param}`, before a
greedy `{proxy+}`), the method or `ANY`; Lambda proxy integrations (`AWS_PROXY`) with the
event in Lambda's shape and the proxy response rules (a malformed response answers 502);
`MOCK` integrations (CDK's CORS preflight), non-proxy Lambda (`AWS`) and DynamoDB/SQS
service integrations with mapping templates (`apigateway_integrations`, `apigateway_vtl`);
Lambda TOKEN/REQUEST and Cognito authorizers (`apigateway_auth`). Unknown resources and
methods answer 403 `Missing Authentication Token`, as AWS does.

HTTP APIs: routes (`GET /items/{id}`, `ANY /{proxy+}`, `$default`), most specific first;
Lambda proxy integrations with payload format 2.0 (or 1.0) and the 2.0 response rules (a
value without `statusCode` is a 200 JSON answer); SQS service integrations
(`apigateway_http_services`); Lambda authorizers (payload 2.0, simple
or IAM responses); the API's CORS configuration answers preflights. No route answers 404
`Not Found`.

The function runs in the local cloud's Lambda runner, as `lambda:InvokeFunction` by
`apigateway.amazonaws.com`: under `LOCALCLOUD_IAM=enforce` its resource policy (the
`AWS::Lambda::Permission`s) must allow the call's `aws:SourceArn`, else the API answers 500
as AWS does.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from werkzeug.wsgi import get_input_stream

from localcloud import (
    apigateway_auth,
    apigateway_http_services,
    apigateway_integrations,
    iam,
    lambda_permissions,
)

log = logging.getLogger("localcloud.apigateway")

StartResponse = Callable[..., Any]
Answer = tuple[int, list[tuple[str, str]], bytes]

_USER_REQUEST = re.compile(
    r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$"
)
_API_HOST = re.compile(
    r"^(?P<api>[a-z0-9]+)\.execute-api\."
    r"(?:localhost(?:\.localstack\.cloud)?|[a-z0-9-]+\.amazonaws\.com)(?::\d+)?$",
    re.IGNORECASE,
)
_FUNCTION_ARN = re.compile(r"(arn:[^:]+:lambda:[^:]+:\d{12}:function:[^/:]+(?::[^/:]+)?)")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
PROXY_RESPONSE_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection"})
APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"


@dataclass
class Request:
    """One HTTP request to an API, as the client sent it."""

    api_id: str
    # The stage named in the URL (None: the host form, where the path may start with it).
    stage: str | None
    path: str
    method: str
    headers: list[tuple[str, str]]
    query: str
    body: bytes
    source_ip: str
    host: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.time)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        found = [value for key, value in self.headers if key.lower() == lowered]
        return found[-1] if found else None


def route_of(environ: dict[str, Any]) -> tuple[str, str | None, str] | None:
    """(API id, stage or None, path) when the request is for an API; else None."""
    path = str(environ.get("PATH_INFO") or "/")
    found = _USER_REQUEST.match(path)
    if found:
        return found.group("api"), unquote(found.group("stage")), found.group("path") or "/"
    host = _API_HOST.match(str(environ.get("HTTP_HOST") or ""))
    if host:
        return host.group("api"), None, path
    return None


def _request(environ: dict[str, Any], api_id: str, stage: str | None, path: str) -> Request:
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), str(value)))
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers.append((name, str(environ[key])))
    return Request(
        api_id=api_id,
        stage=stage,
        path=path,
        method=str(environ.get("REQUEST_METHOD") or "GET").upper(),
        headers=headers,
        query=str(environ.get("QUERY_STRING") or ""),
        body=get_input_stream(environ).read(),
        source_ip=str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
        host=str(environ.get("HTTP_HOST") or ""),
    )


def serve(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes] | None:
    """Answer a request for an API; None when the request is not one (moto's then)."""
    route = route_of(environ)
    if route is None:
        return None
    api_id, stage, path = route
    found = find_api(api_id)
    if found is None:
        if stage is None:
            return None  # a host we do not know an API of: not ours to answer
        status, headers, payload = _message(404, "Not Found")
    else:
        request = _request(environ, api_id, stage, path)
        kind, account, region, api = found
        try:
            if kind == "rest":
                status, headers, payload = RestApiServer(api, account, region).answer(request)
            else:
                status, headers, payload = HttpApiServer(api, account, region).answer(request)
        except Exception:  # an API Gateway answers 500 for its own faults, never a trace
            log.exception("API %s failed on %s %s", api_id, request.method, request.path)
            status, headers, payload = _message(500, "Internal server error")
    headers = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
    headers.append(("Content-Length", str(len(payload))))
    start_response(f"{status} {_phrase(status)}".strip(), headers)
    return [payload] if str(environ.get("REQUEST_METHOD")) != "HEAD" else [b""]


def find_api(api_id: str) -> tuple[str, str, str, Any] | None:
    """("rest" or "http", account, region, the API) of the API with this id, in any account
    and region (ids are unique across them)."""
    from moto.apigateway.models import apigateway_backends
    from moto.apigatewayv2.models import apigatewayv2_backends

    searched: list[tuple[str, Any]] = [
        ("rest", apigateway_backends),
        ("http", apigatewayv2_backends),
    ]
    for kind, backends in searched:
        for account, regions in list(backends.items()):
            for region, backend in list(regions.items()):
                api = backend.apis.get(api_id)
                if api is not None:
                    return kind, account, region, api
    return None


def _message(status: int, message: str, error_type: str | None = None) -> Answer:
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return status, headers, json.dumps({"message": message}).encode()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _split_path(path: str) -> list[str]:
    return [unquote(part) for part in path.split("/") if part]


def _body_fields(request: Request, binary_types: Iterable[str] = ()) -> tuple[str | None, bool]:
    """The event's `body` and `isBase64Encoded`: text as it came, else base64."""
    if not request.body:
        return None, False
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    binary = any(_media_matches(pattern, content_type) for pattern in binary_types)
    if not binary:
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def _media_matches(pattern: str, content_type: str) -> bool:
    pattern = pattern.lower()
    if pattern in ("*/*", content_type):
        return True
    return pattern.endswith("/*") and content_type.startswith(pattern[:-1])


def _request_time(started: float) -> tuple[str, int]:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(started)), int(started * 1000)


# -- invoking the function ------------------------------------------------------------------
class IntegrationFailure(Exception):
    """The integration could not be run (no such function, not permitted): a 500."""


def function_of(uri: str, stage_variables: dict[str, str]) -> Any:
    """The Lambda function an integration URI names (`${stageVariables.x}` resolved)."""
    from moto.awslambda.models import lambda_backends

    resolved = _STAGE_VARIABLE.sub(lambda m: stage_variables.get(m.group(1), ""), uri)
    found = _FUNCTION_ARN.search(resolved)
    if not found:
        raise IntegrationFailure(f"integration URI {uri!r} names no Lambda function")
    arn = found.group(1)
    _, _, _, region, account, _, name, *qualifier = arn.split(":")
    try:
        return lambda_backends[account][region].get_function(
            f"arn:aws:lambda:{region}:{account}:function:{name}",
            qualifier[0] if qualifier else None,
        )
    except Exception as error:  # moto's not-found error
        raise IntegrationFailure(f"function {arn} not found: {error}") from error


def permitted(fn: Any, source_arn: str, account: str) -> bool:
    """Whether the function's resource policy lets API Gateway invoke it for `source_arn`
    (always, with IAM off; audit mode logs a denial and allows)."""
    authorizer = iam.authorizer()
    if authorizer is None or authorizer.mode == iam.OFF:
        return True
    allowed = lambda_permissions.permits(
        getattr(fn.policy, "statements", []),
        APIGATEWAY_PRINCIPAL,
        fn.function_arn,
        source_arn,
        account,
    )
    if allowed:
        return True
    message = (
        f"API Gateway ({source_arn}) may not invoke {fn.function_arn}: no statement of its "
        f"resource policy allows {APIGATEWAY_PRINCIPAL} lambda:InvokeFunction"
    )
    if authorizer.mode == iam.AUDIT:
        log.warning("IAM audit (allowed): %s", message)
        return True
    log.warning("%s", message)
    return False


def invoke_raw(fn: Any, event: dict[str, Any]) -> tuple[Any, bool]:
    """The function's parsed answer (its error object when it failed; None if not JSON)
    and whether it failed."""
    from localcloud import lambda_runner

    outcome = lambda_runner.runner().invoke(fn, event)
    try:
        result = json.loads(outcome.payload) if outcome.payload else None
    except ValueError:
        result = None
    return result, outcome.function_error


def invoke(fn: Any, event: dict[str, Any]) -> tuple[Any, bool]:
    """The function's parsed result (None if not JSON or when it failed) and whether it
    failed."""
    result, failed = invoke_raw(fn, event)
    return (result if not failed else None), failed


def _text(value: Any) -> str | None:
    """A header value as API Gateway takes it (strings, numbers, booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def proxy_response(result: Any) -> Answer | None:
    """A Lambda proxy response (REST, payload 1.0) as HTTP; None when it is malformed."""
    if not isinstance(result, dict) or set(result) - PROXY_RESPONSE_KEYS:
        return None
    try:
        status = int(result.get("statusCode"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    headers: dict[str, list[str]] = {}
    for name, value in (result.get("headers") or {}).items():
        text = _text(value)
        if text is None:
            return None
        headers[str(name)] = [text]
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(multi, dict):
        return None
    for name, values in multi.items():
        if not isinstance(values, list) or any(_text(v) is None for v in values):
            return None
        headers[str(name)] = [str(_text(v)) for v in values]
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        return None
    encoded = result.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        return None
    try:
        payload = base64.b64decode(body or "") if encoded else (body or "").encode()
    except ValueError:
        return None
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = ["application/json"]
    return status, [(n, v) for n, values in headers.items() for v in values], payload


def proxy_event(
    request: Request,
    *,
    account: str,
    api_id: str,
    resource_id: str,
    resource_path: str,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    binary_types: Iterable[str],
    context_path: str,
) -> dict[str, Any]:
    """A Lambda proxy event of a REST API (and an HTTP API's payload format 1.0)."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in [*request.headers, *_forwarded(request)]:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    body, encoded = _body_fields(request, binary_types)
    request_time, epoch = _request_time(request.started)
    return {
        "resource": resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": stage_variables or None,
        "requestContext": {
            "resourceId": resource_id,
            "resourcePath": resource_path,
            "httpMethod": request.method,
            "extendedRequestId": request.request_id[:16],
            "requestTime": request_time,
            "path": context_path,
            "accountId": account,
            "protocol": "HTTP/1.1",
            "stage": request.stage,
            "domainPrefix": api_id,
            "requestTimeEpoch": epoch,
            "requestId": request.request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.header("User-Agent"),
                "user": None,
            },
            "domainName": request.host,
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def _forwarded(request: Request) -> list[tuple[str, str]]:
    """The headers API Gateway adds to what the client sent."""
    trace = f"Root=1-{int(request.started):08x}-{request.request_id.replace('-', '')[:24]}"
    return [
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Proto", "http"),
        ("X-Amzn-Trace-Id", trace),
    ]


# -- REST APIs ------------------------------------------------------------------------------
@dataclass
class Match:
    resource: Any
    path_parameters: dict[str, str]


class RestApiServer:
    """One REST API's answers."""

    def __init__(self, api: Any, account: str, region: str) -> None:
        self.api = api
        self.account = account
        self.region = region

    def answer(self, request: Request) -> Answer:
        path = request.path
        if request.stage is None:
            parts = path.split("/", 2)
            if len(parts) < 2 or not parts[1]:
                return _message(
                    403, "Missing Authentication Token", "MissingAuthenticationTokenException"
                )
            request.stage = unquote(parts[1])
            path = "/" + (parts[2] if len(parts) > 2 else "")
        stage = self.api.stages.get(request.stage)
        if stage is None:
            return _message(403, "Forbidden", "ForbiddenException")
        request.path = path
        match = self.match(_split_path(path))
        method = None
        if match is not None:
            methods = match.resource.resource_methods
            method = methods.get(request.method) or methods.get("ANY")
        if match is None or method is None:
            return _message(
                403, "Missing Authentication Token", "MissingAuthenticationTokenException"
            )
        integration = method.method_integration
        if integration is None:
            return _message(500, "Internal server error", "InternalServerErrorException")
        kind = integration.integration_type
        verdict = apigateway_auth.authorize_rest(self, request, stage, match, method)
        if verdict.refused is not None:
            answer = verdict.refused
        elif kind == "AWS_PROXY":
            answer = self._lambda_proxy(request, stage, match, integration, verdict.context)
        elif kind == "MOCK":
            answer = apigateway_integrations.mock(
                self, request, stage, match, method, integration, verdict.context
            )
        elif kind == "AWS":
            answer = apigateway_integrations.run(
                self, request, stage, match, method, integration, verdict.context
            )
        else:
            log.warning("REST integration type %s is not run by the local cloud", kind)
            answer = _message(500, "Internal server error", "InternalServerErrorException")
        status, headers, payload = answer
        headers = [
            *headers,
            ("x-amzn-RequestId", request.request_id),
            ("x-amz-apigw-id", request.request_id[:16]),
        ]
        return status, headers, payload

    # Resources: a literal child before `{param}`, before `{greedy+}`, backtracking.
    def match(self, segments: list[str]) -> Match | None:
        resources = list(self.api.resources.values())
        children: dict[str | None, list[Any]] = {}
        root = None
        for resource in resources:
            if resource.parent_id is None:
                root = resource
            children.setdefault(resource.parent_id, []).append(resource)
        if root is None:
            return None

        def walk(resource: Any, rest: list[str], params: dict[str, str]) -> Match | None:
            if not rest:
                return Match(resource, params)
            kids = children.get(resource.id, [])
            head = rest[0]
            for kid in kids:
                if kid.path_part == head:
                    found = walk(kid, rest[1:], params)
                    if found:
                        return found
            for kid in kids:
                part = kid.path_part
                if part.startswith("{") and part.endswith("}") and not part.endswith("+}"):
                    found = walk(kid, rest[1:], {**params, part[1:-1]: head})
                    if found:
                        return found
            for kid in kids:
                part = kid.path_part
                if part.startswith("{") and part.endswith("+}"):
                    return Match(kid, {**params, part[1:-2]: "/".join(rest)})
            return None

        return walk(root, segments, {})

    def event(self, request: Request, stage: Any, match: Match) -> dict[str, Any]:
        """The Lambda proxy integration's event, in Lambda's shape."""
        return proxy_event(
            request,
            account=self.account,
            api_id=self.api.id,
            resource_id=match.resource.id,
            resource_path=match.resource.get_path(),
            path_parameters=match.path_parameters,
            stage_variables=dict(stage.variables),
            binary_types=self.api.binaryMediaTypes or [],
            context_path=f"/{request.stage}{request.path}",
        )

    def source_arn(self, request: Request) -> str:
        return (
            f"arn:aws:execute-api:{self.region}:{self.account}:{self.api.id}/{request.stage}/"
            f"{request.method}{request.path}"
        )

    def _lambda_proxy(
        self,
        request: Request,
        stage: Any,
        match: Match,
        integration: Any,
        authorizer: dict[str, Any] | None = None,
    ) -> Answer:
        error = _message(500, "Internal server error", "InternalServerErrorException")
        try:
            fn = function_of(str(integration.uri), dict(stage.variables))
        except IntegrationFailure as failure:
            log.warning("%s", failure)
            return error
        if not permitted(fn, self.source_arn(request), self.account):
            return error
        event = self.event(request, stage, match)
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        result, failed = invoke(fn, event)
        answer = None if failed else proxy_response(result)
        if answer is None:
            if not failed:
                log.warning("Malformed Lambda proxy response from %s", fn.function_name)
            return _message(502, "Internal server error", "InternalServerErrorException")
        return answer


# -- HTTP APIs ------------------------------------------------------------------------------
@dataclass
class RouteMatch:
    route: Any
    path_parameters: dict[str, str]
    route_path: str


def _route_rank(
    route_key: str, method: str, segments: list[str]
) -> tuple[tuple[Any, ...], dict[str, str]] | None:
    """How specifically `route_key` matches (a higher key wins) and its path parameters, or
    None when it does not match: literal segments before `{param}` before a greedy
    `{proxy+}`, a method before `ANY`, `$default` last."""
    if route_key == "$default":
        return (0, (), False), {}
    verb, _, route_path = route_key.partition(" ")
    if verb not in (method, "ANY"):
        return None
    parts = _split_path(route_path)
    params: dict[str, str] = {}
    kinds: list[int] = []
    for index, part in enumerate(parts):
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("+}"):
            params[part[1:-2]] = "/".join(segments[index:])
            return (1, (*kinds, 1), verb != "ANY"), params
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = segments[index]
            kinds.append(2)
        elif part == segments[index]:
            kinds.append(3)
        else:
            return None
    if len(parts) != len(segments):
        return None
    return (2, tuple(kinds), verb != "ANY"), params


class HttpApiServer:
    """One HTTP API's answers."""

    def __init__(self, api: Any, account: str, region: str) -> None:
        self.api = api
        self.account = account
        self.region = region

    def _stage(self, request: Request) -> tuple[Any, str] | None:
        """The stage and the path after it."""
        stages = self.api.stages
        if request.stage is not None:
            stage = stages.get(request.stage)
            return (stage, request.path) if stage is not None else None
        parts = request.path.split("/", 2)
        if len(parts) > 1 and parts[1] and parts[1] != "$default" and parts[1] in stages:
            request.stage = parts[1]
            return stages[parts[1]], "/" + (parts[2] if len(parts) > 2 else "")
        if "$default" in stages:
            request.stage = "$default"
            return stages["$default"], request.path
        return None

    def match(self, method: str, path: str) -> RouteMatch | None:
        segments = _split_path(path)
        best: tuple[tuple[Any, ...], dict[str, str], Any] | None = None
        for route in self.api.routes.values():
            ranked = _route_rank(str(route.route_key), method, segments)
            if ranked is not None and (best is None or ranked[0] > best[0]):
                best = (*ranked, route)
        if best is None:
            return None
        _, params, route = best
        key = str(route.route_key)
        return RouteMatch(route, params, key.partition(" ")[2] if key != "$default" else "")

    def answer(self, request: Request) -> Answer:
        found = self._stage(request)
        if found is None:
            return _message(404, "Not Found")
        stage, path = found
        raw_path = request.path
        request.path = path
        cors = self._cors(request)
        preflight = request.method == "OPTIONS" and request.header("Access-Control-Request-Method")
        if cors is not None and preflight:
            return 204, cors, b""
        match = self.match(request.method, path)
        if match is None:
            status, headers, payload = _message(404, "Not Found")
        else:
            verdict = apigateway_auth.authorize_http(self, request, stage, match, raw_path)
            if verdict.refused is not None:
                status, headers, payload = verdict.refused
            else:
                status, headers, payload = self._integrate(
                    request, stage, match, raw_path, verdict.context
                )
        headers = [*headers, ("Apigw-Requestid", request.request_id[:16])]
        if cors is not None and request.header("Origin"):
            headers.extend(h for h in cors if h[0] != "Access-Control-Allow-Methods")
        return status, headers, payload

    def _cors(self, request: Request) -> list[tuple[str, str]] | None:
        """The API's CORS headers for this request's origin (None: no CORS configured, or
        an origin it does not allow)."""
        config = self.api.cors_configuration
        origin = request.header("Origin")
        if not isinstance(config, dict) or not origin:
            return None
        origins = config.get("AllowOrigins") or []
        if "*" not in origins and origin not in origins:
            return None
        headers = [("Access-Control-Allow-Origin", "*" if "*" in origins else origin)]
        for key, name in (
            ("AllowMethods", "Access-Control-Allow-Methods"),
            ("AllowHeaders", "Access-Control-Allow-Headers"),
            ("ExposeHeaders", "Access-Control-Expose-Headers"),
        ):
            if config.get(key):
                headers.append((name, ",".join(str(v) for v in config[key])))
        if config.get("AllowCredentials") is True:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if config.get("MaxAge") is not None:
            headers.append(("Access-Control-Max-Age", str(config["MaxAge"])))
        return headers

    def _integrate(
        self,
        request: Request,
        stage: Any,
        match: RouteMatch,
        raw_path: str,
        authorizer: dict[str, Any] | None = None,
    ) -> Answer:
        error = _message(500, "Internal Server Error")
        target = str(match.route.target or "")
        integration = self.api.integrations.get(target.rpartition("/")[2])
        if integration is not None and integration.integration_subtype:
            return apigateway_http_services.run(
                self, request, stage, match, integration, authorizer
            )
        if integration is None or integration.integration_type != "AWS_PROXY":
            kind = integration.integration_type if integration is not None else "none"
            log.warning("HTTP API integration %s is not run by the local cloud", kind)
            return error
        try:
            fn = function_of(str(integration.integration_uri), dict(stage.stage_variables))
        except IntegrationFailure as failure:
            log.warning("%s", failure)
            return error
        route_path = match.route_path or request.path
        source_arn = (
            f"arn:aws:execute-api:{self.region}:{self.account}:{self.api.api_id}/{request.stage}/"
            f"{request.method}{route_path}"
        )
        if not permitted(fn, source_arn, self.account):
            return error
        version = str(integration.payload_format_version or "2.0")
        if version == "1.0":
            event = self._event_v1(request, stage, match, raw_path)
        else:
            event = self.event(request, stage, match, raw_path)
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        result, failed = invoke(fn, event)
        if failed:
            return error
        answer = proxy_response(result) if version == "1.0" else response_v2(result)
        return answer if answer is not None else error

    def event(
        self, request: Request, stage: Any, match: RouteMatch, raw_path: str
    ) -> dict[str, Any]:
        """Payload format 2.0."""
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in [*request.headers, *_forwarded(request)]:
            lowered = name.lower()
            if lowered == "cookie":
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
                continue
            headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
        query: dict[str, str] = {}
        for name, value in parse_qsl(request.query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        body, encoded = _body_fields(request)
        request_time, epoch = _request_time(request.started)
        route_key = str(match.route.route_key)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": request.query,
        }
        if cookies:
            event["cookies"] = cookies
        event["headers"] = headers
        if query:
            event["queryStringParameters"] = query
        event["requestContext"] = {
            "accountId": self.account,
            "apiId": self.api.api_id,
            "domainName": request.host,
            "domainPrefix": self.api.api_id,
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": request.header("User-Agent") or "",
            },
            "requestId": request.request_id[:16],
            "routeKey": route_key,
            "stage": request.stage,
            "time": request_time,
            "timeEpoch": epoch,
        }
        if body is not None:
            event["body"] = body
        if match.path_parameters:
            event["pathParameters"] = match.path_parameters
        event["isBase64Encoded"] = encoded
        if stage.stage_variables:
            event["stageVariables"] = dict(stage.stage_variables)
        return event

    def _event_v1(
        self, request: Request, stage: Any, match: RouteMatch, raw_path: str
    ) -> dict[str, Any]:
        """Payload format 1.0: the REST proxy event, with `version` and the route's names."""
        event = proxy_event(
            request,
            account=self.account,
            api_id=self.api.api_id,
            resource_id=str(match.route.route_id),
            resource_path=match.route_path or request.path,
            path_parameters=match.path_parameters,
            stage_variables=dict(stage.stage_variables or {}),
            binary_types=(),
            context_path=raw_path,
        )
        event["requestContext"]["routeKey"] = str(match.route.route_key)
        return {"version": "1.0", **event}


def response_v2(result: Any) -> Answer | None:
    """Payload 2.0's response rules: a `statusCode` makes a structured response; anything
    else is a 200 JSON answer with the value as its body."""
    if isinstance(result, dict) and "statusCode" in result:
        try:
            status = int(result["statusCode"])
        except (TypeError, ValueError):
            return None
        headers: list[tuple[str, str]] = []
        for name, value in (result.get("headers") or {}).items():
            text = _text(value)
            if text is None:
                return None
            headers.append((str(name), text))
        for cookie in result.get("cookies") or []:
            headers.append(("Set-Cookie", str(cookie)))
        body = result.get("body")
        if body is not None and not isinstance(body, str):
            body = json.dumps(body)
        try:
            payload = (
                base64.b64decode(body or "")
                if result.get("isBase64Encoded") is True
                else (body or "").encode()
            )
        except ValueError:
            return None
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return status, headers, payload
    if isinstance(result, str):
        return 200, [("Content-Type", "application/json")], result.encode()
    return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
