"""The IAM authorization requests of SQS, Lambda, SNS, S3, CloudWatch Logs and STS calls, read
from the requests botocore really sends, and AWS's refusals as botocore really reads them.

No server: a `before-send` hook takes botocore's signed request before it leaves (and, for
the refusals, answers it with `denial_response`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from hypothesis import given, settings
from hypothesis import strategies as st

from localcloud import iam_policy
from localcloud.iam_dynamodb import AuthorizationRequest, MalformedRequest, UnsupportedOperation
from localcloud.iam_services import authorization_requests, denial_response

REGION = "eu-west-1"
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
ENDPOINT = "http://localhost:4566"
VIRTUAL_ENDPOINT = "http://s3.localhost.localstack.cloud:4566"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
QUEUE_URL = f"{ENDPOINT}/{ACCOUNT}/orders"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:events"
BUCKET = "arn:aws:s3:::my-bucket"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker-role"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/worker"
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEFUNCTION/20260301/{region}/{service}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0123456789abcdef"
)
MESSAGE = (
    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/worker-role/worker is not authorized to perform:"
    f' sqs:SendMessage on resource: {QUEUE} because no identity-based policy allows it <&>"'
)
LOG_EVENTS = [{"timestamp": 1, "message": "m"}]
NO_LISTING_KEYS = {"s3:prefix": (), "s3:delimiter": (), "s3:max-keys": ()}

_SESSION = botocore.session.get_session()


class _Sent(Exception):
    """Raised by the `before-send` hook: carries the request botocore was about to send."""


class _Raw:
    """The stream botocore reads a response body from."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def environ_of(request: Any) -> tuple[dict[str, Any], bytes]:
    """A prepared botocore request as werkzeug's server gives it to a WSGI app."""
    url = urlsplit(request.url)
    raw_uri = url.path + (f"?{url.query}" if url.query else "")

    def dance(text: str) -> str:  # PEP 3333: UTF-8 bytes as latin-1 characters
        return text.encode().decode("latin-1")

    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "PATH_INFO": dance(unquote(url.path)),
        "QUERY_STRING": dance(url.query),
        "RAW_URI": dance(raw_uri),
        "REQUEST_URI": dance(raw_uri),
        "HTTP_HOST": url.netloc,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        text = value.decode() if isinstance(value, bytes) else value
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = text
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    elif isinstance(body, str):
        body = body.encode()
    return environ, body or b""


@functools.cache
def _client(service: str, endpoint: str, refuse: bool) -> Any:
    """A botocore client whose requests never leave: captured, or refused as AWS refuses."""
    client = _SESSION.create_client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="ASIAEXAMPLEFUNCTION",
        aws_secret_access_key="secret",
        aws_session_token="token",
        config=Config(
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "virtual" if endpoint == VIRTUAL_ENDPOINT else "path"},
        ),
    )

    def capture(request: Any, **_: Any) -> None:
        raise _Sent(request)

    def refusal(request: Any, **_: Any) -> AWSResponse:
        environ, _body = environ_of(request)
        status, headers, body = denial_response(environ, MESSAGE)
        return AWSResponse(request.url, status, HeadersDict(headers), _Raw(body))

    client.meta.events.register("before-send", refusal if refuse else capture)
    return client


def sent(service: str, operation: str, endpoint: str = ENDPOINT, **params: Any) -> Any:
    """The environ and body of the request botocore sends for `operation`."""
    with pytest.raises(_Sent) as caught:
        getattr(_client(service, endpoint, False), operation)(**params)
    return environ_of(caught.value.args[0])


def requests_of(
    service: str, operation: str, endpoint: str = ENDPOINT, **params: Any
) -> list[AuthorizationRequest]:
    environ, body = sent(service, operation, endpoint, **params)
    return authorization_requests(environ, body, region=REGION, account=ACCOUNT)


def only(service: str, operation: str, endpoint: str = ENDPOINT, **params: Any) -> Any:
    (request,) = requests_of(service, operation, endpoint, **params)
    return request.action, request.resource


