"""API Gateway's authorizers: REST Lambda (TOKEN, REQUEST) and Cognito authorizers, and
HTTP API Lambda authorizers (payload 2.0, simple or IAM responses).

REST: a TOKEN authorizer reads its `identitySource` header (absent, or not matching the
`identityValidationExpression`, is 401 `{"message":"Unauthorized"}` without calling the
function) and gets `{"type":"TOKEN","authorizationToken","methodArn"}`; a REQUEST
authorizer gets the proxy event's request fields with `type` and `methodArn` (a missing
identity source is 401). The function's `policyDocument` is evaluated for the method ARN
(`arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`, `*` and `?`
wildcards, a `Deny` wins): a `Deny` is 403 `{"Message":"User is not authorized to access
this resource with an explicit deny"}`, no `Allow` 403 `{"Message":"User is not authorized
to access this resource"}`; the error `Unauthorized` is 401; any other error or a malformed
answer is 500 (`AuthorizerConfigurationException`). An allowed request reaches the
integration with `principalId` and the `context` values (as strings) in
`requestContext.authorizer` (`$context.authorizer.*` in templates). Results are cached per
identity for `authorizerResultTtlInSeconds` (300 when unset, 0 is no cache), and a cached
policy is evaluated against each new method ARN, as on AWS.

Cognito (`COGNITO_USER_POOLS`): the identity header must hold a JWT whose payload parses and
whose `exp` has not passed; its claims are `requestContext.authorizer.claims`. The signature,
issuer, audience and scopes are NOT checked (moto does not create user pools from
CloudFormation, so there is no pool to check them against): any well-formed token passes.

HTTP APIs: `identitySource` (`$request.header.X`, `$request.querystring.x`,
`$context.x`, `$stageVariables.x`; any missing is 401 `{"message":"Unauthorized"}`), event
payload 2.0 (`type`, `routeArn`, `identitySource`, the request fields of the route's event),
a simple response (`isAuthorized`, `context`) or an IAM policy; refused is 403
`{"message":"Forbidden"}`, a function error 500; the `context` reaches the integration as
`requestContext.authorizer.lambda`.

The authorizer function is invoked as the integrations are (`apigateway.invoke_raw`), and
needs a resource policy allowing `arn:aws:execute-api:<region>:<account>:<api>/authorizers/<id>`
under `LOCALCLOUD_IAM=enforce`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from localcloud import apigateway

log = logging.getLogger("localcloud.apigateway")

DEFAULT_TTL_S = 300
EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
IMPLICIT_DENY = "User is not authorized to access this resource"


@dataclass
class Verdict:
    """An authorizer's decision: `refused` is the answer to send instead of the
    integration's; `context` goes to `requestContext.authorizer`."""

    refused: apigateway.Answer | None = None
    context: dict[str, Any] | None = None


@dataclass
class _Result:
    """What an authorizer function answered (cached per identity)."""

    principal_id: Any = None
    policy: Any = None
    context: dict[str, Any] = field(default_factory=dict)
    authorized: bool | None = None  # an HTTP API's simple response


_CACHE: dict[tuple[str, ...], tuple[float, _Result]] = {}
_CACHE_LOCK = threading.Lock()


def _cached(key: tuple[str, ...]) -> _Result | None:
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is None:
            return None
        if found[0] < time.monotonic():
            _CACHE.pop(key, None)
            return None
        return found[1]


def _remember(key: tuple[str, ...], ttl: int, result: _Result) -> None:
    if ttl > 0:
        with _CACHE_LOCK:
            _CACHE[key] = (time.monotonic() + ttl, result)


def _ttl(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_TTL_S
    try:
        return int(value)
    except (TypeError, ValueError):
        return DEFAULT_TTL_S


# -- policies ---------------------------------------------------------------------------
def _wildcard(pattern: str, value: str) -> bool:
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def policy_effect(policy: Any, method_arn: str) -> str | None:
    """ "Deny", "Allow" or None (no statement applies) for `execute-api:Invoke` on
    `method_arn`; `ValueError` when the document is not a policy."""
    if isinstance(policy, str):
        policy = json.loads(policy)
    if not isinstance(policy, dict):
        raise ValueError("policyDocument is not an object")
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise ValueError("policyDocument has no Statement list")
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict):
            raise ValueError("a Statement is not an object")
        actions = _listed(statement.get("Action"))
        if not any(_wildcard(a.lower(), "execute-api:invoke") for a in actions):
            continue
        if not any(_wildcard(r, method_arn) for r in _listed(statement.get("Resource"))):
            continue
        effect = str(statement.get("Effect") or "")
        if effect == "Deny":
            return "Deny"
        if effect == "Allow":
            allowed = True
    return "Allow" if allowed else None


