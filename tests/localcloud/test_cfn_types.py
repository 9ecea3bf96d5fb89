"""The contract of `ServedResource`: an update in place keeps the resource, else it is
replaced; a delete by physical id reaches the resource's own `delete`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

from localcloud.cfn_apigateway import HttpRoute, RestStage, http_backend, rest_backend
from localcloud.cfn_sns import Subscription
from localcloud.cfn_sns import backend as sns_backend
from localcloud.cfn_types import ServedResource

ACCOUNT = "123456789012"
REGION = "us-east-1"
# The physical ids deleted, in order.
DELETED: list[str] = []


class Thing(ServedResource):
    """A resource that records what the base class asks of it."""

    id_attribute = "ThingId"
    made = 0

    def __init__(self, physical_id: str, account_id: str, region_name: str) -> None:
        super().__init__(physical_id, account_id, region_name)
        self.properties: dict[str, Any] = {}

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Thing:
        cls.made += 1
        thing = cls(f"thing-{cls.made}", account_id, region_name)
        thing.properties = properties
        return thing

    def update_in_place(
        self, properties: dict[str, Any], account_id: str, region_name: str
    ) -> bool:
        if properties.get("Replace"):
            return False
        self.properties = properties
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        DELETED.append(self.physical_id)


class Other(ServedResource):
    """Another served type, without an update in place."""

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Other:
        return cls("other-new", account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        DELETED.append(self.physical_id)


class Stranger(Other):
    """Of another class, though it would keep itself."""

    def update_in_place(
        self, properties: dict[str, Any], account_id: str, region_name: str
    ) -> bool:
        return True


@pytest.fixture(autouse=True)
def _fresh() -> None:
    Thing.made = 0
    DELETED.clear()


def _update(original: ServedResource, properties: dict[str, Any]) -> ServedResource:
    return Thing.update_from_cloudformation_json(
        original, "Logical", {"Properties": properties}, ACCOUNT, REGION
    )


def test_an_update_in_place_keeps_the_resource_with_the_new_properties() -> None:
    original = Thing.create({"Size": 1}, ACCOUNT, REGION)

    updated = _update(original, {"Size": 2})

    assert updated is original
    assert updated.physical_resource_id == "thing-1"
    assert original.properties == {"Size": 2}
    assert DELETED == []
    assert Thing.made == 1


def test_an_update_the_hook_refuses_replaces_the_resource() -> None:
    original = Thing.create({"Size": 1}, ACCOUNT, REGION)

    updated = _update(original, {"Size": 2, "Replace": True})

    assert isinstance(updated, Thing)
    assert updated.physical_resource_id == "thing-2"
    assert updated.properties == {"Size": 2, "Replace": True}
    assert DELETED == ["thing-1"]
    assert original.properties == {"Size": 1}


def test_an_original_of_another_class_is_replaced() -> None:
    updated = _update(Stranger("other-1", ACCOUNT, REGION), {"Size": 2})

    assert updated.physical_resource_id == "thing-1"
    assert DELETED == ["other-1"]


def test_without_the_hook_an_update_replaces() -> None:
    original = Other("other-1", ACCOUNT, REGION)

    updated = Other.update_from_cloudformation_json(original, "Logical", {}, ACCOUNT, REGION)

    assert updated.physical_resource_id == "other-new"
    assert DELETED == ["other-1"]


def test_a_delete_by_physical_id_deletes_that_resource() -> None:
    Thing.delete_from_cloudformation_json("thing-7", {"Properties": {}}, ACCOUNT, REGION)

    assert DELETED == ["thing-7"]


def test_the_id_attribute_is_the_physical_id() -> None:
    thing = Thing("thing-1", ACCOUNT, REGION)

    assert Thing.has_cfn_attr("ThingId")
    assert not Thing.has_cfn_attr("Arn")
    assert thing.get_cfn_attribute("ThingId") == "thing-1"
    with pytest.raises(UnformattedGetAttTemplateException):
        thing.get_cfn_attribute("Arn")


@pytest.fixture
def moto_backends() -> Iterator[None]:
    with mock_aws():
        yield


def _route(api_id: str, route_key: str) -> dict[str, Any]:
    return {"ApiId": api_id, "RouteKey": route_key, "Target": "integrations/x"}


def test_a_route_update_is_in_place_and_a_new_api_replaces_it(moto_backends: None) -> None:
    apis = http_backend(ACCOUNT, REGION)
    first = apis.create_api(**_api_arguments("first")).api_id
    second = apis.create_api(**_api_arguments("second")).api_id
    route = HttpRoute.create(_route(first, "GET /a"), ACCOUNT, REGION)

    same = HttpRoute.update_from_cloudformation_json(
        route, "Route", {"Properties": _route(first, "GET /b")}, ACCOUNT, REGION
    )
    moved = HttpRoute.update_from_cloudformation_json(
        same, "Route", {"Properties": _route(second, "GET /b")}, ACCOUNT, REGION
    )

    assert same is route
    assert apis.apis[first].routes == {}
    assert [r.route_key for r in apis.apis[second].routes.values()] == ["GET /b"]
    assert moved.physical_resource_id in apis.apis[second].routes


def test_a_rest_stage_moves_in_place_a_rename_replaces_it_and_a_delete_removes_it(
    moto_backends: None,
) -> None:
    api = rest_backend(ACCOUNT, REGION).create_rest_api("rest", "")
    properties = {"RestApiId": api.id, "StageName": "prod", "DeploymentId": "d1"}
    stage = RestStage.create(properties, ACCOUNT, REGION)

    moved = RestStage.update_from_cloudformation_json(
        stage, "Stage", {"Properties": {**properties, "DeploymentId": "d2"}}, ACCOUNT, REGION
    )
    assert moved is stage
    assert api.stages["prod"].deployment_id == "d2"
    renamed = RestStage.update_from_cloudformation_json(
        moved, "Stage", {"Properties": {**properties, "StageName": "live"}}, ACCOUNT, REGION
    )
    assert renamed.physical_resource_id == "live"
    assert list(api.stages) == ["live"]
    assert api.stages["live"].deployment_id == "d1"
    RestStage.delete_from_cloudformation_json(
        "live", {"Properties": {**properties, "StageName": "live"}}, ACCOUNT, REGION
    )
    assert api.stages == {}


def _api_arguments(name: str) -> dict[str, Any]:
    return {
        "api_key_selection_expression": "",
        "cors_configuration": None,
        "description": "",
        "disable_schema_validation": "",
        "disable_execute_api_endpoint": "",
        "name": name,
        "protocol_type": "HTTP",
        "route_selection_expression": "",
        "tags": {},
        "version": "",
    }


def test_a_subscription_keeps_its_arn_until_its_endpoint_changes(moto_backends: None) -> None:
    sns = sns_backend(ACCOUNT, REGION)
    topic = sns.create_topic("events").arn
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:"
    properties = {"TopicArn": topic, "Protocol": "sqs", "Endpoint": queue + "a"}
    subscription = Subscription.create(properties, ACCOUNT, REGION)
    arn = subscription.physical_resource_id

    raw = Subscription.update_from_cloudformation_json(
        subscription,
        "Sub",
        {"Properties": {**properties, "RawMessageDelivery": True}},
        ACCOUNT,
        REGION,
    )
    # "true" as moto keeps it, True with our patch installed
    assert sns.subscriptions[arn].attributes["RawMessageDelivery"] in ("true", True)
    moved = Subscription.update_from_cloudformation_json(
        raw, "Sub", {"Properties": {**properties, "Endpoint": queue + "b"}}, ACCOUNT, REGION
    )

    assert raw is subscription
    assert moved.physical_resource_id != arn
    assert list(sns.subscriptions) == [moved.physical_resource_id]
    assert sns.subscriptions[moved.physical_resource_id].endpoint == queue + "b"