def signed(service: str, **environ: Any) -> dict[str, Any]:
    """A hand-made environ signed for `service` (what botocore no longer sends)."""
    base = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "HTTP_HOST": "localhost:4566",
        "HTTP_AUTHORIZATION": AUTHORIZATION.format(region=REGION, service=service),
        "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
    }
    return {**base, **environ}


def translate(environ: dict[str, Any], body: bytes = b"") -> list[AuthorizationRequest]:
    return authorization_requests(environ, body, region=REGION, account=ACCOUNT)


# -- SQS over JSON (what botocore sends) --------------------------------------------------------
@pytest.mark.parametrize(
    "queue_url",
    [
        f"http://localhost:4566/{OTHER_ACCOUNT}/orders",
        f"https://sqs.us-east-1.amazonaws.com/{OTHER_ACCOUNT}/orders",
        f"http://sqs.us-east-1.localhost.localstack.cloud:4566/{OTHER_ACCOUNT}/orders",
    ],
)
def test_a_queue_url_on_any_host_names_its_account_and_queue(queue_url: str) -> None:
    assert only("sqs", "send_message", QueueUrl=queue_url, MessageBody="hi") == (
        "sqs:SendMessage",
        f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:orders",
    )


def test_a_bare_queue_name_is_the_callers_queue() -> None:
    assert only("sqs", "send_message", QueueUrl="orders.fifo", MessageBody="hi") == (
        "sqs:SendMessage",
        f"{QUEUE}.fifo",
    )


@pytest.mark.parametrize(
    ("operation", "params", "action"),
    [
        ("send_message_batch", {"Entries": [{"Id": "1", "MessageBody": "a"}]}, "SendMessage"),
        ("delete_message_batch", {"Entries": [{"Id": "1", "ReceiptHandle": "r"}]}, "DeleteMessage"),
        (
            "change_message_visibility_batch",
            {"Entries": [{"Id": "1", "ReceiptHandle": "r", "VisibilityTimeout": 5}]},
            "ChangeMessageVisibility",
        ),
    ],
)
def test_a_batch_is_authorized_as_its_base_action(
    operation: str, params: dict[str, Any], action: str
) -> None:
    assert only("sqs", operation, QueueUrl=QUEUE_URL, **params) == (f"sqs:{action}", QUEUE)


@pytest.mark.parametrize(
    ("operation", "params", "action"),
    [
        ("receive_message", {}, "ReceiveMessage"),
        ("delete_message", {"ReceiptHandle": "r"}, "DeleteMessage"),
        ("change_message_visibility", {"ReceiptHandle": "r", "VisibilityTimeout": 5}, None),
        ("get_queue_attributes", {"AttributeNames": ["All"]}, None),
        ("set_queue_attributes", {"Attributes": {"DelaySeconds": "1"}}, None),
        ("purge_queue", {}, None),
        ("delete_queue", {}, None),
        ("tag_queue", {"Tags": {"team": "a"}}, None),
        ("untag_queue", {"TagKeys": ["team"]}, None),
        ("list_queue_tags", {}, None),
        ("list_dead_letter_source_queues", {}, None),
    ],
)
def test_queue_actions_are_authorized_on_the_queue(
    operation: str, params: dict[str, Any], action: str | None
) -> None:
    expected = action or "".join(part.title() for part in operation.split("_"))
    assert only("sqs", operation, QueueUrl=QUEUE_URL, **params) == (f"sqs:{expected}", QUEUE)


