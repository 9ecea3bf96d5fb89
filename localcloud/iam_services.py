"""The IAM authorization requests AWS evaluates for what a serverless backend's functions call
besides DynamoDB (SQS, Lambda, SNS, S3, CloudWatch Logs, STS), and AWS's refusal of each.

`authorization_requests` reads a WSGI request as moto routes it: the SigV4 credential scope
names the service, the service's protocol names the operation (SQS's JSON `X-Amz-Target` or
its query `Action`, SNS's and STS's query, Lambda's and S3's REST paths, CloudWatch Logs'
`Logs_20140328.*`). Each mapped operation becomes the actions and resources of AWS's Service
Authorization Reference and API references: SQS actions on the queue ARN of `QueueUrl` (a
batch as its base action), Lambda's on the function ARN with its qualifier, `sns:Publish` on
the topic, target or phone number, S3's on `arn:aws:s3:::bucket[/key]` (the bucket found in
the host or path as moto finds it), CloudWatch Logs' writes on the log stream, nothing for
`sts:GetCallerIdentity`. What is not mapped raises `UnsupportedOperation`; a request the
service would refuse for its shape raises `MalformedRequest` (both `iam_dynamodb`'s).

`denial_response` refuses a request as its service does, so an SDK raises the error AWS
raises: `AccessDenied` (SQS, S3, STS), `AuthorizationError` (SNS), `AccessDeniedException`
(Lambda, CloudWatch Logs).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape

from localcloud.iam_dynamodb import AuthorizationRequest, MalformedRequest, UnsupportedOperation

S3_PREFIX = "s3:prefix"
S3_DELIMITER = "s3:delimiter"
S3_MAX_KEYS = "s3:max-keys"

_CREDENTIAL_SCOPE = re.compile(
    r"Credential=[^/,\s]+/\d{8}/[a-z0-9-]+/(?P<service>[a-z0-9-]+)/aws4_request"
)
_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_MAX_FIELDS = 5000  # query parameters of one request: an SQS batch sends a few hundred
_ACCOUNT = re.compile(r"\d{12}")

_SQS_TARGET = "AmazonSQS"
# The batch actions have no action of their own: each is authorized as its entries' action.
_SQS_BATCHES = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
# The actions on the queue that `QueueUrl` names.
_SQS_QUEUE_ACTIONS = frozenset(
    {
        "AddPermission",
        "ChangeMessageVisibility",
        "DeleteMessage",
        "DeleteQueue",
        "GetQueueAttributes",
        "ListDeadLetterSourceQueues",
        "ListQueueTags",
        "PurgeQueue",
        "ReceiveMessage",
        "RemovePermission",
        "SendMessage",
        "SetQueueAttributes",
        "TagQueue",
        "UntagQueue",
    }
)
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo")
# A queue URL on any host (AWS's, moto's, LocalStack's), or a path that is one.
_QUEUE_URL = re.compile(r"(?:https?://[^/?#]+)?/(?P<account>\d{12})/(?P<name>[^/?#]+)/?")

_LAMBDA_FUNCTIONS = "/2015-03-31/functions"
_LAMBDA_FUNCTION = re.compile(
    r"/2015-03-31/functions/(?P<function>[^/]+)(?P<child>/invocations|/configuration)?/?"
)
_LAMBDA_OPERATIONS = {
    ("POST", "/invocations"): "InvokeFunction",
    ("GET", None): "GetFunction",
    ("GET", "/configuration"): "GetFunctionConfiguration",
}
# A function as the API takes it: a name, a partial ARN or an ARN, each with an optional
# `:qualifier` (the pattern of the Lambda API reference's `FunctionName`).
_FUNCTION_NAME = re.compile(
    r"(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:)?(?:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9_.-]{1,140})"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?"
)
_QUALIFIER = re.compile(r"[a-zA-Z0-9$_-]{1,128}")

_SNS_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:\S+")
_SNS_DESTINATIONS = ("TopicArn", "TargetArn", "PhoneNumber")

_LOGS_TARGET = "Logs_20140328"
_LOG_GROUP = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")
_LOG_STREAM = re.compile(r"[^:*]{1,512}")

_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
# Hosts moto serves path-style (`S3Response.subdomain_based_buckets`): any other host names
# its bucket in its first label (in what precedes `.s3` on amazonaws.com).
_LOCAL_HOST_PREFIXES = ("localhost", "localstack", "host.docker.internal")
_IP_HOST = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?|\[[0-9A-Fa-f:.]+\](?::\d+)?")
_CLUSTER_HOST = re.compile(r".*\.svc\.cluster\.local:?\d*")
_S3_ENDPOINT = re.compile(r"s3[.-](?:(?:dualstack|fips)[.-])?[^.]*\.amazonaws\.com(?:\.cn)?")
_AMAZONAWS_BUCKET = re.compile(r"(.+)\.s3(.*)\.amazonaws\.com")
# Query parameters that name no sub-resource: SDKs add `x-id=<Operation>` to some requests.
_S3_NEUTRAL = frozenset({"x-id"})
_S3_LIST_BUCKETS = frozenset({"max-buckets", "continuation-token", "prefix", "bucket-region"})
_S3_READ = frozenset(
    {
        "versionId",
        "partNumber",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
    }
)
_S3_LIST = frozenset(
    {
        "list-type",
        "prefix",
        "delimiter",
        "encoding-type",
        "marker",
        "max-keys",
        "continuation-token",
        "fetch-owner",
        "start-after",
    }
)
_S3_LIST_VERSIONS = frozenset(
    {"versions", "prefix", "delimiter", "encoding-type", "key-marker", "max-keys"}
    | {"version-id-marker"}
)
_S3_LIST_UPLOADS = frozenset(
    {"uploads", "prefix", "delimiter", "encoding-type", "key-marker", "max-uploads"}
    | {"upload-id-marker"}
)
_S3_LIST_PARTS = frozenset({"uploadId", "max-parts", "part-number-marker"})
_S3_ACL_HEADERS = (
    "x-amz-acl",
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
)

# The query protocol's error code for a denial, and its XML namespace, per service.
_QUERY_DENIALS = {
    "sqs": ("AccessDenied", "http://queue.amazonaws.com/doc/2012-11-05/"),
    "sns": ("AuthorizationError", "http://sns.amazonaws.com/doc/2010-03-31/"),
    "sts": ("AccessDenied", "https://sts.amazonaws.com/doc/2011-06-15/"),
}
_CORAL_ACCESS_DENIED = "com.amazon.coral.service#AccessDeniedException"
# Characters XML 1.0 cannot carry, even escaped (a key or name in a message may hold them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class _Request:
    """What the translators read of one WSGI request."""

    environ: Mapping[str, Any]
    service: str
    method: str
    path: str  # URL-decoded, as moto reads it
    query: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def target(self) -> str:
        return _text(self.environ, "HTTP_X_AMZ_TARGET")

    def header(self, name: str) -> str:
        return _text(self.environ, "HTTP_" + name.upper().replace("-", "_"))


def authorization_requests(
    environ: Mapping[str, Any], body: bytes, *, region: str, account: str
) -> list[AuthorizationRequest]:
    """Every authorization AWS evaluates for the request (`[]` when it needs none), in order.

    `region` and `account` are the caller's: they complete the ARNs a request names only by
    name. Raises `UnsupportedOperation` for what is not mapped and `MalformedRequest` for a
    request its service would refuse for its shape.
    """
    request = _read(environ, body)
    translate = _TRANSLATORS.get(request.service)
    if translate is None:
        raise UnsupportedOperation(f"no IAM mapping for service {request.service!r}")
    return translate(request, region, account)


def denial_response(
    environ: Mapping[str, Any], message: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """AWS's refusal of the request with `message`: status, headers and body, in the
    request's protocol (S3's XML, Lambda's REST JSON, a JSON target's, or the query XML)."""
    service = _service(environ) or ""
    request_id = str(uuid.uuid4())
    target = _text(environ, "HTTP_X_AMZ_TARGET")
    if service == "s3":
        return _s3_denial(environ, message, request_id)
    if target:
        return _json_denial(environ, target, message, request_id)
    if service in _QUERY_DENIALS or _text(environ, "CONTENT_TYPE").startswith(_FORM_CONTENT_TYPE):
        return _query_denial(service, message, request_id)
    return _rest_json_denial(message, request_id)


# -- reading a request ---------------------------------------------------------------------
def _text(environ: Mapping[str, Any], key: str) -> str:
    value = environ.get(key)
    return value if isinstance(value, str) else ""


def _undance(text: str) -> str:
    """A WSGI string (UTF-8 bytes as latin-1 characters, PEP 3333) as the text it encodes."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def _service(environ: Mapping[str, Any]) -> str | None:
    """The service of the SigV4 credential scope, the one moto routes the request to."""
    match = _CREDENTIAL_SCOPE.search(_text(environ, "HTTP_AUTHORIZATION"))
    return match["service"] if match else None


