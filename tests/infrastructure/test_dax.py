"""Intent: the DAX cluster, its network and its role (prod), and its absence (local)."""

from __future__ import annotations

from typing import Any

from tests.infrastructure.cfn import grants, render, role_statements
from tests.infrastructure.synth import SynthesizedStage


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
    _, endpoint = only(prod, "AWS::EC2::VPCEndpoint")
    assert endpoint["VpcEndpointType"] == "Gateway"
    assert "dynamodb" in str(render(endpoint["ServiceName"]))
    prod.data.resource_count_is("AWS::EC2::FlowLog", 1)


def test_parameter_group_sets_the_configured_ttls(prod: SynthesizedStage) -> None:
    parameter_group_id, parameters = only(prod, "AWS::DAX::ParameterGroup")
    assert parameters["ParameterNameValues"] == {
        "record-ttl-millis": str(prod.config.dax.item_ttl_ms),
        "query-ttl-millis": str(prod.config.dax.query_ttl_ms),
    }
    _, cluster = only(prod, "AWS::DAX::Cluster")
    assert cluster["ParameterGroupName"] == {"Ref": parameter_group_id}


def test_dax_port_is_open_only_to_the_client_security_group(prod: SynthesizedStage) -> None:
    _, cluster = only(prod, "AWS::DAX::Cluster")
    (cluster_group,) = cluster["SecurityGroupIds"]
    cluster_group_id = cluster_group["Fn::GetAtt"][0]
    groups = prod.data.find_resources("AWS::EC2::SecurityGroup")
    assert set(groups) >= {cluster_group_id}
    (client_group_id,) = set(groups) - {cluster_group_id}
    # No inline ingress anywhere; one ingress rule, on the TLS port, from the clients only.
    for group in groups.values():
        assert "SecurityGroupIngress" not in group["Properties"]
    rules = prod.data.find_resources("AWS::EC2::SecurityGroupIngress")
    assert [rule["Properties"] for rule in rules.values()] == [
        {
            "IpProtocol": "tcp",
            "FromPort": prod.config.dax.port,
            "ToPort": prod.config.dax.port,
            "GroupId": {"Fn::GetAtt": [cluster_group_id, "GroupId"]},
            "SourceSecurityGroupId": {"Fn::GetAtt": [client_group_id, "GroupId"]},
            "Description": "DAX TLS endpoint from the client security group",
        }
    ]


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