def test_get_queue_url_names_the_queue_of_its_owner() -> None:
    assert only("sqs", "get_queue_url", QueueName="orders") == ("sqs:GetQueueUrl", QUEUE)
    assert only(
        "sqs", "get_queue_url", QueueName="orders", QueueOwnerAWSAccountId=OTHER_ACCOUNT
    ) == ("sqs:GetQueueUrl", f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:orders")


def test_list_queues_has_no_resource() -> None:
    assert only("sqs", "list_queues", QueueNamePrefix="ord") == ("sqs:ListQueues", "*")


def test_create_queue_names_the_new_queue_and_tagging_it_needs_tag_queue() -> None:
    assert only("sqs", "create_queue", QueueName="orders") == ("sqs:CreateQueue", QUEUE)
    assert requests_of("sqs", "create_queue", QueueName="orders", tags={"team": "a"}) == [
        AuthorizationRequest("sqs:CreateQueue", QUEUE),
        AuthorizationRequest("sqs:TagQueue", QUEUE),
    ]


def test_message_move_tasks_are_not_mapped() -> None:
    with pytest.raises(UnsupportedOperation, match="sqs operation 'ListMessageMoveTasks'"):
        requests_of("sqs", "list_message_move_tasks", SourceArn=QUEUE)


# -- SQS over the query protocol ------------------------------------------------------------
def test_the_query_protocol_maps_as_the_json_one() -> None:
    environ = signed("sqs")
    body = f"Action=SendMessageBatch&QueueUrl={QUEUE_URL}&SendMessageBatchRequestEntry.1.Id=1"
    assert translate(environ, body.encode()) == [AuthorizationRequest("sqs:SendMessage", QUEUE)]
    get_url = f"Action=GetQueueUrl&QueueName=orders&QueueOwnerAWSAccountId={OTHER_ACCOUNT}"
    assert translate(environ, get_url.encode()) == [
        AuthorizationRequest("sqs:GetQueueUrl", f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:orders")
    ]
    create = b"Action=CreateQueue&QueueName=orders&Tag.1.Key=team&Tag.1.Value=a"
    assert [r.action for r in translate(environ, create)] == ["sqs:CreateQueue", "sqs:TagQueue"]


def test_a_query_request_sent_to_the_queue_url_names_that_queue() -> None:
    environ = signed("sqs", PATH_INFO=f"/{ACCOUNT}/orders", QUERY_STRING="Action=ReceiveMessage")
    assert translate(environ) == [AuthorizationRequest("sqs:ReceiveMessage", QUEUE)]


@pytest.mark.parametrize(
    "body",
    [
        b"Action=SendMessage&QueueUrl=http://localhost:4566/not-a-queue",
        b"Action=SendMessage&QueueUrl=http://localhost:4566/123/orders",
        b"Action=GetQueueUrl&QueueName=bad name",
        b"Action=GetQueueUrl&QueueName=orders&QueueOwnerAWSAccountId=me",
        b"Action=SendMessage&Action=DeleteQueue&QueueUrl=orders",
        b"Action=SendMessage",
        b"QueueUrl=orders",
        b"Action=SendMessage&QueueUrl=\xff",
    ],
)
def test_a_malformed_sqs_request_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        translate(signed("sqs"), body)


def test_a_json_body_that_is_not_an_object_or_too_deep_is_refused() -> None:
    environ = signed(
        "sqs", HTTP_X_AMZ_TARGET="AmazonSQS.SendMessage", CONTENT_TYPE="application/x-amz-json-1.0"
    )
    for body in (b"[]", b"{", b"[" * 100_000, b'{"QueueUrl": 7}'):
        with pytest.raises(MalformedRequest):
            translate(environ, body)
    with pytest.raises(MalformedRequest):
        translate({**environ, "HTTP_X_AMZ_TARGET": "Logs_20140328.PutLogEvents"}, b"{}")


# -- Lambda ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("function", "qualifier", "resource"),
    [
        ("worker", None, FUNCTION),
        ("worker:live", None, f"{FUNCTION}:live"),
        ("worker", "7", f"{FUNCTION}:7"),
        ("worker", "$LATEST", f"{FUNCTION}:$LATEST"),
        (f"{ACCOUNT}:function:worker", None, FUNCTION),
        (f"{FUNCTION}:live", "live", f"{FUNCTION}:live"),
        (
            f"arn:aws:lambda:us-west-2:{OTHER_ACCOUNT}:function:worker",
            None,
            f"arn:aws:lambda:us-west-2:{OTHER_ACCOUNT}:function:worker",
        ),
    ],
)
def test_invoke_is_authorized_on_the_function_arn_it_names_qualified_as_called(
    function: str, qualifier: str | None, resource: str
) -> None:
    params = {"FunctionName": function} | ({"Qualifier": qualifier} if qualifier else {})
    assert only("lambda", "invoke", **params) == ("lambda:InvokeFunction", resource)


def test_two_different_qualifiers_are_refused() -> None:
    with pytest.raises(MalformedRequest):
        requests_of("lambda", "invoke", FunctionName="worker:live", Qualifier="7")


def test_reading_and_listing_functions() -> None:
    assert only("lambda", "get_function", FunctionName="worker", Qualifier="live") == (
        "lambda:GetFunction",
        f"{FUNCTION}:live",
    )
    assert only("lambda", "get_function_configuration", FunctionName="worker") == (
        "lambda:GetFunctionConfiguration",
        FUNCTION,
    )
    assert only("lambda", "list_functions") == ("lambda:ListFunctions", "*")


def test_other_lambda_requests_are_not_mapped() -> None:
    with pytest.raises(UnsupportedOperation, match="GET /2015-03-31/functions/worker/aliases"):
        requests_of("lambda", "list_aliases", FunctionName="worker")


# -- SNS ------------------------------------------------------------------------------------
def test_publish_is_authorized_on_its_destination() -> None:
    assert only("sns", "publish", TopicArn=TOPIC, Message="m") == ("sns:Publish", TOPIC)
    endpoint = f"arn:aws:sns:{REGION}:{ACCOUNT}:endpoint/APNS/app/0d1c"
    assert only("sns", "publish", TargetArn=endpoint, Message="m") == ("sns:Publish", endpoint)
    assert only("sns", "publish", PhoneNumber="+15555550100", Message="m") == (
        "sns:Publish",
        "+15555550100",
    )
    entries = [{"Id": "1", "Message": "m"}]
    assert only("sns", "publish_batch", TopicArn=TOPIC, PublishBatchRequestEntries=entries) == (
        "sns:Publish",
        TOPIC,
    )


def test_a_publish_without_one_valid_destination_is_refused() -> None:
    with pytest.raises(MalformedRequest):
        requests_of("sns", "publish", Message="m")
    with pytest.raises(MalformedRequest):
        requests_of("sns", "publish", TopicArn="events", Message="m")
    with pytest.raises(MalformedRequest):
        requests_of("sns", "publish", TopicArn=TOPIC, PhoneNumber="+15555550100", Message="m")


def test_other_sns_actions_are_not_mapped() -> None:
    with pytest.raises(UnsupportedOperation, match="sns operation 'CreateTopic'"):
        requests_of("sns", "create_topic", Name="events")


# -- S3 -------------------------------------------------------------------------------------
@pytest.fixture(params=[ENDPOINT, VIRTUAL_ENDPOINT], ids=["path-style", "virtual-host"])
def s3_endpoint(request: pytest.FixtureRequest) -> str:
    endpoint: str = request.param
    return endpoint


@pytest.mark.parametrize(
    ("operation", "params", "action"),
    [
        ("get_object", {}, "s3:GetObject"),
        ("head_object", {}, "s3:GetObject"),
        ("get_object", {"Range": "bytes=0-9", "ResponseContentType": "text/csv"}, "s3:GetObject"),
        ("put_object", {"Body": b"data"}, "s3:PutObject"),
        ("delete_object", {}, "s3:DeleteObject"),
        ("get_object", {"VersionId": "v1"}, "s3:GetObjectVersion"),
        ("delete_object", {"VersionId": "v1"}, "s3:DeleteObjectVersion"),
        ("create_multipart_upload", {}, "s3:PutObject"),
        ("upload_part", {"UploadId": "u", "PartNumber": 1, "Body": b"p"}, "s3:PutObject"),
        (
            "complete_multipart_upload",
            {"UploadId": "u", "MultipartUpload": {"Parts": [{"ETag": "e", "PartNumber": 1}]}},
            "s3:PutObject",
        ),
        ("abort_multipart_upload", {"UploadId": "u"}, "s3:AbortMultipartUpload"),
        ("list_parts", {"UploadId": "u"}, "s3:ListMultipartUploadParts"),
    ],
)
def test_object_operations_are_authorized_on_the_object(
    s3_endpoint: str, operation: str, params: dict[str, Any], action: str
) -> None:
    assert only("s3", operation, s3_endpoint, Bucket="my-bucket", Key="in/q1.csv", **params) == (
        action,
        f"{BUCKET}/in/q1.csv",
    )


@pytest.mark.parametrize("key", ["a b/ü%2F+&?=#.txt", "/leading", "~tilde*", "dir/"])
def test_object_keys_are_url_decoded_once(s3_endpoint: str, key: str) -> None:
    assert only("s3", "get_object", s3_endpoint, Bucket="my-bucket", Key=key) == (
        "s3:GetObject",
        f"{BUCKET}/{key}",
    )


def test_listing_a_bucket_carries_the_listing_condition_keys(s3_endpoint: str) -> None:
    (listing,) = requests_of(
        "s3", "list_objects_v2", s3_endpoint, Bucket="my-bucket", Prefix="home/ann/", MaxKeys=5
    )
    assert listing == AuthorizationRequest(
        "s3:ListBucket",
        BUCKET,
        {"s3:prefix": ("home/ann/",), "s3:delimiter": (), "s3:max-keys": ("5",)},
    )
    assert requests_of("s3", "list_objects", s3_endpoint, Bucket="my-bucket") == [
        AuthorizationRequest("s3:ListBucket", BUCKET, NO_LISTING_KEYS)
    ]
    assert requests_of("s3", "head_bucket", s3_endpoint, Bucket="my-bucket") == [
        AuthorizationRequest("s3:ListBucket", BUCKET, NO_LISTING_KEYS)
    ]


def test_other_bucket_reads() -> None:
    (versions,) = requests_of("s3", "list_object_versions", Bucket="my-bucket", Delimiter="/")
    assert (versions.action, versions.context["s3:delimiter"]) == ("s3:ListBucketVersions", ("/",))
    assert only("s3", "list_multipart_uploads", Bucket="my-bucket") == (
        "s3:ListBucketMultipartUploads",
        BUCKET,
    )
    assert only("s3", "get_bucket_location", Bucket="my-bucket") == (
        "s3:GetBucketLocation",
        BUCKET,
    )
    assert only("s3", "list_buckets") == ("s3:ListAllMyBuckets", "*")


def test_a_copy_reads_its_source_and_writes_its_destination() -> None:
    source = {"Bucket": "src-bucket", "Key": "in/a b.txt"}
    assert requests_of("s3", "copy_object", Bucket="my-bucket", Key="out", CopySource=source) == [
        AuthorizationRequest("s3:PutObject", f"{BUCKET}/out"),
        AuthorizationRequest("s3:GetObject", "arn:aws:s3:::src-bucket/in/a b.txt"),
    ]
    versioned = {**source, "VersionId": "v1"}
    assert requests_of(
        "s3",
        "upload_part_copy",
        Bucket="my-bucket",
        Key="out",
        CopySource=versioned,
        UploadId="u",
        PartNumber=1,
    ) == [
        AuthorizationRequest("s3:PutObject", f"{BUCKET}/out"),
        AuthorizationRequest("s3:GetObjectVersion", "arn:aws:s3:::src-bucket/in/a b.txt"),
    ]


def test_a_write_with_tags_or_an_acl_needs_their_permissions() -> None:
    assert [
        r.action
        for r in requests_of(
            "s3", "put_object", Bucket="my-bucket", Key="k", Body=b"", Tagging="a=b", ACL="private"
        )
    ] == ["s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectAcl"]


@pytest.mark.parametrize(
    ("operation", "params", "shown"),
    [
        ("put_object_acl", {"Key": "k", "ACL": "private"}, "PUT /my-bucket/k?acl"),
        ("get_object_tagging", {"Key": "k"}, "GET /my-bucket/k?tagging"),
        ("delete_objects", {"Delete": {"Objects": [{"Key": "k"}]}}, "POST /my-bucket?delete"),
        ("create_bucket", {}, "PUT /my-bucket"),
        ("get_bucket_policy", {}, "GET /my-bucket?policy"),
    ],
)
def test_unmapped_s3_requests_name_their_sub_resource(
    operation: str, params: dict[str, Any], shown: str
) -> None:
    with pytest.raises(UnsupportedOperation, match=f"'{shown.replace('?', '[?]')}'"):
        requests_of("s3", operation, Bucket="my-bucket", **params)


@pytest.mark.parametrize(
    ("environ", "error"),
    [
        ({"HTTP_HOST": "ap-111122223333.s3-accesspoint.eu-west-1.amazonaws.com"}, "access point"),
        ({"HTTP_X_AMZ_COPY_SOURCE": "arn:aws:s3:eu-west-1:1:accesspoint/ap/object/k"}, "access"),
        ({"HTTP_X_AMZ_COPY_SOURCE": "src-bucket"}, MalformedRequest),
        ({"HTTP_X_AMZ_COPY_SOURCE": "src-bucket/k?acl"}, MalformedRequest),
        ({"PATH_INFO": "//k"}, MalformedRequest),
        ({"PATH_INFO": "my-bucket/k"}, MalformedRequest),
        ({"PATH_INFO": "/bad*bucket/k"}, MalformedRequest),
        ({"QUERY_STRING": "versionId=1&versionId=2", "REQUEST_METHOD": "GET"}, MalformedRequest),
    ],
)
def test_hostile_s3_requests(environ: dict[str, Any], error: str | type[Exception]) -> None:
    request = signed("s3", **{"REQUEST_METHOD": "PUT", "PATH_INFO": "/my-bucket/k", **environ})
    if isinstance(error, str):
        with pytest.raises(UnsupportedOperation, match=error):
            translate(request)
    else:
        with pytest.raises(error):
            translate(request)


@pytest.mark.parametrize(
    "host",
    [
        "localhost:4566",
        "127.0.0.1:4566",
        "localstack:4566",
        "cloud",
        "s3.amazonaws.com",
        "s3.eu-west-1.amazonaws.com",
        "my-bucket.s3.localhost.localstack.cloud:4566",
        "my-bucket.s3.eu-west-1.amazonaws.com",
        "my.dotted.bucket.s3.amazonaws.com",
        "www.my-bucket.example.com",
    ],
)
def test_the_bucket_is_the_one_moto_serves(host: str) -> None:
    from moto.s3.responses import S3Response
    from moto.s3.utils import bucket_name_from_url

    class Request:
        headers = {"host": host}
        url = f"http://{host}/other-bucket/k"

    if S3Response.subdomain_based_buckets(Request()):
        expected = f"arn:aws:s3:::{bucket_name_from_url(Request.url)}/other-bucket/k"
    else:
        expected = "arn:aws:s3:::other-bucket/k"
    environ = signed("s3", REQUEST_METHOD="GET", PATH_INFO="/other-bucket/k", HTTP_HOST=host)
    assert translate(environ) == [AuthorizationRequest("s3:GetObject", expected)]


# -- CloudWatch Logs and STS ----------------------------------------------------------------
def test_log_writes_are_authorized_on_the_log_stream() -> None:
    group, stream = "/aws/lambda/worker", "2026/03/01/[$LATEST]0123abcd"
    assert only("logs", "create_log_group", logGroupName=group) == (
        "logs:CreateLogGroup",
        f"{LOG_GROUP}:log-stream:",
    )
    assert only("logs", "create_log_stream", logGroupName=group, logStreamName=stream) == (
        "logs:CreateLogStream",
        f"{LOG_GROUP}:log-stream:{stream}",
    )
    assert only(
        "logs", "put_log_events", logGroupName=group, logStreamName=stream, logEvents=LOG_EVENTS
    ) == ("logs:PutLogEvents", f"{LOG_GROUP}:log-stream:{stream}")


def test_other_log_requests_are_not_mapped_and_bad_names_are_refused() -> None:
    with pytest.raises(UnsupportedOperation, match="CreateLogGroup with tags"):
        requests_of("logs", "create_log_group", logGroupName="g", tags={"team": "a"})
    with pytest.raises(UnsupportedOperation, match="logs operation 'DescribeLogGroups'"):
        requests_of("logs", "describe_log_groups")
    with pytest.raises(MalformedRequest):
        requests_of("logs", "create_log_stream", logGroupName="g:*", logStreamName="s")


def test_get_caller_identity_needs_no_permission() -> None:
    assert requests_of("sts", "get_caller_identity") == []
    with pytest.raises(UnsupportedOperation, match="sts operation 'AssumeRole'"):
        requests_of("sts", "assume_role", RoleArn=ROLE, RoleSessionName="session")


def test_other_services_and_unsigned_requests() -> None:
    with pytest.raises(UnsupportedOperation, match="service 'events'"):
        requests_of("events", "put_events", Entries=[{"Source": "s"}])
    with pytest.raises(MalformedRequest, match="SigV4"):
        translate({**signed("sqs"), "HTTP_AUTHORIZATION": "AWS AKIA:sig"}, b"Action=ListQueues")


# -- what the usual grants allow ------------------------------------------------------------
# A function's role as the CDK's grants and Lambda's console write it.
GRANTS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "logs:CreateLogGroup",
            "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:*",
        },
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{LOG_GROUP}:*",
        },
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": [FUNCTION, f"{FUNCTION}:*"],
        },
        {
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            "Resource": QUEUE,
        },
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": TOPIC},
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
            "Resource": [BUCKET, f"{BUCKET}/*"],
        },
    ],
}


