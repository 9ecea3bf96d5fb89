"""A DAX cluster with all it needs: VPC, subnet group, parameter group, role, security groups.

DAX has no L2 construct in aws-cdk-lib; this is our own, over `aws_dax.CfnCluster` & co.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dax as dax
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import DaxConfig
from stacks.constructs.table import DynamoTable
from stacks.nag import acknowledge, acknowledge_table_key_actions


class DaxCluster(Construct):
    """A DAX cluster caching `tables`, reachable only from `client_security_group` over TLS.

    It owns an isolated VPC (no NAT, no internet route) with a DynamoDB gateway endpoint, an
    X-Ray interface endpoint (the functions' traces have no other way out) and flow logs;
    functions that read through DAX run in `vpc` with `client_security_group`, whose only
    egress is the cluster's TLS port and the X-Ray endpoint. Server-side encryption and TLS
    endpoint encryption are always on.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DaxConfig,
        tables: Sequence[DynamoTable],
        retain: bool,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        removal_policy = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        self.port = config.port

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=config.subnet_count,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Dax", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            gateway_endpoints={
                "DynamoDb": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
                )
            },
        )
        flow_log_group = logs.LogGroup(
            self, "FlowLogGroup", retention=log_retention, removal_policy=removal_policy
        )
        self.vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group)
        )

        self.client_security_group = ec2.SecurityGroup(
            self,
            "ClientSecurityGroup",
            vpc=self.vpc,
            description="Lambda functions that read through DAX",
            allow_all_outbound=False,
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "ClusterSecurityGroup",
            vpc=self.vpc,
            description=f"DAX cluster {config.cluster_name}: TLS port from DAX clients only",
            allow_all_outbound=True,
        )
        self.security_group.add_ingress_rule(
            peer=self.client_security_group,
            connection=ec2.Port.tcp(config.port),
            description="DAX TLS endpoint from the client security group",
        )
        self.client_security_group.add_egress_rule(
            peer=self.security_group,
            connection=ec2.Port.tcp(config.port),
            description="DAX TLS endpoint of the cluster",
        )
        # Active tracing sends segments from inside the function's network: in isolated
        # subnets they need an interface endpoint, or they are silently lost.
        xray_security_group = ec2.SecurityGroup(
            self,
            "XRayEndpointSecurityGroup",
            vpc=self.vpc,
            description="X-Ray interface endpoint: HTTPS from DAX clients only",
            allow_all_outbound=False,
        )
        self.xray_endpoint = self.vpc.add_interface_endpoint(
            "XRayEndpoint",
            service=ec2.InterfaceVpcEndpointAwsService.XRAY,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[xray_security_group],
            open=False,
        )
        self.xray_endpoint.connections.allow_default_port_from(
            self.client_security_group, "X-Ray traces from the functions that read through DAX"
        )

        self.role = iam.Role(
            self,
            "ServiceRole",
            assumed_by=iam.ServicePrincipal("dax.amazonaws.com"),
            description=f"Lets DAX cluster {config.cluster_name} read and write its cached tables",
        )
        for cached in tables:
            cached.table.grant_read_write_data(self.role)

        self.subnet_group = dax.CfnSubnetGroup(
            self,
            "SubnetGroup",
            description=f"Isolated subnets of DAX cluster {config.cluster_name}",
            subnet_ids=[subnet.subnet_id for subnet in self.vpc.isolated_subnets],
        )
        self.parameter_group = dax.CfnParameterGroup(
            self,
            "ParameterGroup",
            description=f"Cache TTLs of DAX cluster {config.cluster_name}",
            parameter_name_values={
                "record-ttl-millis": str(config.item_ttl_ms),
                "query-ttl-millis": str(config.query_ttl_ms),
            },
        )
        self.cluster = dax.CfnCluster(
            self,
            "Cluster",
            cluster_name=config.cluster_name,
            description=f"Read-through cache for {', '.join(config.cached_tables)}",
            iam_role_arn=self.role.role_arn,
            node_type=config.node_type,
            replication_factor=config.replication_factor,
            subnet_group_name=self.subnet_group.ref,
            parameter_group_name=self.parameter_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            sse_specification=dax.CfnCluster.SSESpecificationProperty(sse_enabled=True),
            cluster_endpoint_encryption_type="TLS",
        )
        # DAX checks its role's access when the cluster is created: create the policy first.
        role_policy = self.role.node.try_find_child("DefaultPolicy")
        if role_policy is not None:
            self.cluster.node.add_dependency(role_policy)
        self.cluster.apply_removal_policy(removal_policy)

        # The DAX client speaks to this URL (daxs://..., port 9111).
        self.endpoint_url: str = self.cluster.attr_cluster_discovery_endpoint_url
        self.cluster_arn: str = self.cluster.attr_arn

        if any(cached.table.encryption_key is not None for cached in tables):
            acknowledge_table_key_actions(self.role)
        for cached in tables:
            if not cached.has_indexes:
                continue  # the grant is the table alone: nothing to acknowledge
            # grant_read_write_data adds `<table>/index/*` so DAX can serve index queries.
            table_arn = Stack.of(self).resolve(cached.table.table_arn)
            if isinstance(table_arn, dict) and "Fn::GetAtt" in table_arn:
                logical_id = table_arn["Fn::GetAtt"][0]
                acknowledge(
                    self.role,
                    f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/index/*]",
                    "DAX serves queries on every index of the table it caches.",
                )

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Allow `grantee` DAX data-plane `actions` (e.g. `dax:GetItem`) on this cluster only."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.cluster_arn]
        )
