"""The front door: DynamoDB and DynamoDB Streams requests on the local cloud's port go to
DynamoDB Local; everything else goes to moto.

A request is DynamoDB's when its `X-Amz-Target` is `DynamoDB_20120810.*` or
`DynamoDBStreams_20120810.*`, whatever host header the SDK or CLI sent. It is forwarded as
it came, with the DynamoDB ARNs in it translated to DynamoDB Local's form, and the answer
comes back unchanged except for identity: ARNs and stream records carry the request's
region and the caller's account (the body's CRC32 header is recomputed). The operations
DynamoDB Local lacks are answered by `TableExtras`; every successful item write wakes the
stream poller, so records reach their functions without waiting for a poll interval.
`GetRecords` answers give the TTL sweeper's REMOVE records its service identity, and
`POST /_localcloud/ttl/expire` runs one TTL pass now and answers what it did.

A request signed with a Lambda function's credentials (`localcloud.iam`) is authorized
against the function's role first: DynamoDB's per table, index, stream and transaction item
(`iam_dynamodb`), SQS, SNS, S3, Lambda and CloudWatch Logs calls as `iam_services` maps them;
it is refused with AWS's denial in the service's protocol when the role does not allow it;
`GET /_localcloud/iam/report` answers what each function used and was denied.

Requests to a deployed API (`/restapis/<id>/<stage>/_user_request_/...`, or a host
`<id>.execute-api.localhost`) are answered by API Gateway's data plane (`apigateway`) before
anything else. `PUT /_localcloud/cfn-response/<token>` is a custom resource's `ResponseURL`
(`custom_resources`).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import zlib
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.wsgi import get_input_stream

from localcloud import (
    apigateway,
    arns,
    custom_resources,
    iam,
    iam_dynamodb,
    iam_policy,
    iam_services,
    ttl,
)
from localcloud.engine import DYNAMODB_TARGET, STREAMS_TARGET, EngineClient, EngineError
from localcloud.table_extras import Caller, ExtrasError, TableExtras

log = logging.getLogger("localcloud.front_door")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

DEFAULT_REGION = "us-east-1"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
ITEM_WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
# Not forwarded: the engine's connection is ours, and a compressed answer could not be
# rewritten.
_DROPPED_REQUEST_HEADERS = frozenset(
    {"HOST", "CONNECTION", "CONTENT_LENGTH", "TRANSFER_ENCODING", "ACCEPT_ENCODING", "EXPECT"}
)
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-length", "x-amz-crc32", "transfer-encoding", "connection", "server", "date"}
)
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"


def is_dynamodb_target(target: str) -> bool:
    """Whether an `X-Amz-Target` is DynamoDB's or DynamoDB Streams'."""
    return target.startswith((f"{DYNAMODB_TARGET}.", f"{STREAMS_TARGET}."))


def is_dynamodb(environ: dict[str, Any]) -> bool:
    """Whether a request is for DynamoDB or DynamoDB Streams."""
    return is_dynamodb_target(str(environ.get("HTTP_X_AMZ_TARGET", "")))


def caller_of(environ: dict[str, Any]) -> Caller:
    """The request's region (from its signature) and account (as moto derives it)."""
    from moto.iam.models import get_account_id_from

    match = _CREDENTIAL.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    access_key, region = (match.group(1), match.group(2)) if match else ("", DEFAULT_REGION)
    account = (
        os.environ.get("MOTO_ACCOUNT_ID")
        or environ.get("HTTP_X_MOTO_ACCOUNT_ID")
        or get_account_id_from(access_key or "AKIAEXAMPLE")
    )
    host = str(environ.get("HTTP_HOST") or f"localhost:{environ.get('SERVER_PORT', '')}")
    return Caller(region=region, account=str(account), host=host, access_key=access_key)


def access_key_of(environ: dict[str, Any]) -> str:
    """The access key that signed the request ('' when unsigned)."""
    match = _CREDENTIAL.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return match.group(1) if match else ""


def error_body(
    code: str, message: str, namespace: str = "com.amazonaws.dynamodb.v20120810"
) -> bytes:
    """An error in DynamoDB's JSON shape."""
    return json.dumps({"__type": f"{namespace}#{code}", "message": message}).encode()


