"""Intent: the DAX cluster, its network and its role (prod), and its absence (local)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from stacks.config import stage_config
from tests.infrastructure.cfn import grants, render, role_statements
from tests.support.synth import SynthesizedStage, synthesize


def only(stage: SynthesizedStage, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = stage.data.find_resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    ((logical_id, resource),) = found.items()
    return logical_id, resource["Properties"]


def test_local_stage_deploys_no_dax_and_no_vpc(local: SynthesizedStage) -> None:
    # The local cloud skips AWS::DAX::*, and a GetAtt on a skipped resource fails the deploy.
    for resource_type in ("AWS::DAX::Cluster", "AWS::DAX::SubnetGroup", "AWS::EC2::VPC"):
        local.data.resource_count_is(resource_type, 0)


def test_cluster_is_encrypted_at_rest_and_in_transit(prod: SynthesizedStage) -> None:
    dax = prod.config.dax
    _, cluster = only(prod, "AWS::DAX::Cluster")
    assert cluster["SSESpecification"] == {"SSEEnabled": True}
    assert cluster["ClusterEndpointEncryptionType"] == "TLS"
    assert cluster["ClusterName"] == dax.cluster_name
    assert cluster["NodeType"] == dax.node_type
    assert cluster["ReplicationFactor"] == dax.replication_factor


def test_subnet_group_uses_the_isolated_subnets_of_its_vpc(prod: SynthesizedStage) -> None:
    subnet_group_id, subnet_group = only(prod, "AWS::DAX::SubnetGroup")
    _, cluster = only(prod, "AWS::DAX::Cluster")
    assert cluster["SubnetGroupName"] == {"Ref": subnet_group_id}
    vpc_id, _ = only(prod, "AWS::EC2::VPC")
    subnets = prod.data.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == prod.config.dax.subnet_count
    assert sorted(render(subnet_group["SubnetIds"])) == sorted(f"${{{s}}}" for s in subnets)
    for subnet in subnets.values():
        assert subnet["Properties"]["VpcId"] == {"Ref": vpc_id}
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    # Isolated: no NAT gateway, no internet gateway; DynamoDB through a gateway endpoint.
    prod.data.resource_count_is("AWS::EC2::NatGateway", 0)
    prod.data.resource_count_is("AWS::EC2::InternetGateway", 0)
    endpoints = {
        str(render(endpoint["Properties"]["ServiceName"])).rsplit(".", 1)[-1]: endpoint[
            "Properties"
        ]
        for endpoint in prod.data.find_resources("AWS::EC2::VPCEndpoint").values()
    }
    assert set(endpoints) == {"dynamodb", "xray"}
    assert endpoints["dynamodb"]["VpcEndpointType"] == "Gateway"
    # The functions' traces leave the isolated subnets through an interface endpoint.
    xray = endpoints["xray"]
    assert xray["VpcEndpointType"] == "Interface"
    assert xray["PrivateDnsEnabled"] is True
    assert sorted(render(xray["SubnetIds"])) == sorted(f"${{{s}}}" for s in subnets)
    prod.data.resource_count_is("AWS::EC2::FlowLog", 1)


def test_parameter_group_sets_the_configured_ttls(prod: SynthesizedStage) -> None:
    parameter_group_id, parameters = only(prod, "AWS::DAX::ParameterGroup")
    assert parameters["ParameterNameValues"] == {
        "record-ttl-millis": str(prod.config.dax.item_ttl_ms),
        "query-ttl-millis": str(prod.config.dax.query_ttl_ms),
    }
    _, cluster = only(prod, "AWS::DAX::Cluster")
    assert cluster["ParameterGroupName"] == {"Ref": parameter_group_id}


def group_rules(stage: SynthesizedStage, rule_type: str) -> set[tuple[str, str, int, int]]:
    """(group, peer group, from port, to port) of every standalone rule of `rule_type`."""
    peer_key = (
        "SourceSecurityGroupId" if rule_type.endswith("Ingress") else ("DestinationSecurityGroupId")
    )
    rules = set()
    for rule in stage.data.find_resources(rule_type).values():
        properties = rule["Properties"]
        assert properties["IpProtocol"] == "tcp"
        rules.add(
            (
                properties["GroupId"]["Fn::GetAtt"][0],
                properties[peer_key]["Fn::GetAtt"][0],
                properties["FromPort"],
                properties["ToPort"],
            )
        )
    return rules


def security_groups(stage: SynthesizedStage) -> tuple[str, str, str]:
    """Logical ids of the cluster's, the clients' and the X-Ray endpoint's security groups."""
    _, cluster = only(stage, "AWS::DAX::Cluster")
    (cluster_group,) = cluster["SecurityGroupIds"]
    endpoint = next(
        properties["Properties"]
        for properties in stage.data.find_resources("AWS::EC2::VPCEndpoint").values()
        if properties["Properties"]["VpcEndpointType"] == "Interface"
    )
    (endpoint_group,) = endpoint["SecurityGroupIds"]
    ids = {cluster_group["Fn::GetAtt"][0], endpoint_group["Fn::GetAtt"][0]}
    (client_group,) = set(stage.data.find_resources("AWS::EC2::SecurityGroup")) - ids
    return cluster_group["Fn::GetAtt"][0], client_group, endpoint_group["Fn::GetAtt"][0]