def _refusal(status: int, message: str, error_type: str, key: str = "message") -> apigateway.Answer:
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
    return status, headers, json.dumps({key: message}).encode()


UNAUTHORIZED = (401, "Unauthorized", "UnauthorizedException")


def _unauthorized() -> apigateway.Answer:
    return _refusal(*UNAUTHORIZED)


def _configuration_error() -> apigateway.Answer:
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-ErrorType", "AuthorizerConfigurationException"),
    ]
    return 500, headers, b'{"message": null}'


def _run(
    authorizer_uri: str,
    stage_variables: dict[str, str],
    source_arn: str,
    account: str,
    event: dict[str, Any],
) -> tuple[Any, str | None]:
    """(the function's answer, None) or (None, its error message, "" for a fault of ours
    or of the configuration)."""
    try:
        fn = apigateway.function_of(authorizer_uri, stage_variables)
    except apigateway.IntegrationFailure as failure:
        log.warning("authorizer: %s", failure)
        return None, ""
    if not apigateway.permitted(fn, source_arn, account):
        return None, ""
    result, failed = apigateway.invoke_raw(fn, event)
    if failed:
        message = result.get("errorMessage") if isinstance(result, dict) else None
        return None, str(message or "")
    return result, None


def _stringified(context: dict[str, Any]) -> dict[str, Any]:
    return {
        k: apigateway._text(v) if apigateway._text(v) is not None else v for k, v in context.items()
    }


def _result_of(answer: Any, *, simple: bool) -> _Result | None:
    """The function's answer as a `_Result`; None when it is malformed."""
    if not isinstance(answer, dict):
        return None
    context = answer.get("context") or {}
    if not isinstance(context, dict):
        return None
    if simple and "isAuthorized" in answer:
        if not isinstance(answer["isAuthorized"], bool):
            return None
        return _Result(context=context, authorized=answer["isAuthorized"])
    if "policyDocument" not in answer:
        return None
    if any(isinstance(v, (dict, list)) for v in context.values()):
        return None  # AWS refuses object and array context values
    return _Result(answer.get("principalId"), answer.get("policyDocument"), context)


# -- REST APIs ------------------------------------------------------------------------------
def _rest_identity(source: str, request: apigateway.Request, match: Any, stage: Any) -> str | None:
    """One REST identity source's value (`method.request.header.X`, `...querystring.x`,
    `...path.x`, `stageVariables.x`, `context.x`)."""
    source = source.strip()
    if source.startswith("method.request.header."):
        return request.header(source.split(".", 3)[3])
    if source.startswith("method.request.querystring."):
        wanted = source.split(".", 3)[3]
        values = [v for k, v in parse_qsl(request.query, keep_blank_values=True) if k == wanted]
        return values[-1] if values else None
    if source.startswith("method.request.path."):
        parameter = match.path_parameters.get(source.split(".", 3)[3])
        return None if parameter is None else str(parameter)
    if source.startswith("stageVariables."):
        found = dict(stage.variables or {}).get(source.split(".", 1)[1])
        return None if found is None else str(found)
    if source == "context.httpMethod":
        return request.method
    if source == "context.stage":
        return request.stage
    if source == "context.requestId":
        return request.request_id
    return None


