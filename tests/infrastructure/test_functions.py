"""Intent: each function's runtime, wiring and role, granted exactly what its handler calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from datamodel.entities import MESSAGE_STREAM_FILTER
from datamodel.functions import FUNCTIONS
from datamodel.tables import EMAIL_INDEX, MESSAGE_GROUP_INDEX
from stacks.config import HOT_RELOAD_TAG
from tests.infrastructure.cfn import (
    function_by_name,
    function_role,
    grants,
    render,
    role_statements,
)
from tests.support.synth import REPO, SynthesizedStage

TABLE_ARN = "arn:${AWS::Partition}:dynamodb:us-east-1:${AWS::AccountId}:table/"


def functions(stage: SynthesizedStage) -> list[tuple[str, str]]:
    """Each declared function's physical name on the stage and its handler."""
    return [(stage.config.functions[spec.key], spec.handler) for spec in FUNCTIONS]


def test_the_tutorials_functions_keep_their_handlers() -> None:
    # `functions()` reads the handlers from the specs; these are what Lambda imports.
    assert [spec.handler for spec in FUNCTIONS] == [
        "user_manager.handler.lambda_handler",
        "message_stream.handler.lambda_handler",
        "tasks.handler.lambda_handler",
    ]


def test_local_function_names_follow_the_tutorial(local: SynthesizedStage) -> None:
    local.functions.has_resource_properties(
        "AWS::Lambda::Function", {"FunctionName": "user-manager"}
    )
    local.functions.resource_count_is("AWS::Lambda::Function", len(FUNCTIONS))


def test_every_function_is_configured_alike(stage: SynthesizedStage) -> None:
    for name, handler in functions(stage):
        _, properties = function_by_name(stage.functions, name)
        assert properties["Runtime"] == "python3.14"
        assert properties["Handler"] == handler
        assert properties["MemorySize"] == stage.config.lambda_memory_mb
        assert properties["Timeout"] == stage.config.lambda_timeout_s
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["LoggingConfig"]["LogFormat"] == "JSON"
        assert "TargetArn" in properties["DeadLetterConfig"]
        assert properties["Environment"]["Variables"]["STAGE"] == stage.config.name


def test_each_function_name_is_an_output(stage: SynthesizedStage) -> None:
    outputs = stage.functions.find_outputs("*")
    assert {render(output["Value"]) for output in outputs.values()} == {
        f"${{{function_by_name(stage.functions, name)[0]}}}" for name, _ in functions(stage)
    }


def test_each_function_logs_to_its_own_log_group_with_retention(stage: SynthesizedStage) -> None:
    for name, _ in functions(stage):
        stage.functions.has_resource_properties(
            "AWS::Logs::LogGroup",
            {
                "LogGroupName": f"/aws/lambda/{name}",
                "RetentionInDays": stage.config.log_retention_days,
            },
        )
        role_id, role = function_role(stage.functions, name)
        assert "ManagedPolicyArns" not in role  # no AWSLambdaBasicExecutionRole
        logs = grants(role_statements(stage.functions, role_id), "logs")
        assert set(logs) == {"logs:CreateLogStream", "logs:PutLogEvents"}
        (log_group,) = logs["logs:CreateLogStream"]
        assert log_group.startswith("${") and "LogGroup" in log_group


def test_user_manager_role_is_seed_003s_policy_plus_batch_get(stage: SynthesizedStage) -> None:
    users = stage.config.table("users").table_name
    role_id, _ = function_role(stage.functions, stage.config.functions.user_manager)
    dynamodb = grants(role_statements(stage.functions, role_id), "dynamodb")
    table = {f"{TABLE_ARN}{users}"}
    assert dynamodb == {
        **dict.fromkeys(
            (
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Scan",
                # BATCH_GET (the tutorial's challenge 2); BATCH_CREATE is a transaction of puts
                "dynamodb:BatchGetItem",
            ),
            table,
        ),
        # find_by_email is the one index query (lambda_src/user_manager/repository.py).
        "dynamodb:Query": {*table, f"{TABLE_ARN}{users}/index/{EMAIL_INDEX}"},
    }
    _, properties = function_by_name(stage.functions, stage.config.functions.user_manager)
    assert properties["Environment"]["Variables"] == {
        "STAGE": stage.config.name,
        "USERS_TABLE": users,
        "EMAIL_INDEX": EMAIL_INDEX,
        "USERS_TTL_ATTRIBUTE": "expiresAt",
    }