def _read(environ: Mapping[str, Any], body: bytes) -> _Request:
    service = _service(environ)
    if service is None:
        raise MalformedRequest("the request is not signed with SigV4 (no credential scope)")
    raw = _text(environ, "RAW_URI") or _text(environ, "REQUEST_URI")
    if raw:
        # The raw path decoded once, as moto decodes it (PATH_INFO is decoded already).
        path = unquote(_undance(raw).partition("?")[0])
    else:
        path = _undance(_text(environ, "PATH_INFO"))
    return _Request(
        environ=environ,
        service=service,
        method=_text(environ, "REQUEST_METHOD").upper(),
        path=path,
        query=_pairs(_undance(_text(environ, "QUERY_STRING"))),
        body=body,
    )


def _pairs(encoded: str) -> tuple[tuple[str, str], ...]:
    try:
        return tuple(parse_qsl(encoded, keep_blank_values=True, max_num_fields=_MAX_FIELDS))
    except ValueError as error:
        raise MalformedRequest(f"the query string is not readable: {error}") from None


def _unique(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise MalformedRequest(f"parameter {name!r} is given more than once")
        params[name] = value
    return params


def _json_object(body: bytes) -> Mapping[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise MalformedRequest("the request body is not JSON") from None
    if not isinstance(parsed, dict):
        raise MalformedRequest("the request body must be a JSON object")
    return parsed


def _json_operation(request: _Request, prefix: str) -> tuple[str, Mapping[str, Any]]:
    """The operation of a JSON request's `X-Amz-Target` (`<prefix>.<Operation>`), its body."""
    given_prefix, _, operation = request.target.partition(".")
    if given_prefix != prefix or not operation:
        raise MalformedRequest(f"X-Amz-Target {request.target!r} is not {prefix}.<Operation>")
    return operation, _json_object(request.body)


def _query_operation(request: _Request) -> tuple[str, Mapping[str, Any]]:
    """The `Action` of a query request and its parameters (query string and form body)."""
    pairs = request.query
    if _text(request.environ, "CONTENT_TYPE").startswith(_FORM_CONTENT_TYPE):
        try:
            form = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedRequest("the form body is not UTF-8") from None
        pairs += _pairs(form)
    params = _unique(pairs)
    return _required(params, "Action"), params


def _optional(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise MalformedRequest(f"{name} must be a string")
    return value or None


def _required(params: Mapping[str, Any], name: str) -> str:
    value = _optional(params, name)
    if value is None:
        raise MalformedRequest(f"{name} is required")
    return value


def _unsupported(request: _Request, operation: str) -> UnsupportedOperation:
    return UnsupportedOperation(f"no IAM mapping for {request.service} operation {operation!r}")


# -- SQS -------------------------------------------------------------------------------------
def _sqs(request: _Request, region: str, account: str) -> list[AuthorizationRequest]:
    if request.target:
        operation, params = _json_operation(request, _SQS_TARGET)
    else:
        operation, params = _query_operation(request)
    if operation == "ListQueues":
        return [AuthorizationRequest("sqs:ListQueues", "*")]
    if operation == "GetQueueUrl":
        owner = _optional(params, "QueueOwnerAWSAccountId") or account
        if not _ACCOUNT.fullmatch(owner):
            raise MalformedRequest(f"QueueOwnerAWSAccountId {owner!r} is not an account ID")
        name = _queue_name(_required(params, "QueueName"))
        return [AuthorizationRequest("sqs:GetQueueUrl", _queue_arn(region, owner, name))]
    if operation == "CreateQueue":
        arn = _queue_arn(region, account, _queue_name(_required(params, "QueueName")))
        requests = [AuthorizationRequest("sqs:CreateQueue", arn)]
        if _sets_queue_tags(params):  # tagging on creation needs sqs:TagQueue too
            requests.append(AuthorizationRequest("sqs:TagQueue", arn))
        return requests
    action = _SQS_BATCHES.get(operation, operation)
    if action in _SQS_QUEUE_ACTIONS:
        return [AuthorizationRequest(f"sqs:{action}", _queue_of(request, params, region, account))]
    raise _unsupported(request, operation)


def _queue_name(name: str) -> str:
    if not _QUEUE_NAME.fullmatch(name):
        raise MalformedRequest(f"{name!r} is not a valid queue name")
    return name


def _queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def _queue_of(request: _Request, params: Mapping[str, Any], region: str, account: str) -> str:
    """The ARN of the queue a request names: by `QueueUrl` (a URL on any host, or the bare
    name AWS accepts too), or by the queue URL it was sent to."""
    url = _optional(params, "QueueUrl")
    if url is not None and "/" not in url:
        return _queue_arn(region, account, _queue_name(url))
    match = _QUEUE_URL.fullmatch(url if url is not None else request.path)
    if match is None:
        raise MalformedRequest(f"QueueUrl {url!r} is not a queue URL" if url else "no QueueUrl")
    return _queue_arn(region, match["account"], _queue_name(match["name"]))


def _sets_queue_tags(params: Mapping[str, Any]) -> bool:
    """Whether a CreateQueue sets tags: JSON `tags`, or the query protocol's `Tag.N.*`."""
    tags = params.get("tags")
    if tags is not None and not isinstance(tags, Mapping):
        raise MalformedRequest("tags must be an object")
    return bool(tags) or any(name.startswith("Tag.") for name in params)


# -- Lambda ----------------------------------------------------------------------------------
def _lambda(request: _Request, region: str, account: str) -> list[AuthorizationRequest]:
    if request.method == "GET" and request.path.rstrip("/") == _LAMBDA_FUNCTIONS:
        return [AuthorizationRequest("lambda:ListFunctions", "*")]
    match = _LAMBDA_FUNCTION.fullmatch(request.path)
    operation = _LAMBDA_OPERATIONS.get((request.method, match["child"])) if match else None
    if match is None or operation is None:
        raise _unsupported(request, f"{request.method} {request.path}")
    arn = _function_arn(match["function"], _unique(request.query), region, account)
    return [AuthorizationRequest(f"lambda:{operation}", arn)]


def _function_arn(function: str, query: Mapping[str, str], region: str, account: str) -> str:
    """The ARN AWS evaluates for a function: qualified when the request names a version or
    alias (in the name or as `Qualifier`), as the CDK's `grantInvoke` grants `<arn>:*` for."""
    match = _FUNCTION_NAME.fullmatch(function)
    if match is None:
        raise MalformedRequest(f"FunctionName {function!r} is not a function name or ARN")
    qualifier = match["qualifier"]
    given = _optional(query, "Qualifier")
    if given is not None:
        if not _QUALIFIER.fullmatch(given) or qualifier not in (None, given):
            raise MalformedRequest(f"Qualifier {given!r} does not match {function!r}")
        qualifier = given
    arn = (
        f"arn:{match['partition'] or 'aws'}:lambda:{match['region'] or region}:"
        f"{match['account'] or account}:function:{match['name']}"
    )
    return f"{arn}:{qualifier}" if qualifier else arn


# -- SNS -------------------------------------------------------------------------------------
def _sns(request: _Request, region: str, account: str) -> list[AuthorizationRequest]:
    if request.target:
        raise _unsupported(request, request.target)
    operation, params = _query_operation(request)
    if operation == "Publish":
        given = [(name, _optional(params, name)) for name in _SNS_DESTINATIONS]
        named = [(name, value) for name, value in given if value is not None]
        if len(named) != 1:
            raise MalformedRequest(f"Publish takes exactly one of {', '.join(_SNS_DESTINATIONS)}")
        ((name, destination),) = named
        if name != "PhoneNumber":
            _sns_arn(name, destination)
        # A text message is authorized on the number itself, as AWS's denials name it.
        return [AuthorizationRequest("sns:Publish", destination)]
    if operation == "PublishBatch":  # sns:Publish covers PublishBatch
        topic = _sns_arn("TopicArn", _required(params, "TopicArn"))
        return [AuthorizationRequest("sns:Publish", topic)]
    raise _unsupported(request, operation)


def _sns_arn(name: str, value: str) -> str:
    if not _SNS_ARN.fullmatch(value):
        raise MalformedRequest(f"{name} {value!r} is not an SNS ARN")
    return value


# -- S3 --------------------------------------------------------------------------------------
def _s3(request: _Request, region: str, account: str) -> list[AuthorizationRequest]:
    bucket, key = _s3_location(request)
    params = _unique(request.query)
    names = set(params) - _S3_NEUTRAL
    found: list[AuthorizationRequest] | None
    if bucket is None:
        found = _s3_service(request.method, names)
    elif key is None:
        found = _s3_bucket(request.method, f"arn:aws:s3:::{bucket}", params, names)
    else:
        found = _s3_object(request, f"arn:aws:s3:::{bucket}/{key}", names)
    if found is None:
        shown = request.path + ("?" + "&".join(sorted(names)) if names else "")
        raise _unsupported(request, f"{request.method} {shown}")
    return found


def _s3_location(request: _Request) -> tuple[str | None, str | None]:
    """The bucket and key a request names (None for none), read as moto reads them."""
    host = request.header("Host").lower()
    if ".s3-accesspoint." in host:
        raise _unsupported(request, "access point request")
    if not request.path.startswith("/"):
        raise MalformedRequest(f"path {request.path!r} is not absolute")
    bucket = _virtual_host_bucket(host)
    if bucket is None:
        bucket, slash, key = request.path[1:].partition("/")
        if not bucket and slash:
            raise MalformedRequest(f"path {request.path!r} names no bucket")
        if not bucket:
            return None, None
    else:
        key = request.path[1:]
    if not _BUCKET.fullmatch(bucket):
        raise MalformedRequest(f"{bucket!r} is not a bucket name")
    return bucket, key or None


def _virtual_host_bucket(host: str) -> str | None:
    """The bucket a virtual-hosted-style host names; None for a host moto serves path-style."""
    if (
        not host
        or host.startswith(_LOCAL_HOST_PREFIXES)
        or "." not in host
        or _IP_HOST.fullmatch(host)
        or _CLUSTER_HOST.fullmatch(host)
        or host.partition(":")[0] == "s3.amazonaws.com"
        or _S3_ENDPOINT.match(host)
    ):
        return None
    host = host.removeprefix("www.")
    if "amazonaws.com" in host:
        match = _AMAZONAWS_BUCKET.search(host)
        return match[1] if match else None
    return host.split(".", 1)[0]


def _s3_service(method: str, names: set[str]) -> list[AuthorizationRequest] | None:
    if method == "GET" and names <= _S3_LIST_BUCKETS:
        return [AuthorizationRequest("s3:ListAllMyBuckets", "*")]
    return None


def _s3_bucket(
    method: str, arn: str, params: Mapping[str, str], names: set[str]
) -> list[AuthorizationRequest] | None:
    if method == "HEAD" and not names:  # HeadBucket is authorized as s3:ListBucket
        return [AuthorizationRequest("s3:ListBucket", arn, _listing_context(params))]
    if method != "GET":
        return None
    if names <= _S3_LIST and params.get("list-type", "2") == "2":
        return [AuthorizationRequest("s3:ListBucket", arn, _listing_context(params))]
    if "versions" in names and names <= _S3_LIST_VERSIONS:
        return [AuthorizationRequest("s3:ListBucketVersions", arn, _listing_context(params))]
    if "uploads" in names and names <= _S3_LIST_UPLOADS:
        return [AuthorizationRequest("s3:ListBucketMultipartUploads", arn)]
    if names == {"location"}:
        return [AuthorizationRequest("s3:GetBucketLocation", arn)]
    return None


def _listing_context(params: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """S3's listing condition keys; a key the request does not send is there, without values
    (absent, as AWS evaluates it)."""
    given = {S3_PREFIX: "prefix", S3_DELIMITER: "delimiter", S3_MAX_KEYS: "max-keys"}
    return {key: (params[name],) if name in params else () for key, name in given.items()}


def _s3_object(request: _Request, arn: str, names: set[str]) -> list[AuthorizationRequest] | None:
    method = request.method
    versioned = "versionId" in names
    if method in ("GET", "HEAD") and names <= _S3_READ:
        return [AuthorizationRequest("s3:GetObjectVersion" if versioned else "s3:GetObject", arn)]
    if method == "DELETE" and names <= {"versionId"}:
        action = "s3:DeleteObjectVersion" if versioned else "s3:DeleteObject"
        return [AuthorizationRequest(action, arn)]
    if method == "PUT" and not names:  # PutObject, or CopyObject with x-amz-copy-source
        return [
            AuthorizationRequest("s3:PutObject", arn),
            *_s3_copy_source(request),
            *_s3_write_extras(request, arn),
        ]
    if method == "PUT" and names == {"partNumber", "uploadId"}:  # UploadPart(Copy)
        return [AuthorizationRequest("s3:PutObject", arn), *_s3_copy_source(request)]
    if method == "POST" and names == {"uploads"}:  # CreateMultipartUpload
        return [AuthorizationRequest("s3:PutObject", arn), *_s3_write_extras(request, arn)]
    if method == "POST" and names == {"uploadId"}:  # CompleteMultipartUpload
        return [AuthorizationRequest("s3:PutObject", arn)]
    if method == "DELETE" and names == {"uploadId"}:
        return [AuthorizationRequest("s3:AbortMultipartUpload", arn)]
    if method == "GET" and "uploadId" in names and names <= _S3_LIST_PARTS:
        return [AuthorizationRequest("s3:ListMultipartUploadParts", arn)]
    return None


def _s3_copy_source(request: _Request) -> list[AuthorizationRequest]:
    """Reading the object `x-amz-copy-source` names (`bucket/key`, optional `?versionId=`)."""
    source = request.header("x-amz-copy-source")
    if not source:
        return []
    path, _, query = source.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if bucket.startswith("arn:"):
        raise _unsupported(request, "copy from an access point")
    params = _unique(_pairs(query))
    if not _BUCKET.fullmatch(bucket) or not key or set(params) - {"versionId"}:
        raise MalformedRequest(f"x-amz-copy-source {source!r} is not bucket/key[?versionId=]")
    action = "s3:GetObjectVersion" if "versionId" in params else "s3:GetObject"
    return [AuthorizationRequest(action, f"arn:aws:s3:::{bucket}/{key}")]


def _s3_write_extras(request: _Request, arn: str) -> list[AuthorizationRequest]:
    """The permissions a write's tags and ACL need besides s3:PutObject."""
    extras = []
    if request.header("x-amz-tagging"):
        extras.append(AuthorizationRequest("s3:PutObjectTagging", arn))
    if any(request.header(name) for name in _S3_ACL_HEADERS):
        extras.append(AuthorizationRequest("s3:PutObjectAcl", arn))
    return extras


# -- CloudWatch Logs -------------------------------------------------------------------------
def _logs(request: _Request, region: str, account: str) -> list[AuthorizationRequest]:
    operation, params = _json_operation(request, _LOGS_TARGET)
    if operation not in ("CreateLogGroup", "CreateLogStream", "PutLogEvents"):
        raise _unsupported(request, operation)
    group = _required(params, "logGroupName")
    if not _LOG_GROUP.fullmatch(group):
        raise MalformedRequest(f"logGroupName {group!r} is not a log group name")
    group_arn = f"arn:aws:logs:{region}:{account}:log-group:{group}"
    if operation == "CreateLogGroup":
        if params.get("tags"):  # needs logs:TagResource too, on a resource AWS does not name
            raise _unsupported(request, "CreateLogGroup with tags")
        # AWS names `...:log-group:<name>:log-stream:` in a CreateLogGroup denial.
        return [AuthorizationRequest("logs:CreateLogGroup", f"{group_arn}:log-stream:")]
    stream = _required(params, "logStreamName")
    if not _LOG_STREAM.fullmatch(stream):
        raise MalformedRequest(f"logStreamName {stream!r} is not a log stream name")
    return [AuthorizationRequest(f"logs:{operation}", f"{group_arn}:log-stream:{stream}")]


# -- STS -------------------------------------------------------------------------------------
def _sts(request: _Request, region: str, account: str) -> list[AuthorizationRequest]:
    if request.target:
        raise _unsupported(request, request.target)
    operation, _params = _query_operation(request)
    if operation == "GetCallerIdentity":  # needs no permission, and cannot be denied
        return []
    raise _unsupported(request, operation)


_TRANSLATORS: dict[str, Callable[[_Request, str, str], list[AuthorizationRequest]]] = {
    "sqs": _sqs,
    "lambda": _lambda,
    "sns": _sns,
    "s3": _s3,
    "logs": _logs,
    "sts": _sts,
}


# -- denials ---------------------------------------------------------------------------------
def _answer(
    status: int, headers: list[tuple[str, str]], body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [*headers, ("Content-Length", str(len(body)))], body


def _xml_text(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text))


def _s3_denial(
    environ: Mapping[str, Any], message: str, request_id: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """S3's 403 `<Error>`; a HEAD answer has no body, so SDKs report code `403` as for AWS."""
    host_id = uuid.uuid4().hex
    headers = [("x-amz-request-id", request_id), ("x-amz-id-2", host_id)]
    if _text(environ, "REQUEST_METHOD").upper() == "HEAD":
        return _answer(403, headers, b"")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        f"<Message>{_xml_text(message)}</Message><RequestId>{request_id}</RequestId>"
        f"<HostId>{host_id}</HostId></Error>"
    )
    return _answer(403, [("Content-Type", "application/xml"), *headers], body.encode())


def _json_denial(
    environ: Mapping[str, Any], target: str, message: str, request_id: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """A JSON protocol's 400 `AccessDeniedException`; SQS's also carries the query code
    `AccessDenied` in `x-amzn-query-error`, which SDKs report (AWS's query compatibility)."""
    content_type = _text(environ, "CONTENT_TYPE")
    if not content_type.startswith("application/x-amz-json-"):
        content_type = "application/x-amz-json-1.1"
    headers = [("Content-Type", content_type), ("x-amzn-RequestId", request_id)]
    error_type = "AccessDeniedException"
    if target.startswith(f"{_SQS_TARGET}."):
        error_type = _CORAL_ACCESS_DENIED
        headers.append(("x-amzn-query-error", "AccessDenied;Sender"))
    body = json.dumps({"__type": error_type, "message": message}).encode()
    return _answer(400, headers, body)


def _query_denial(
    service: str, message: str, request_id: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """The query protocol's 403 `<ErrorResponse>` (SNS's code is `AuthorizationError`)."""
    code, namespace = _QUERY_DENIALS.get(service, ("AccessDenied", ""))
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    body = (
        f'<?xml version="1.0"?>\n<ErrorResponse{xmlns}><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{_xml_text(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    return _answer(403, headers, body.encode())


def _rest_json_denial(message: str, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """A REST JSON service's (Lambda's) 403, the code in `x-amzn-ErrorType`."""
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-ErrorType", "AccessDeniedException"),
        ("x-amzn-RequestId", request_id),
    ]
    return _answer(403, headers, json.dumps({"Message": message}).encode())