def authorize_rest(
    server: apigateway.RestApiServer,
    request: apigateway.Request,
    stage: Any,
    match: Any,
    method: Any,
) -> Verdict:
    """The method's authorizer's decision (no authorizer: allowed, no context)."""
    kind = str(method.authorization_type or "NONE").upper()
    if kind in ("NONE", "AWS_IAM"):
        return Verdict()
    authorizer = server.api.authorizers.get(method.authorizer_id or "")
    if authorizer is None:
        log.warning("method names authorizer %s, which the API lacks", method.authorizer_id)
        return Verdict(refused=_configuration_error())
    if str(authorizer.type).upper() == "COGNITO_USER_POOLS":
        return _cognito(authorizer, request, match, stage)
    method_arn = server.source_arn(request)
    sources = [s for s in str(authorizer.identity_source or "").split(",") if s.strip()]
    identity = [_rest_identity(s, request, match, stage) for s in sources]
    if any(value is None or value == "" for value in identity):
        return Verdict(refused=_unauthorized())
    token_type = str(authorizer.type).upper() == "TOKEN"
    if token_type:
        if not identity:
            return Verdict(refused=_unauthorized())
        expression = authorizer.identity_validation_expression
        if expression and re.fullmatch(str(expression), str(identity[0])) is None:
            return Verdict(refused=_unauthorized())
    ttl = _ttl(authorizer.authorizer_result_ttl) if identity else 0
    key = (server.api.id, str(authorizer.id), *(str(v) for v in identity))
    result = _cached(key)
    if result is None:
        if token_type:
            event: dict[str, Any] = {
                "type": "TOKEN",
                "authorizationToken": identity[0],
                "methodArn": method_arn,
            }
        else:
            event = server.event(request, stage, match)
            event.pop("body", None)
            event.pop("isBase64Encoded", None)
            event = {"type": "REQUEST", "methodArn": method_arn, **event}
        source_arn = (
            f"arn:aws:execute-api:{server.region}:{server.account}:{server.api.id}"
            f"/authorizers/{authorizer.id}"
        )
        answer, error = _run(
            str(authorizer.authorizer_uri or ""),
            dict(stage.variables or {}),
            source_arn,
            server.account,
            event,
        )
        if error == "Unauthorized":
            return Verdict(refused=_unauthorized())
        if error is not None:
            log.warning("authorizer %s failed: %s", authorizer.name, error or "not invoked")
            return Verdict(refused=_configuration_error())
        result = _result_of(answer, simple=False)
        if result is None:
            log.warning("authorizer %s answered no policy: %r", authorizer.name, answer)
            return Verdict(refused=_configuration_error())
        _remember(key, ttl, result)
    try:
        effect = policy_effect(result.policy, method_arn)
    except ValueError as error:
        log.warning("authorizer %s: %s", authorizer.name, error)
        return Verdict(refused=_configuration_error())
    if effect != "Allow":
        message = EXPLICIT_DENY if effect == "Deny" else IMPLICIT_DENY
        return Verdict(refused=_refusal(403, message, "AccessDeniedException", key="Message"))
    context: dict[str, Any] = {"principalId": result.principal_id}
    context.update(_stringified(result.context))
    context["integrationLatency"] = 0
    return Verdict(context=context)


def jwt_claims(token: str) -> dict[str, Any] | None:
    """A JWT's claims (its signature not checked); None when it is not one."""
    token = token.split(" ", 1)[1] if token.lower().startswith("bearer ") else token
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _cognito(authorizer: Any, request: apigateway.Request, match: Any, stage: Any) -> Verdict:
    source = str(authorizer.identity_source or "method.request.header.Authorization")
    token = _rest_identity(source.split(",")[0], request, match, stage)
    claims = jwt_claims(token) if token else None
    if claims is None:
        return Verdict(refused=_unauthorized())
    expires = claims.get("exp")
    if isinstance(expires, (int, float)) and expires < time.time():
        return Verdict(refused=_unauthorized())
    return Verdict(context={"claims": _stringified(claims)})


# -- HTTP APIs ------------------------------------------------------------------------------
def _jwt(
    authorizer: Any, route: Any, request: apigateway.Request, stage: Any, event: dict[str, Any]
) -> Verdict:
    """An HTTP API JWT authorizer (`HttpJwtAuthorizer`, `HttpUserPoolAuthorizer`): the token
    must be a JWT whose claims parse, unexpired, from the configured issuer, for one of the
    configured audiences (`aud`, or `client_id` as Cognito access tokens carry it), with one
    of the route's scopes; its signature is not checked (the local cloud has no issuer's
    keys). The claims reach the integration as `authorizer.jwt.claims`."""
    unauthorized = apigateway._message(401, "Unauthorized")
    sources = authorizer.identity_source or ["$request.header.Authorization"]
    if isinstance(sources, str):
        sources = [sources]
    token = _http_identity(str(sources[0]), request, stage, event)
    claims = jwt_claims(token) if token else None
    if claims is None:
        return Verdict(refused=unauthorized)
    expires = claims.get("exp")
    if isinstance(expires, (int, float)) and expires < time.time():
        return Verdict(refused=unauthorized)
    config = authorizer.jwt_config or {}
    issuer = config.get("Issuer") or config.get("issuer")
    if issuer and str(claims.get("iss", "")).rstrip("/") != str(issuer).rstrip("/"):
        return Verdict(refused=unauthorized)
    audiences = set(config.get("Audience") or config.get("audience") or [])
    given = claims.get("aud", claims.get("client_id"))
    given_set = set(given) if isinstance(given, list) else {given}
    if audiences and not audiences & given_set:
        return Verdict(refused=unauthorized)
    scopes = list(route.authorization_scopes or [])
    granted = str(claims.get("scope", "")).split()
    if scopes and not set(scopes) & set(granted):
        return Verdict(refused=apigateway._message(403, "Forbidden"))
    return Verdict(context={"jwt": {"claims": _stringified(claims), "scopes": granted or None}})