def test_no_policy_or_acknowledgment_names_every_index_of_a_table(
    stage: SynthesizedStage,
) -> None:
    # Index access is granted index by index; `<table>/index/*` (or a cdk-nag acknowledgment
    # of one, such as the DAX role's for Tasks, which has no index) means a grant grew wider.
    for name, template in stage.templates().items():
        text = json.dumps(template.to_json())
        assert "/index/*" not in text, name


def test_each_function_reserves_the_stage_concurrency(stage: SynthesizedStage) -> None:
    names, reserved = stage.config.functions, stage.config.reserved_concurrency
    for spec in FUNCTIONS:
        _, properties = function_by_name(stage.functions, names[spec.key])
        assert properties["ReservedConcurrentExecutions"] == reserved[spec.key]


def test_message_stream_role_allows_only_what_it_calls(stage: SynthesizedStage) -> None:
    messages = stage.config.table("messages").table_name
    role_id, _ = function_role(stage.functions, stage.config.functions.message_stream)
    dynamodb = grants(role_statements(stage.functions, role_id), "dynamodb")
    stream = {
        r for r in dynamodb["dynamodb:GetRecords"] if r.startswith("${Import:")
    }  # the stream ARN is the one value imported from the data stack
    assert len(stream) == 1
    assert dynamodb == {
        "dynamodb:PutItem": {f"{TABLE_ARN}{messages}"},
        "dynamodb:DeleteItem": {f"{TABLE_ARN}{messages}"},
        "dynamodb:Query": {
            f"{TABLE_ARN}{messages}",
            f"{TABLE_ARN}{messages}/index/{MESSAGE_GROUP_INDEX}",
        },
        "dynamodb:DescribeStream": stream,
        "dynamodb:GetRecords": stream,
        "dynamodb:GetShardIterator": stream,
        "dynamodb:ListStreams": {"*"},
    }


def test_message_stream_subscription(stage: SynthesizedStage) -> None:
    processing = stage.config.stream_processing
    function_id, _ = function_by_name(stage.functions, stage.config.functions.message_stream)
    stage.functions.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    stage.functions.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": function_id},
            "EventSourceArn": {"Fn::ImportValue": Match.string_like_regexp("StreamArn")},
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": processing.batch_size,
            "ParallelizationFactor": processing.parallelization_factor,
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": processing.retry_attempts,
            "MaximumRecordAgeInSeconds": processing.max_record_age_s,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {
                "OnFailure": {"Destination": {"Fn::GetAtt": [Match.any_value(), "Arn"]}}
            },
        },
    )


def test_message_stream_mapping_filters_out_all_but_new_messages(stage: SynthesizedStage) -> None:
    (mapping,) = stage.functions.find_resources("AWS::Lambda::EventSourceMapping").values()
    (only,) = mapping["Properties"]["FilterCriteria"]["Filters"]
    assert json.loads(only["Pattern"]) == MESSAGE_STREAM_FILTER


def test_failure_queues_are_encrypted_and_tls_only(stage: SynthesizedStage) -> None:
    # One dead-letter queue per function plus the stream's on-failure queue.
    stage.functions.resource_count_is("AWS::SQS::Queue", len(FUNCTIONS) + 1)
    queues = stage.functions.find_resources("AWS::SQS::Queue")
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    policies = stage.functions.find_resources("AWS::SQS::QueuePolicy")
    assert len(policies) == len(FUNCTIONS) + 1
    for policy in policies.values():
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_local_tasks_reads_dynamodb_directly(local: SynthesizedStage) -> None:
    tasks = local.config.table("tasks").table_name
    role_id, _ = function_role(local.functions, local.config.functions.tasks)
    statements = role_statements(local.functions, role_id)
    assert grants(statements, "dynamodb") == {
        action: {f"{TABLE_ARN}{tasks}"}
        for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan")
    }
    assert grants(statements, "dax") == {}
    _, properties = function_by_name(local.functions, local.config.functions.tasks)
    assert "VpcConfig" not in properties
    assert "DAX_ENDPOINT" not in properties["Environment"]["Variables"]