@pytest.mark.parametrize(
    ("service", "operation", "params", "allowed"),
    [
        ("logs", "create_log_group", {"logGroupName": "/aws/lambda/worker"}, True),
        (
            "logs",
            "put_log_events",
            {"logGroupName": "/aws/lambda/worker", "logStreamName": "s", "logEvents": LOG_EVENTS},
            True,
        ),
        (
            "logs",
            "put_log_events",
            {"logGroupName": "/aws/lambda/other", "logStreamName": "s", "logEvents": LOG_EVENTS},
            False,
        ),
        ("lambda", "invoke", {"FunctionName": "worker", "Qualifier": "live"}, True),
        ("lambda", "invoke", {"FunctionName": "worker-two"}, False),
        (
            "sqs",
            "send_message_batch",
            {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "1", "MessageBody": "m"}]},
            True,
        ),
        ("sqs", "get_queue_url", {"QueueName": "orders"}, True),
        ("sqs", "delete_message", {"QueueUrl": QUEUE_URL, "ReceiptHandle": "r"}, False),
        ("sns", "publish", {"TopicArn": TOPIC, "Message": "m"}, True),
        ("s3", "get_object", {"Bucket": "my-bucket", "Key": "a/b"}, True),
        ("s3", "list_objects_v2", {"Bucket": "my-bucket", "Prefix": "a/"}, True),
        ("s3", "put_object", {"Bucket": "my-bucket", "Key": "a/b", "Body": b""}, False),
    ],
)
def test_the_usual_grants_allow_exactly_what_they_grant(
    service: str, operation: str, params: dict[str, Any], allowed: bool
) -> None:
    policy = iam_policy.parse_policy(GRANTS, "grants")
    decisions = [
        iam_policy.evaluate(
            [policy], iam_policy.Request(r.action, r.resource, r.context, set(r.context))
        )
        for r in requests_of(service, operation, **params)
    ]
    assert decisions and all(d.allowed == allowed and not d.unsupported for d in decisions)