def _http_identity(
    source: str, request: apigateway.Request, stage: Any, event: dict[str, Any]
) -> str | None:
    source = source.strip()
    if source.startswith("$request.header."):
        return request.header(source.split(".", 2)[2])
    if source.startswith("$request.querystring."):
        query: dict[str, str] = event.get("queryStringParameters") or {}
        return query.get(source.split(".", 2)[2])
    if source.startswith("$stageVariables."):
        return dict(stage.stage_variables or {}).get(source.split(".", 1)[1])
    if source.startswith("$context."):
        value: Any = event.get("requestContext") or {}
        for part in source.split(".")[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)
    return None


def authorize_http(
    server: apigateway.HttpApiServer,
    request: apigateway.Request,
    stage: Any,
    match: apigateway.RouteMatch,
    raw_path: str,
) -> Verdict:
    """The route's Lambda authorizer's decision (`NONE`: allowed)."""
    route = match.route
    kind = str(route.authorization_type or "NONE").upper()
    if kind not in ("CUSTOM", "JWT"):
        return Verdict()
    authorizer = server.api.authorizers.get(route.authorizer_id or "")
    if authorizer is None:
        log.warning("route names authorizer %s, which the API lacks", route.authorizer_id)
        return Verdict(refused=apigateway._message(500, "Internal Server Error"))
    if kind == "JWT":
        return _jwt(
            authorizer, route, request, stage, server.event(request, stage, match, raw_path)
        )
    event = server.event(request, stage, match, raw_path)
    sources = authorizer.identity_source or []
    if isinstance(sources, str):
        sources = [s for s in sources.split(",") if s.strip()]
    identity = [_http_identity(str(s), request, stage, event) for s in sources]
    if any(value is None or value == "" for value in identity):
        return Verdict(refused=apigateway._message(401, "Unauthorized"))
    route_path = match.route_path or request.path
    route_arn = (
        f"arn:aws:execute-api:{server.region}:{server.account}:{server.api.api_id}/"
        f"{request.stage}/{request.method}{route_path}"
    )
    ttl = _ttl(authorizer.auth_result_ttl) if identity else 0
    key = (server.api.api_id, str(authorizer.id), *(str(v) for v in identity))
    result = _cached(key)
    simple = authorizer.enable_simple_response in (True, "true", "True")
    if result is None:
        event.pop("body", None)
        event.pop("isBase64Encoded", None)
        event = {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": route_arn,
            "identitySource": identity,
            **{k: v for k, v in event.items() if k != "version"},
        }
        source_arn = (
            f"arn:aws:execute-api:{server.region}:{server.account}:{server.api.api_id}"
            f"/authorizers/{authorizer.id}"
        )
        answer, error = _run(
            str(authorizer.authorizer_uri or ""),
            dict(stage.stage_variables or {}),
            source_arn,
            server.account,
            event,
        )
        if error == "Unauthorized":
            return Verdict(refused=apigateway._message(401, "Unauthorized"))
        if error is not None:
            log.warning("authorizer %s failed: %s", authorizer.name, error or "not invoked")
            return Verdict(refused=apigateway._message(500, "Internal Server Error"))
        result = _result_of(answer, simple=simple)
        if result is None:
            log.warning("authorizer %s answered malformed: %r", authorizer.name, answer)
            return Verdict(refused=apigateway._message(500, "Internal Server Error"))
        _remember(key, ttl, result)
    if result.authorized is not None:
        allowed = result.authorized
    else:
        try:
            allowed = policy_effect(result.policy, route_arn) == "Allow"
        except ValueError as error:
            log.warning("authorizer %s: %s", authorizer.name, error)
            return Verdict(refused=apigateway._message(500, "Internal Server Error"))
    if not allowed:
        return Verdict(refused=apigateway._message(403, "Forbidden"))
    context: dict[str, Any] = {"lambda": result.context}
    if result.principal_id is not None:
        context["principalId"] = result.principal_id
    return Verdict(context=context)