def test_prod_tasks_reads_through_dax_inside_its_vpc(prod: SynthesizedStage) -> None:
    role_id, _ = function_role(prod.functions, prod.config.functions.tasks)
    statements = role_statements(prod.functions, role_id)
    assert grants(statements, "dynamodb") == {}
    dax = grants(statements, "dax")
    assert set(dax) == {"dax:GetItem", "dax:PutItem", "dax:Scan"}
    ((cluster_arn,),) = {frozenset(resources) for resources in dax.values()}
    assert cluster_arn.startswith("${Import:") and "DaxCluster" in cluster_arn
    ec2 = grants(statements, "ec2")
    assert "ec2:CreateNetworkInterface" in ec2 and "ec2:DeleteNetworkInterface" in ec2
    _, properties = function_by_name(prod.functions, prod.config.functions.tasks)
    endpoint = properties["Environment"]["Variables"]["DAX_ENDPOINT"]
    assert "ClusterDiscoveryEndpointURL" in str(endpoint)
    vpc_config = properties["VpcConfig"]
    assert len(vpc_config["SubnetIds"]) == prod.config.dax.subnet_count
    (security_group,) = vpc_config["SecurityGroupIds"]
    assert "ClientSecurityGroup" in str(security_group)


@pytest.mark.parametrize("which", ["user_manager", "message_stream"])
def test_only_tasks_runs_in_a_vpc(prod: SynthesizedStage, which: str) -> None:
    _, properties = function_by_name(prod.functions, getattr(prod.config.functions, which))
    assert "VpcConfig" not in properties


def code_asset_dir(stage: SynthesizedStage) -> Path:
    """The staged code asset every function shares."""
    keys = {
        resource["Properties"]["Code"]["S3Key"]
        for resource in stage.functions.find_resources("AWS::Lambda::Function").values()
    }
    (key,) = keys
    return stage.assembly_dir / f"asset.{key.removesuffix('.zip')}"


def test_prod_asset_ships_the_pinned_dax_client(prod: SynthesizedStage) -> None:
    asset = code_asset_dir(prod)
    assert (asset / "tasks" / "handler.py").exists()
    assert (asset / "amazondax" / "__init__.py").exists()  # tasks imports it when DAX is on
    assert list(asset.glob("amazon_dax_client-2.1.0.dist-info"))
    assert not list(asset.glob("botocore*"))  # the Lambda runtime provides it
    assert not (asset / "requirements.txt").exists()


def test_local_asset_is_the_sources_only(local: SynthesizedStage) -> None:
    asset = code_asset_dir(local)
    assert (asset / "user_manager" / "handler.py").exists()
    assert not (asset / "amazondax").exists()
    assert not list(asset.rglob("__pycache__"))


def test_local_functions_are_tagged_to_hot_reload_from_the_sources(
    local: SynthesizedStage,
) -> None:
    for name, handler in functions(local):
        _, properties = function_by_name(local.functions, name)
        tags = {tag["Key"]: tag["Value"] for tag in properties["Tags"]}
        # Relative to the app, as the local cloud resolves it against its project directory.
        assert tags[HOT_RELOAD_TAG] == "lambda_src"
        module = handler.rsplit(".", 1)[0].replace(".", "/")
        assert (REPO / tags[HOT_RELOAD_TAG] / f"{module}.py").is_file()
    # Only the functions carry it: not their mappings, roles, log groups or queues.
    tagged = [
        resource["Type"]
        for resource in local.functions.to_json()["Resources"].values()
        if HOT_RELOAD_TAG in str(resource.get("Properties", {}).get("Tags", ""))
    ]
    assert tagged == ["AWS::Lambda::Function"] * len(FUNCTIONS)


def test_prod_functions_are_not_tagged_for_hot_reload(prod: SynthesizedStage) -> None:
    assert HOT_RELOAD_TAG not in json.dumps(prod.functions.to_json())
