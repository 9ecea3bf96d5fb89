"""REST API (v1) non-proxy integrations: `LambdaIntegration(proxy=False)` with request and
response mapping templates and an error `selectionPattern`, and `AwsIntegration`s to
DynamoDB (`PutItem`, `GetItem`) and SQS (`SendMessage` on the queue's path), as a user
writes them from the CDK and API Gateway documentation.

`/calc` maps `{"a","b"}` and the `op` query parameter into the function's event and its
`{"result"}` back; a division by zero raises "Bad input: ..." which the 400 response
selects. `/echo` has no request template (passed through) and no response template (the
function's answer passes through). `/denied` is a `PutItem` whose role may not write.
"""

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

CALC = """
def handler(event, context):
    a, b, op = event["a"], event["b"], event["op"]
    if op == "div":
        if b == 0:
            raise ValueError("Bad input: b is zero")
        return {"result": a / b, "event": event}
    return {"result": a + b, "event": event}
"""

ECHO = """
def handler(event, context):
    return {"received": event}
"""

CALC_REQUEST = """#set($body = $input.path('$'))
{
  "a": $body.a,
  "b": $input.json('$.b'),
  "op": "$util.escapeJavaScript($input.params('op'))",
  "stage": "$context.stage",
  "method": "$context.httpMethod",
  "flavour": "$stageVariables.flavour",
  "tags": [#foreach($tag in $body.tags)"$tag"#if($foreach.hasNext),#end#end],
  #if($input.params('X-Mode') == "loud")"mode": "LOUD"#else"mode": "quiet"#end
}"""

CALC_RESPONSE = """#set($answer = $input.path('$'))
{"result": $answer.result, "op": "$answer.event.op", "event": $input.json('$.event')}"""

ERROR_RESPONSE = """{"error": "$util.escapeJavaScript($input.path('$.errorMessage'))"}"""

app = cdk.App()
stack = cdk.Stack(app, "fixture-api-integrations", env=cdk.Environment(region="us-east-1"))


def inline(name: str, code: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline(code),
    )


table = dynamodb.Table(
    stack,
    "ItemsTable",
    partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    removal_policy=cdk.RemovalPolicy.DESTROY,
)
queue = sqs.Queue(stack, "OrdersQueue")
role = iam.Role(stack, "ApiRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"))
table.grant_read_write_data(role)
queue.grant_send_messages(role)
read_only = iam.Role(
    stack, "ReadOnlyRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com")
)
table.grant_read_data(read_only)

api = apigateway.RestApi(
    stack,
    "IntegrationsApi",
    deploy_options=apigateway.StageOptions(stage_name="prod", variables={"flavour": "local"}),
)
ok = apigateway.MethodResponse(status_code="200")
bad = apigateway.MethodResponse(status_code="400")

calc = apigateway.LambdaIntegration(
    inline("CalcFunction", CALC),
    proxy=False,
    request_templates={"application/json": CALC_REQUEST},
    integration_responses=[
        apigateway.IntegrationResponse(
            status_code="200",
            response_templates={"application/json": CALC_RESPONSE},
            response_parameters={
                "method.response.header.X-Op": "integration.response.body.event.op"
            },
        ),
        apigateway.IntegrationResponse(
            status_code="400",
            selection_pattern="Bad input.*",
            response_templates={"application/json": ERROR_RESPONSE},
        ),
    ],
)
api.root.add_resource("calc").add_method(
    "POST",
    calc,
    method_responses=[
        apigateway.MethodResponse(
            status_code="200", response_parameters={"method.response.header.X-Op": True}
        ),
        bad,
    ],
)
echo = apigateway.LambdaIntegration(
    inline("EchoFunction", ECHO),
    proxy=False,
    integration_responses=[apigateway.IntegrationResponse(status_code="200")],
)
api.root.add_resource("echo").add_method("POST", echo, method_responses=[ok])

put_item = apigateway.AwsIntegration(
    service="dynamodb",
    action="PutItem",
    options=apigateway.IntegrationOptions(
        credentials_role=role,
        request_templates={
            "application/json": (
                '{"TableName": "' + table.table_name + '", "Item": {'
                '"id": {"S": "$input.path(\'$.id\')"}, '
                '"name": {"S": "$util.escapeJavaScript($input.path(\'$.name\'))"}, '
                '"stage": {"S": "$context.stage"}}}'
            )
        },
        integration_responses=[
            apigateway.IntegrationResponse(
                status_code="200",
                response_templates={"application/json": '{"saved": true}'},
            ),
            apigateway.IntegrationResponse(status_code="400", selection_pattern="4\\d{2}"),
        ],
    ),
)
items = api.root.add_resource("items")
items.add_method("POST", put_item, method_responses=[ok, bad])
get_item = apigateway.AwsIntegration(
    service="dynamodb",
    action="GetItem",
    options=apigateway.IntegrationOptions(
        credentials_role=role,
        request_templates={
            "application/json": (
                '{"TableName": "' + table.table_name + '", '
                '"Key": {"id": {"S": "$input.params(\'id\')"}}}'
            )
        },
        integration_responses=[
            apigateway.IntegrationResponse(
                status_code="200",
                response_templates={
                    "application/json": (
                        "#set($item = $input.path('$.Item'))\n"
                        '{"id": "$item.id.S", "name": "$item.name.S", "stage": "$item.stage.S"}'
                    )
                },
            )
        ],
    ),
)
items.add_resource("{id}").add_method("GET", get_item, method_responses=[ok])
denied = apigateway.AwsIntegration(
    service="dynamodb",
    action="PutItem",
    options=apigateway.IntegrationOptions(
        credentials_role=read_only,
        request_templates={
            "application/json": (
                '{"TableName": "' + table.table_name + '", "Item": {"id": {"S": "x"}}}'
            )
        },
        integration_responses=[
            apigateway.IntegrationResponse(status_code="200"),
            apigateway.IntegrationResponse(status_code="400", selection_pattern="4\\d{2}"),
        ],
    ),
)
api.root.add_resource("denied").add_method("POST", denied, method_responses=[ok, bad])
send = apigateway.AwsIntegration(
    service="sqs",
    path=f"{cdk.Aws.ACCOUNT_ID}/{queue.queue_name}",
    integration_http_method="POST",
    options=apigateway.IntegrationOptions(
        credentials_role=role,
        request_parameters={
            "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
        },
        request_templates={
            "application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
        },
        integration_responses=[apigateway.IntegrationResponse(status_code="200")],
    ),
)
api.root.add_resource("orders").add_method("POST", send, method_responses=[ok])

cdk.CfnOutput(stack, "ApiId", value=api.rest_api_id)
cdk.CfnOutput(stack, "QueueUrl", value=queue.queue_url)
cdk.CfnOutput(stack, "TableName", value=table.table_name)
app.synth()
