"""CDK's own Node.js custom-resource handlers on a fresh local cloud: `AwsCustomResource`
SDK calls (DynamoDB `putItem`/`deleteItem`, SSM `putParameter`/`deleteParameter`) through the
pinned AWS SDK for JavaScript v3 under the role's enforced policy, their flattened response
in `Data`, and the `Provider` framework invoking a Python `on_event`; each answering the
response URL with `https.request`."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.localcloud.conftest import client, module_cloud
from tests.support.fixture_apps import FixtureApp, outputs_of
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APP = Path("tests/fixture_apps/aws_custom_resource")


cloud = module_cloud("sdk-custom-resource")


def test_aws_custom_resource_and_provider_create_answer_and_delete(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    app = FixtureApp(APP, tmp_path)
    outputs = app.deploy(cloud)
    endpoint, table = cloud.endpoint, outputs_of(outputs, "TableName")
    dynamodb, ssm = client("dynamodb", endpoint), client("ssm", endpoint)
    item = dynamodb.get_item(TableName=table, Key={"id": {"S": "seeded"}})["Item"]
    assert item["note"] == {"S": "from AwsCustomResource"}
    # Data is the SDK call's output flattened: ConsumedCapacity.TableName, Version.
    assert outputs_of(outputs, "ConsumedTable") == table
    assert outputs_of(outputs, "ParameterVersion") == "1"
    assert ssm.get_parameter(Name="/fixture/sdk-custom")["Parameter"]["Value"] == "v1"
    assert outputs_of(outputs, "GreetingId") == "greeting-local"
    assert outputs_of(outputs, "GreetingText") == "hello local"

    app.destroy(cloud)
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"id": {"S": "seeded"}})
    with pytest.raises(ClientError) as raised:
        ssm.get_parameter(Name="/fixture/sdk-custom")
    assert raised.value.response["Error"]["Code"] == "ParameterNotFound"