# -- refusals, as botocore reads them -------------------------------------------------------
@pytest.mark.parametrize(
    ("service", "operation", "params", "code"),
    [
        ("sqs", "send_message", {"QueueUrl": QUEUE_URL, "MessageBody": "m"}, "AccessDenied"),
        ("sns", "publish", {"TopicArn": TOPIC, "Message": "m"}, "AuthorizationError"),
        ("sts", "get_caller_identity", {}, "AccessDenied"),
        (
            "logs",
            "put_log_events",
            {"logGroupName": "g", "logStreamName": "s", "logEvents": LOG_EVENTS},
            "AccessDeniedException",
        ),
        ("lambda", "invoke", {"FunctionName": "worker"}, "AccessDeniedException"),
        ("s3", "get_object", {"Bucket": "my-bucket", "Key": "k"}, "AccessDenied"),
        ("s3", "put_object", {"Bucket": "my-bucket", "Key": "k", "Body": b""}, "AccessDenied"),
        ("s3", "list_objects_v2", {"Bucket": "my-bucket"}, "AccessDenied"),
    ],
)
def test_a_refusal_raises_the_client_error_aws_raises(
    service: str, operation: str, params: dict[str, Any], code: str
) -> None:
    with pytest.raises(ClientError) as raised:
        getattr(_client(service, ENDPOINT, True), operation)(**params)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["Error"]["Message"] == MESSAGE
    assert raised.value.response["ResponseMetadata"]["RequestId"]