def test_dax_port_is_open_only_to_the_client_security_group(prod: SynthesizedStage) -> None:
    cluster_group, client_group, endpoint_group = security_groups(prod)
    port = prod.config.dax.port
    # No inline ingress anywhere: the cluster admits the clients on the TLS port only, and
    # the X-Ray endpoint admits them on HTTPS.
    for group in prod.data.find_resources("AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in group["Properties"]
    assert group_rules(prod, "AWS::EC2::SecurityGroupIngress") == {
        (cluster_group, client_group, port, port),
        (endpoint_group, client_group, 443, 443),
    }


def test_dax_clients_reach_only_the_cluster_and_the_xray_endpoint(
    prod: SynthesizedStage,
) -> None:
    cluster_group, client_group, endpoint_group = security_groups(prod)
    client = prod.data.to_json()["Resources"][client_group]["Properties"]
    assert "SecurityGroupEgress" not in client  # no "all outbound" default
    port = prod.config.dax.port
    assert group_rules(prod, "AWS::EC2::SecurityGroupEgress") == {
        (client_group, cluster_group, port, port),
        (client_group, endpoint_group, 443, 443),
    }


def test_dax_role_reaches_exactly_the_cached_tables(prod: SynthesizedStage) -> None:
    _, cluster = only(prod, "AWS::DAX::Cluster")
    role_id = cluster["IAMRoleARN"]["Fn::GetAtt"][0]
    role = prod.data.to_json()["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "dax.amazonaws.com"}
    tables = prod.data.find_resources("AWS::DynamoDB::Table")
    cached = {
        logical_id
        for logical_id, table in tables.items()
        if table["Properties"]["TableName"]
        in {prod.config.table(key).table_name for key in prod.config.dax.cached_tables}
    }
    resources = set().union(*grants(role_statements(prod.data, role_id), "dynamodb").values())
    assert {r.split("}")[0].lstrip("${").split(".")[0] for r in resources} == cached
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"} <= set(
        grants(role_statements(prod.data, role_id), "dynamodb")
    )


def table_ids(stage: SynthesizedStage) -> dict[str, str]:
    """Logical ids of the stage's tables by logical key (`tasks`), found by physical name."""
    by_name = {
        table["Properties"]["TableName"]: logical_id
        for logical_id, table in stage.data.find_resources("AWS::DynamoDB::Table").items()
    }
    return {spec.key: by_name[spec.table_name] for spec in stage.config.tables}


def dax_role(stage: SynthesizedStage) -> tuple[set[str], list[str]]:
    """The DAX role's DynamoDB resources and the cdk-nag rules acknowledged on it."""
    _, cluster = only(stage, "AWS::DAX::Cluster")
    role_id = cluster["IAMRoleARN"]["Fn::GetAtt"][0]
    resources = set().union(*grants(role_statements(stage.data, role_id), "dynamodb").values())
    policies = stage.data.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    role_and_policies = [stage.data.to_json()["Resources"][role_id], *policies.values()]
    acknowledged = [
        rule["id"]
        for resource in role_and_policies
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    return resources, acknowledged


def test_dax_role_names_no_index_of_a_table_without_indexes(prod: SynthesizedStage) -> None:
    # Tasks has no index: the grant is the table alone, and nothing acknowledges `index/*`.
    assert prod.config.dax.cached_tables == ("tasks",)
    assert not prod.config.table("tasks").global_indexes
    tasks = table_ids(prod)["tasks"]
    resources, acknowledged = dax_role(prod)
    assert resources == {f"${{{tasks}.Arn}}"}
    assert acknowledged  # the role does carry acknowledgments (the check below can fail)
    assert [rule for rule in acknowledged if "/index/" in rule] == []


@pytest.mark.slow
def test_dax_over_an_indexed_table_reaches_its_indexes(tmp_path: Path) -> None:
    # The other branch: caching Users (EmailIndex) grants and acknowledges Users/index/* only;
    # the packs run in this synth, so a missing acknowledgment would fail it.
    config = stage_config("prod")
    config = replace(config, dax=replace(config.dax, cached_tables=("tasks", "users")))
    stage = synthesize(config, tmp_path, nag=True)
    ids = table_ids(stage)
    resources, acknowledged = dax_role(stage)
    assert resources == {
        f"${{{ids['tasks']}.Arn}}",
        f"${{{ids['users']}.Arn}}",
        f"${{{ids['users']}.Arn}}/index/*",
    }
    index_rules = {rule for rule in acknowledged if "/index/" in rule}
    assert index_rules == {f"AwsSolutions-IAM5[Resource::<{ids['users']}.Arn>/index/*]"}