# The condition keys the front door fills when a request has them; a policy condition on
# any other key is reported as unsupported rather than read as absent. `aws:SourceArn` is
# known and absent, as AWS leaves it out of requests signed with a role session's
# credentials (it is there only when a service calls on a resource's behalf).
FILLED_KEYS = frozenset(
    {
        "aws:SourceArn",
        iam_dynamodb.LEADING_KEYS,
        iam_dynamodb.ATTRIBUTES,
        iam_dynamodb.SELECT,
        iam_dynamodb.RETURN_VALUES,
        iam_dynamodb.RETURN_CONSUMED_CAPACITY,
        iam_dynamodb.ENCLOSING_OPERATION,
        iam_dynamodb.TAG_KEYS,
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:RequestedRegion",
        "lambda:SourceFunctionArn",
    }
)
IAM_REPORT_PATH = "/_localcloud/iam/report"


class FrontDoor:
    """WSGI middleware: DynamoDB to the engine, the rest to `app` (moto)."""

    def __init__(
        self,
        app: WsgiApp,
        client: EngineClient,
        extras: TableExtras,
        on_write: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self.client = client
        self.extras = extras
        self.on_write = on_write
        self._key_schemas: dict[str, iam_dynamodb.KeySchema | None] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # API Gateway's data plane: a call to a deployed API, never one of moto's.
        answered = apigateway.serve(environ, start_response)
        if answered is not None:
            return answered
        if environ.get("PATH_INFO") == ttl.EXPIRE_PATH:
            return self._expire_now(environ, start_response)
        if environ.get("PATH_INFO") == IAM_REPORT_PATH:
            return self._iam_report(start_response)
        if str(environ.get("PATH_INFO", "")).startswith(custom_resources.RESPONSE_PATH):
            return self._custom_resource_response(environ, start_response)
        if not is_dynamodb(environ):
            denial = self._authorize_service(environ)
            if denial is not None:
                status, headers, payload = denial
                start_response(f"{status} {reason_phrase(status)}".strip(), headers)
                return [payload]
            return self.app(environ, start_response)
        status, headers, payload = self.answer(environ, get_input_stream(environ).read())
        start_response(f"{status} {reason_phrase(status)}".strip(), headers)
        return [payload]

    def answer(
        self, environ: dict[str, Any], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers (with length and CRC32) and body for one DynamoDB request.

        `environ` needs only the request's `HTTP_*` headers, `CONTENT_TYPE` and `SERVER_PORT`:
        the server's keep-alive fast path calls this without building a WSGI request.
        """
        target = str(environ["HTTP_X_AMZ_TARGET"])
        operation = target.split(".", 1)[1]
        caller = caller_of(environ)
        try:
            status, headers, payload = self.handle(target, operation, body, environ, caller)
        except EngineError as error:
            log.error("DynamoDB Local did not answer %s: %s", operation, error)
            status, headers = 500, []
            payload = error_body("InternalServerError", f"DynamoDB Local is not answering: {error}")
        return status, self._headers(headers, payload), payload

    def handle(
        self,
        target: str,
        operation: str,
        body: bytes,
        environ: dict[str, Any],
        caller: Caller,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Answer one DynamoDB request: from the extras, or forwarded to the engine."""
        is_streams = target.startswith(STREAMS_TARGET)
        request: dict[str, Any] | None = None
        denial = self._authorize(operation, body, environ, caller)
        if denial:
            return 400, [], error_body("AccessDeniedException", denial, "com.amazon.coral.service")
        if not is_streams and operation in TableExtras.OPERATIONS:
            return self._answer_extras(operation, self._parse(body), caller)
        if not is_streams and operation == "CreateTable":
            # A malformed body is the engine's to answer; bad tags are refused first.
            request = self._parse(body)
            if request is not None:
                try:
                    self.extras.validate_create(request)
                except ExtrasError as error:
                    return 400, [], error_body(error.code, error.message)
        headers = {
            key[5:].replace("_", "-").title(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_") and key[5:] not in _DROPPED_REQUEST_HEADERS
        }
        headers["Content-Type"] = str(environ.get("CONTENT_TYPE") or JSON_CONTENT_TYPE)
        forwarded, rewrite_answer = arns.request_to_engine(operation, body)
        response = self.client.forward(forwarded, headers)
        if response.status == 200 and not is_streams:
            self._after(operation, request, body)
        payload = response.body
        if is_streams and operation == "GetRecords" and response.status == 200:
            payload = self._mark_expiries(body, payload)
        if rewrite_answer:
            payload = arns.from_engine(payload, caller.region, caller.account)
        kept = [(k, v) for k, v in response.headers if k.lower() not in _DROPPED_RESPONSE_HEADERS]
        return response.status, kept, payload

    # -- IAM ------------------------------------------------------------------------------
    def _key_schema(self, table: str) -> iam_dynamodb.KeySchema | None:
        """A table's keys, for `dynamodb:LeadingKeys` (cached; None for an unknown table)."""
        if table not in self._key_schemas:
            try:
                described = self.client.call("DescribeTable", {"TableName": table})["Table"]
            except EngineError:
                return None
            keys = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
            self._key_schemas[table] = iam_dynamodb.KeySchema(keys["HASH"], keys.get("RANGE"))
        return self._key_schemas[table]

    def _authorize(
        self, operation: str, body: bytes, environ: dict[str, Any], caller: Caller
    ) -> str:
        """'' when the request may go on; else AWS's denial message."""
        authorizer = iam.authorizer()
        if authorizer is None or authorizer.mode == iam.OFF:
            return ""
        principal = authorizer.principal(caller.access_key)
        if principal is None:
            return ""  # the account's administrator (the tutorials' fake keys)
        try:
            translated = iam_dynamodb.authorization_requests(
                operation,
                self._parse(body) or {},
                region=caller.region,
                account=caller.account,
                key_schema=self._key_schema,
                stream_arn_of_iterator=arns.stream_of_iterator,
            )
        except iam_dynamodb.UnsupportedOperation:
            authorizer.note_unsupported(principal, f"dynamodb:{operation} is not checked")
            return ""
        except iam_dynamodb.MalformedRequest:
            return ""  # the engine answers it with its own ValidationException
        return self._decide(authorizer, principal, translated, caller)

    def _authorize_service(
        self, environ: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """None when a request for moto's services may go on; else AWS's denial answer."""
        authorizer = iam.authorizer()
        if authorizer is None or authorizer.mode == iam.OFF:
            return None
        principal = authorizer.principal(access_key_of(environ))
        if principal is None:
            return None
        body = get_input_stream(environ).read()
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        environ["CONTENT_LENGTH"] = str(len(body))
        caller = caller_of(environ)
        try:
            translated = iam_services.authorization_requests(
                environ, body, region=caller.region, account=caller.account
            )
        except iam_dynamodb.UnsupportedOperation as error:
            authorizer.note_unsupported(principal, str(error))
            return None
        except iam_dynamodb.MalformedRequest:
            return None  # moto answers it
        message = self._decide(authorizer, principal, translated, caller)
        return iam_services.denial_response(environ, message) if message else None

    @staticmethod
    def _decide(
        authorizer: iam.Authorizer,
        principal: iam.Principal,
        translated: list[iam_dynamodb.AuthorizationRequest],
        caller: Caller,
    ) -> str:
        """'' when every request is allowed (or the mode is audit); else the first denial."""
        globals_ = {
            "aws:PrincipalArn": (principal.role_arn,),
            "aws:PrincipalAccount": (principal.account,),
            "aws:RequestedRegion": (caller.region,),
            "lambda:SourceFunctionArn": (principal.function_arn,),
        }
        requests = [
            iam_policy.Request(
                r.action,
                r.resource,
                {**globals_, **r.context},
                filled_keys=FILLED_KEYS | set(r.context),
            )
            for r in translated
        ]
        denied = [check for check in authorizer.check(principal, requests) if not check.allowed]
        if not denied:
            return ""
        if authorizer.mode == iam.AUDIT:
            for check in denied:
                log.warning("IAM audit (allowed): %s", check.message)
            return ""
        return denied[0].message

    @staticmethod
    def _custom_resource_response(
        environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """`PUT /_localcloud/cfn-response/<token>`: a custom resource's answer (its
        `ResponseURL`), handed to the stack operation that waits for it."""
        token = str(environ["PATH_INFO"])[len(custom_resources.RESPONSE_PATH) :]
        status, payload = custom_resources.answer(token, get_input_stream(environ).read())
        start_response(
            f"{status} {reason_phrase(status)}",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    @staticmethod
    def _iam_report(start_response: StartResponse) -> Iterable[bytes]:
        """`GET /_localcloud/iam/report`: per function, what it used and was denied."""
        authorizer = iam.authorizer()
        answer = authorizer.report() if authorizer is not None else {"mode": iam.OFF}
        payload = json.dumps(answer, indent=2).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _answer_extras(
        self, operation: str, request: dict[str, Any] | None, caller: Caller
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """An operation DynamoDB Local lacks, answered by the table extras."""
        if request is None:
            message = "Start of structure or map found where not expected"
            return 400, [], error_body("SerializationException", message)
        try:
            translated = json.loads(arns.to_engine(json.dumps(request).encode()))
            answer = self.extras.answer(operation, translated, caller)
        except ExtrasError as error:
            return 400, [], error_body(error.code, error.message)
        payload = arns.from_engine(json.dumps(answer).encode(), caller.region, caller.account)
        return 200, [], payload

    def _mark_expiries(self, request: bytes, answer: bytes) -> bytes:
        """A `GetRecords` answer with the service identity on the TTL sweeper's REMOVEs."""
        if b'"REMOVE"' not in answer:
            return answer
        iterator = str((self._parse(request) or {}).get("ShardIterator") or "")
        stream_arn = arns.stream_of_iterator(iterator) or ""
        records = json.loads(answer)
        if not ttl.annotate(stream_arn, records.get("Records") or [], ttl.STREAMS_API_IDENTITY):
            return answer
        return json.dumps(records).encode()

    @staticmethod
    def _expire_now(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """`POST /_localcloud/ttl/expire`: one TTL pass now; JSON of what it did."""
        headers = [("Content-Type", "application/json")]
        if environ.get("REQUEST_METHOD") != "POST":
            status, answer = 405, {"error": f"{ttl.EXPIRE_PATH} takes POST"}
            headers.append(("Allow", "POST"))
        else:
            try:
                status, answer = 200, ttl.sweeper().run_pass().as_json()
            except RuntimeError as error:  # EngineError too: the engine is not answering
                log.error("TTL pass on request failed: %s", error)
                status, answer = 503, {"error": str(error)}
        payload = json.dumps(answer).encode()
        headers.append(("Content-Length", str(len(payload))))
        start_response(f"{status} {reason_phrase(status)}", headers)
        return [payload]

    @staticmethod
    def _parse(body: bytes) -> dict[str, Any] | None:
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def _after(self, operation: str, request: dict[str, Any] | None, body: bytes) -> None:
        """Bookkeeping after the engine accepted a request."""
        if operation in ITEM_WRITES:
            self.on_write()
        elif operation == "CreateTable" and request is not None:
            self.extras.table_created(request)
            self._key_schemas.pop(str(request.get("TableName")), None)
        elif operation == "DeleteTable":
            parsed = self._parse(body) or {}
            if parsed.get("TableName"):
                self.extras.table_deleted(str(parsed["TableName"]))
                self._key_schemas.pop(str(parsed["TableName"]), None)

    @staticmethod
    def _headers(headers: list[tuple[str, str]], payload: bytes) -> list[tuple[str, str]]:
        names = {name.lower() for name, _ in headers}
        out = list(headers)
        if "content-type" not in names:
            out.append(("Content-Type", JSON_CONTENT_TYPE))
        out.append(("Content-Length", str(len(payload))))
        out.append(("X-Amz-Crc32", str(zlib.crc32(payload) & 0xFFFFFFFF)))
        return out


def reason_phrase(status: int) -> str:
    """HTTP's reason phrase for `status` ('' for a code it does not know)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