def test_an_s3_head_refusal_has_no_body_so_the_code_is_its_status_as_on_aws() -> None:
    with pytest.raises(ClientError) as raised:
        _client("s3", ENDPOINT, True).head_object(Bucket="my-bucket", Key="k")
    assert raised.value.response["Error"] == {"Code": "403", "Message": "Forbidden"}


def test_an_sqs_query_refusal_parses_as_access_denied() -> None:
    status, headers, body = denial_response(signed("sqs"), MESSAGE)
    parsed = create_parser("query").parse(
        {"status_code": status, "headers": HeadersDict(headers), "body": body}, None
    )
    assert status == 403
    assert parsed["Error"] == {"Type": "Sender", "Code": "AccessDenied", "Message": MESSAGE}


@pytest.mark.parametrize("service", ["s3", "sns"])
def test_a_refusal_carries_a_message_xml_cannot_hold_replaced(service: str) -> None:
    environ = signed(service, REQUEST_METHOD="GET")
    _status, _headers, body = denial_response(environ, "key a\x01b\ud800 <x>")
    protocol = "rest-xml" if service == "s3" else "query"
    parsed = create_parser(protocol).parse(
        {"status_code": 403, "headers": HeadersDict(), "body": body}, None
    )
    assert parsed["Error"]["Message"] == "key a\ufffdb\ufffd <x>"


def test_a_refusal_states_its_length() -> None:
    status, headers, body = denial_response(signed("lambda", CONTENT_TYPE=""), MESSAGE)
    assert (status, dict(headers)["Content-Length"]) == (403, str(len(body)))


# -- hostile input --------------------------------------------------------------------------
_SERVICES = st.sampled_from(["sqs", "sns", "sts", "s3", "lambda", "logs", "events", ""])
_TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", "/", "//", "/b/k", f"/{ACCOUNT}/orders", "/2015-03-31/functions/f/invocations", "?"]
)
_ENVIRON_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "REQUEST_METHOD": st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]) | _TEXT,
        "PATH_INFO": _TEXT,
        "RAW_URI": _TEXT,
        "QUERY_STRING": _TEXT | st.sampled_from(["uploads", "uploadId=u", "versionId=1&x-id=a"]),
        "HTTP_HOST": _TEXT | st.sampled_from(["b.s3.amazonaws.com", "x.s3-accesspoint.y"]),
        "CONTENT_TYPE": st.sampled_from(["application/x-www-form-urlencoded", ""]) | _TEXT,
        "HTTP_X_AMZ_TARGET": _TEXT | st.sampled_from(["AmazonSQS.SendMessage", "Logs_20140328."]),
        "HTTP_X_AMZ_COPY_SOURCE": _TEXT,
        "HTTP_X_AMZ_TAGGING": _TEXT,
    },
)
_BODIES = st.binary(max_size=60) | st.sampled_from(
    [b"{}", b"Action=SendMessage&QueueUrl=orders", b'{"QueueUrl": ["x"]}', b"Action=Publish"]
)


@settings(max_examples=400, deadline=None)
@given(
    service=_SERVICES,
    values=_ENVIRON_VALUES,
    body=_BODIES,
    junk=st.integers() | st.none(),
    message=st.text(max_size=20),
)
def test_any_request_translates_or_raises_one_of_the_two_errors(
    service: str, values: dict[str, Any], body: bytes, junk: int | None, message: str
) -> None:
    environ: dict[str, Any] = {
        "HTTP_AUTHORIZATION": AUTHORIZATION.format(region=REGION, service=service),
        "HTTP_X_AMZ_ACL": junk,  # not a string: read as absent
        **values,
    }
    try:
        translated = translate(environ, body)
    except (UnsupportedOperation, MalformedRequest):
        pass
    else:
        assert all(isinstance(request, AuthorizationRequest) for request in translated)
    status, headers, payload = denial_response(environ, message)
    assert status in (400, 403) and isinstance(payload, bytes) and headers


def test_too_many_query_parameters_are_refused() -> None:
    with pytest.raises(MalformedRequest):
        translate(signed("sqs"), b"&".join([b"Action=ListQueues"] + [b"a=1"] * 6000))
