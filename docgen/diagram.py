"""Draw a stage's synthesized stacks as an architecture diagram (Graphviz DOT -> SVG and PNG).

    python -m docgen.diagram --stage local [--assembly cdk.out/local] [--out docs]

Everything drawn comes from the cloud assembly (`docgen.assembly`): one cluster per stack;
tables with their keys, indexes, stream and TTL; functions, the event source mapping between
the stream and its function, and the queues that catch failures; one edge per grant on a
table, index, stream or DAX cluster, labelled with its actions; and, when the stage has one,
the DAX cluster inside its VPC with subnets, security groups and the role DAX assumes.
Grants that are not about data (logs, X-Ray, ENIs, sending to a function's own queues) are
summed up in the legend instead of drawn. `make diagram STAGE=...` synthesizes and runs this.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path

from docgen.assembly import (
    Assembly,
    AssemblyError,
    DaxCluster,
    EventSourceMapping,
    Function,
    Grant,
    IndexKind,
    Queue,
    ResourceId,
    Role,
    SecurityGroup,
    Table,
    TargetKind,
    read_assembly,
)

FORMATS = ("svg", "png")
PNG_DPI = 110
FONT = "DejaVu Sans"
# The environment variable that names the `dot` binary when it is not the one on PATH.
DOT_ENV = "GRAPHVIZ_DOT"

EXIT_BAD_INPUT = 2
EXIT_NO_GRAPHVIZ = 3
EXIT_RENDER_FAILED = 4

# Colours close to the AWS architecture icons, so each kind is recognisable at a glance.
TABLE_COLOUR = "#3334B9"
FUNCTION_COLOUR = "#D45B07"
QUEUE_COLOUR = "#B0084D"
DAX_COLOUR = "#3334B9"
IAM_COLOUR = "#BF0816"
NETWORK_COLOUR = "#248814"
GRANT_COLOUR = "#1F3A93"
FAILURE_COLOUR = "#B0084D"
STREAM_COLOUR = "#D45B07"
MUTED = "#5F6B7A"

# Rows inside a stack's band, top to bottom: failure queues; functions and their event source
# mappings; tables and DAX clusters; what those rely on (roles, security groups, subnets).
TIER_FAILURES, TIER_COMPUTE, TIER_DATA, TIER_SUPPORT = range(4)
# Resources an edge can point at; grants on anything else are summed up in the legend.
DRAWN_TARGETS = frozenset(
    {TargetKind.TABLE, TargetKind.INDEX, TargetKind.STREAM, TargetKind.DAX_CLUSTER}
)
# Data-plane services whose grants on `*` or on unresolved resources are written on the node.
DATA_SERVICES = ("dynamodb", "dax")
# Readable order of DynamoDB/DAX actions: item reads, item writes, then the rest by name.
_VERB_ORDER = ("Get", "Put", "Update", "Delete", "ConditionCheck", "Write")
_ACTIONS_PER_LINE = 38  # characters


class DiagramError(Exception):
    """The diagram cannot be rendered."""


class GraphvizMissing(DiagramError):
    """No `dot` binary to render with."""


class RenderFailed(DiagramError):
    """`dot` ran and failed."""


# --- DOT helpers -------------------------------------------------------------------------


def node_id(resource: ResourceId) -> str:
    """The quoted DOT id of a resource's node."""
    return quote(f"{resource.stack}/{resource.logical_id}")


def quote(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def html(text: object) -> str:
    """Text escaped for an HTML-like label."""
    return escape(str(text), quote=True)


def short_path(path: str) -> str:
    """A construct path without its trailing `/Resource`-like part (`UserManager/Role`)."""
    parts = [part for part in path.split("/") if part]
    while len(parts) > 1 and parts[-1] in ("Resource", "Table", "Function", "Subnet"):
        parts.pop()
    return "/".join(parts)


def abbreviate_actions(actions: Iterable[str]) -> list[str]:
    """IAM actions as short lines, nothing dropped: `dynamodb: Get/Put/DeleteItem, Query`.

    Actions of one service share a prefix; `<Verb>Item` actions share one `Item` suffix
    (and `Batch<Verb>Item`, `Transact<Verb>Items` theirs), so each line stays truthful.
    """
    by_service: dict[str, list[str]] = defaultdict(list)
    for action in actions:
        service, _, name = action.rpartition(":")
        by_service[service].append(name)
    lines: list[str] = []
    for service in sorted(by_service):
        words = _compress(sorted(set(by_service[service]), key=_action_order))
        lines.extend(_wrap(f"{service}: " if service else "", words))
    return lines


def _action_order(name: str) -> tuple[int, int, str]:
    for prefix_rank, prefix in enumerate(("", "Batch", "Transact")):
        rest = name.removeprefix(prefix) if prefix else name
        if prefix and rest == name:
            continue
        for verb_rank, verb in enumerate(_VERB_ORDER):
            if rest in (f"{verb}Item", f"{verb}Items"):
                return prefix_rank, verb_rank, name
    return 9, 0, name


def _compress(names: Sequence[str]) -> list[str]:
    """Join `GetItem`, `PutItem` into `Get/PutItem`; other names stay as they are."""
    groups: dict[tuple[str, str], list[str]] = {}
    words: list[str | tuple[str, str]] = []
    for name in names:
        for prefix in ("Batch", "Transact", ""):
            rest = name.removeprefix(prefix) if prefix else name
            if prefix and rest == name:
                continue
            suffix = "Items" if rest.endswith("Items") else "Item" if rest.endswith("Item") else ""
            verb = rest.removesuffix(suffix)
            if suffix and verb and verb[0].isupper():
                key = (prefix, suffix)
                if key not in groups:
                    groups[key] = []
                    words.append(key)
                groups[key].append(verb)
                break
        else:
            words.append(name)
    return [
        word
        if isinstance(word, str)
        else f"{word[0]}{'/'.join(groups[word])}{word[1]}"
        if len(groups[word]) > 1
        else f"{word[0]}{groups[word][0]}{word[1]}"
        for word in words
    ]


def _wrap(prefix: str, words: Sequence[str]) -> list[str]:
    lines: list[str] = []
    current = prefix
    for index, word in enumerate(words):
        piece = word + ("," if index < len(words) - 1 else "")
        if current not in (prefix, "  ") and len(current) + len(piece) > _ACTIONS_PER_LINE:
            lines.append(current.rstrip())
            current = "  " + piece + " "
        else:
            current += piece + " "
    lines.append(current.rstrip())
    return lines


def duration(seconds: int) -> str:
    """`3600` -> `1 h`, `90` -> `90 s`."""
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


# --- the diagram -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Edge:
    """One DOT edge from `tail` to `head`; `backwards` draws its arrow pointing at `tail`."""

    tail: str
    head: str
    label_lines: tuple[str, ...] = ()
    colour: str = GRANT_COLOUR
    style: str = "solid"
    arrowhead: str = "normal"
    backwards: bool = False
    tail_port: str = ""
    head_port: str = ""
    # Graphviz places labels of edges inside one row poorly; a label whose content is already
    # on a node (an ingress rule, "invokes") is left off such an edge.
    label_when_flat: bool = True

    def reversed(self) -> _Edge:
        """The same edge drawn from `head` to `tail`, its arrow still pointing the same way."""
        return replace(
            self,
            tail=self.head,
            head=self.tail,
            tail_port=self.head_port,
            head_port=self.tail_port,
            backwards=not self.backwards,
        )

    def dot(self, *, flat: bool = False) -> str:
        """The edge statement; a `flat` edge (ends in one rank) gets an external label."""
        attributes = [f'color="{self.colour}"', f'fontcolor="{self.colour}"']
        if self.backwards:
            attributes.append("dir=back")
        if self.label_lines and (self.label_when_flat or not flat):
            label = "<br/>".join(html(line) for line in self.label_lines)
            attributes.append(f"{'xlabel' if flat else 'label'}=<{label}>")
        if self.style != "solid":
            attributes.append(f"style={self.style}")
        if self.arrowhead != "normal":
            attributes.append(f"{'arrowtail' if self.backwards else 'arrowhead'}={self.arrowhead}")
        tail = self.tail + (f":{self.tail_port}" if self.tail_port else "")
        head = self.head + (f":{self.head_port}" if self.head_port else "")
        return f"  {tail} -> {head} [{', '.join(attributes)}];"


class _Builder:
    """Turns an `Assembly` into DOT source.

    Layout: top to bottom, one cluster per stack, a stack above the stacks it depends on
    (functions, then data). Each stack is a band of rows by tier (failure queues; functions
    and event source mappings; tables and DAX; roles and network), pinned with `rank=same`.
    Bands never share a row and edges mostly join neighbouring rows, so Graphviz keeps the
    stack clusters apart instead of routing edges around them.
    """

    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self.function_by_role = {f.role: f for f in assembly.functions if f.role is not None}
        self.edges: list[_Edge] = []
        self.node_place: dict[str, tuple[str, int]] = {}  # node id -> (stack, tier)
        self.not_drawn: dict[str, set[str]] = defaultdict(set)
        self.port_of_index: dict[tuple[ResourceId, str], str] = {}
        for table in assembly.tables:
            for number, index in enumerate(table.indexes):
                self.port_of_index[(table.id, index.name)] = f"i{number}"
        # Stream grants that an event source mapping uses are written on the mapping's edge.
        role_of = {function.id: function.role for function in assembly.functions}
        self.mapped_streams = {
            (role_of.get(mapping.function), mapping.source_table)
            for mapping in assembly.event_source_mappings
            if mapping.source_table is not None and mapping.function is not None
        }

    # -- labels

    def table_label(self, table: Table) -> str:
        rows = [
            _header(table.name, "DynamoDB table", TABLE_COLOUR, port="t"),
            _row(f"<b>PK</b> {html(table.partition_key)}"),
        ]
        if table.sort_key is not None:
            rows.append(_row(f"<b>SK</b> {html(table.sort_key)}"))
        for index in table.indexes:
            keys = f"PK {html(index.partition_key)}"
            if index.sort_key is not None:
                keys += f" · SK {html(index.sort_key)}"
            projection = index.projection
            if index.non_key_attributes:
                projection += f" ({', '.join(index.non_key_attributes)})"
            kind = "GSI" if index.kind is IndexKind.GSI else "LSI"
            rows.append(
                _row(
                    f"<b>{kind}</b> {html(index.name)}<br/>"
                    f"{_small(keys + ' · ' + html(projection))}",
                    port=self.port_of_index[(table.id, index.name)],
                    colour="#EEF0FB",
                )
            )
        if table.stream_view:
            rows.append(
                _row(f"<b>stream</b> {html(table.stream_view)}", port="s", colour="#FDF0E6")
            )
        if table.ttl_attribute:
            rows.append(_row(f"<b>TTL</b> {html(table.ttl_attribute)}"))
        if table.billing_mode == "PAY_PER_REQUEST":
            billing = "on-demand"
        elif table.capacity:
            billing = f"provisioned {table.capacity[0]}/{table.capacity[1]} RCU/WCU"
        else:
            billing = "provisioned"
        settings = [billing, "PITR" if table.point_in_time_recovery else "no PITR"]
        if table.deletion_protection:
            settings.append("deletion protection")
        rows.append(_row(_small(html(" · ".join(settings)) + f"<br/>SSE {html(table.encryption)}")))
        alarms = [alarm for alarm in self.assembly.alarms if alarm.table == table.id]
        if alarms:
            names = ", ".join(alarm.name.removeprefix(table.name).strip("-") for alarm in alarms)
            rows.append(_row(_small(f"alarms: {html(names)}")))
        return _table(rows, TABLE_COLOUR)

    def function_label(self, function: Function) -> str:
        memory = f" · {function.memory_mb} MB" if function.memory_mb else ""
        timeout = f" · {function.timeout_s} s" if function.timeout_s else ""
        rows = [
            _header(function.name, "Lambda function", FUNCTION_COLOUR),
            _row(html(f"{function.runtime} · {function.architecture}{memory}{timeout}")),
            _row(_small(html(function.handler))),
        ]
        if function.vpc is not None:
            subnets = ", ".join(self.name_of(subnet) for subnet in function.vpc.subnets)
            groups = ", ".join(self.name_of(group) for group in function.vpc.security_groups)
            rows.append(
                _row(_small(html(f"in VPC subnets {subnets}") + "<br/>" + html(f"sg {groups}")))
            )
        for grant in self.text_grants(self.assembly.grants_of(function.role)):
            rows.append(_row(_small(grant)))
        return _table(rows, FUNCTION_COLOUR)

    def text_grants(self, grants: Iterable[Grant]) -> list[str]:
        """Data-plane grants with no node to point at (`*`, unresolved), as label lines."""
        lines = []
        for grant in grants:
            if grant.target.kind in DRAWN_TARGETS:
                continue
            data_actions = [a for a in grant.actions if a.split(":")[0] in DATA_SERVICES]
            if not data_actions:
                continue
            where = "*" if grant.target.kind is TargetKind.ANY else grant.target.text
            text = "<br/>".join(html(line) for line in abbreviate_actions(data_actions))
            deny = "DENY " if grant.effect != "Allow" else ""
            lines.append(f"{deny}{text} on {html(where)}")
        return lines

    def name_of(self, resource: ResourceId) -> str:
        """A short readable name of a modelled resource (last part of its construct path)."""
        try:
            found = self.assembly.get(resource)
        except KeyError:
            return resource.logical_id
        path = getattr(found, "path", None) or getattr(found, "name", resource.logical_id)
        return short_path(str(path)).split("/")[-1]

    def queue_label(self, queue: Queue) -> str:
        details = []
        if queue.retention_s:
            details.append(f"retention {duration(queue.retention_s)}")
        details.append(queue.encryption)
        title = queue.name or short_path(queue.path)
        return _table(
            [_header(title, "SQS queue", QUEUE_COLOUR), _row(_small(html(" · ".join(details))))],
            QUEUE_COLOUR,
        )

    def mapping_label(self, mapping: EventSourceMapping) -> str:
        lines = []
        if mapping.batch_size is not None:
            lines.append(f"batch size {mapping.batch_size}")
        if mapping.starting_position:
            lines.append(f"start {mapping.starting_position}")
        lines.append("bisect batch on error" if mapping.bisect_on_error else "no bisect on error")
        if mapping.retry_attempts is not None:
            lines.append(f"{mapping.retry_attempts} retries")
        if mapping.max_record_age_s is not None:
            lines.append(f"max record age {duration(mapping.max_record_age_s)}")
        if mapping.report_batch_item_failures:
            lines.append("reports batch item failures")
        if not mapping.enabled:
            lines.append("DISABLED")
        if mapping.source_table is None:
            lines.append(f"source {mapping.source_text}")
        rows = [_header("event source mapping", None, FUNCTION_COLOUR)]
        rows += [_row(_small(html(line))) for line in lines]
        return _table(rows, FUNCTION_COLOUR)

    def dax_label(self, cluster: DaxCluster) -> str:
        rows = [
            _header(cluster.name, "DAX cluster", DAX_COLOUR),
            _row(html(f"{cluster.node_type} × {cluster.replication_factor} nodes")),
            _row(
                _small(
                    html(f"endpoint {cluster.endpoint_encryption} · SSE ")
                    + ("on" if cluster.sse_enabled else "<b>off</b>")
                )
            ),
        ]
        for name, value in cluster.parameters:
            rows.append(_row(_small(html(f"{name} {value}"))))
        return _table(rows, DAX_COLOUR)

    def subnets_label(self, subnets: Sequence[ResourceId]) -> str:
        rows = [_header("subnets", None, NETWORK_COLOUR)]
        for resource in subnets:
            subnet = self.assembly.get(resource)
            cidr = getattr(subnet, "cidr", "")
            zone = getattr(subnet, "availability_zone", "")
            kind = getattr(subnet, "kind", None) or ""
            rows.append(
                _row(
                    f"{html(self.name_of(resource))}<br/>{_small(html(f'{cidr} · {zone} {kind}'))}"
                )
            )
        return _table(rows, NETWORK_COLOUR)

    def security_group_label(self, group: SecurityGroup) -> str:
        rows = [
            _header(self.name_of(group.id), "security group", NETWORK_COLOUR),
            _row(_small(html(group.description))),
        ]
        for rule in group.ingress:
            source = self.name_of(rule.source_group) if rule.source_group else rule.source_cidr
            rows.append(_row(_small(html(f"in: {rule.ports} from {source}"))))
        if group.egress_all:
            rows.append(_row(_small("out: all traffic")))
        return _table(rows, NETWORK_COLOUR)

    def role_label(self, role: Role) -> str:
        assumed = ", ".join(principal.split(":", 1)[-1] for principal in role.assumed_by)
        return _table(
            [
                _header(short_path(role.path), "IAM role", IAM_COLOUR),
                _row(_small(html(f"assumed by {assumed}"))),
            ],
            IAM_COLOUR,
        )

    # -- edges

    def grant_edges(self, tail: str, grantee: ResourceId | None, grants: Iterable[Grant]) -> None:
        """One edge per (table part, action set); `table` and `index/*` with equal sets merge."""
        scopes: dict[tuple[ResourceId, str], dict[tuple[str, tuple[str, ...]], list[str]]] = (
            defaultdict(lambda: defaultdict(list))
        )
        for grant in grants:
            target = grant.target
            if target.kind not in DRAWN_TARGETS or target.resource is None:
                self.note_not_drawn(grant)
                continue
            if (
                target.kind is TargetKind.STREAM
                and (grantee, target.resource) in self.mapped_streams
            ):
                continue  # written on the event source mapping's edge
            if target.kind is TargetKind.TABLE:
                port, scope = "t", "table"
            elif target.kind is TargetKind.STREAM:
                port, scope = "s", "stream"
            elif target.kind is TargetKind.INDEX and target.index == "*":
                port, scope = "t", "index/*"
            elif target.kind is TargetKind.INDEX:
                index_port = self.port_of_index.get((target.resource, target.index or ""))
                port, scope = (
                    (index_port, "index") if index_port else ("t", f"index/{target.index}")
                )
            else:  # a DAX cluster
                port, scope = "", "cluster"
            scopes[(target.resource, port)][(grant.effect, grant.actions)].append(scope)
        for (resource, port), by_actions in scopes.items():
            for (effect, actions), scope_list in by_actions.items():
                lines = abbreviate_actions(actions)
                if effect != "Allow":
                    lines.insert(0, effect.upper())
                if scope_list not in (["table"], ["index"], ["stream"], ["cluster"]):
                    lines.append("on " + " + ".join(scope_list))
                self.edges.append(_Edge(tail, node_id(resource), tuple(lines), head_port=port))

    def note_not_drawn(self, grant: Grant) -> None:
        """Remember a grant that is not drawn, for the legend (data grants on `*` are on nodes)."""
        where = {
            TargetKind.ANY: "*",
            TargetKind.QUEUE: "queues",
            TargetKind.LOG_GROUP: "log groups",
            TargetKind.KMS_KEY: "KMS keys",
        }.get(grant.target.kind, "other resources")
        for service in {action.split(":")[0] for action in grant.actions}:
            written_on_node = grant.target.kind in (TargetKind.ANY, TargetKind.OTHER)
            if written_on_node and service in DATA_SERVICES:
                continue
            self.not_drawn[service].add(where)

    def failure_edges(self, function: Function) -> None:
        queues = {function.dead_letter_queue, function.on_failure} - {None}
        for queue in sorted(q for q in queues if q is not None):
            roles = []
            if queue == function.dead_letter_queue:
                roles.append("dead letters")
            if queue == function.on_failure:
                retries = f" ({function.async_retries} retries)" if function.async_retries else ""
                roles.append(f"async on-failure{retries}")
            self.edges.append(
                _Edge(
                    node_id(queue),
                    node_id(function.id),
                    tuple(roles),
                    colour=FAILURE_COLOUR,
                    style="dashed",
                    backwards=True,
                )
            )

    def mapping_edges(self, mapping: EventSourceMapping) -> None:
        function = next((f for f in self.assembly.functions if f.id == mapping.function), None)
        if mapping.source_table is not None:
            reads = ["stream records"]
            if function is not None:
                for grant in self.assembly.grants_of(function.role):
                    target = grant.target
                    if target.kind is TargetKind.STREAM and target.resource == mapping.source_table:
                        reads += ["read with", *abbreviate_actions(grant.actions)]
            self.edges.append(
                _Edge(
                    node_id(mapping.id),
                    node_id(mapping.source_table),
                    tuple(reads),
                    colour=STREAM_COLOUR,
                    backwards=True,
                    head_port="s",
                )
            )
        if function is not None:
            self.edges.append(
                _Edge(
                    node_id(function.id),
                    node_id(mapping.id),
                    ("invokes",),
                    colour=STREAM_COLOUR,
                    backwards=True,
                    label_when_flat=False,
                )
            )
        if mapping.on_failure is not None:
            self.edges.append(
                _Edge(
                    node_id(mapping.on_failure),
                    node_id(mapping.id),
                    ("on failure",),
                    colour=FAILURE_COLOUR,
                    style="dashed",
                    backwards=True,
                )
            )

    def network_edges(self) -> None:
        """DAX to its subnets, security groups and role; ingress rules between groups."""
        for cluster in self.assembly.dax_clusters:
            vpc = self.vpc_of(cluster.subnets)
            if vpc is not None:
                self.edges.append(
                    _Edge(
                        node_id(cluster.id),
                        self.subnets_node(vpc),
                        ("subnet group",),
                        colour=NETWORK_COLOUR,
                        style="dotted",
                        arrowhead="none",
                    )
                )
            for guard in cluster.security_groups:
                self.edges.append(
                    _Edge(
                        node_id(guard),
                        node_id(cluster.id),
                        ("guards",),
                        colour=NETWORK_COLOUR,
                        style="dotted",
                    )
                )
            if cluster.role is not None:
                self.edges.append(
                    _Edge(
                        node_id(cluster.id),
                        node_id(cluster.role),
                        ("assumes",),
                        colour=IAM_COLOUR,
                        style="dotted",
                    )
                )
        for group in self.assembly.security_groups:
            for rule in group.ingress:
                if rule.source_group is not None:
                    self.edges.append(
                        _Edge(
                            node_id(rule.source_group),
                            node_id(group.id),
                            (f"ingress {rule.ports}",),
                            colour=NETWORK_COLOUR,
                            label_when_flat=False,
                        )
                    )

    def vpc_of(self, subnets: Iterable[ResourceId]) -> ResourceId | None:
        wanted = set(subnets)
        for subnet in self.assembly.subnets:
            if subnet.id in wanted and subnet.vpc is not None:
                return subnet.vpc
        return None

    def subnets_node(self, vpc: ResourceId) -> str:
        return quote(f"{vpc.stack}/{vpc.logical_id}/subnets")

    # -- nodes and clusters

    def drawn_roles(self) -> list[Role]:
        """Roles drawn as nodes: not a function's, and with a grant that has an edge."""
        drawn = []
        for role in self.assembly.roles:
            if role.id in self.function_by_role:
                continue
            grants = self.assembly.grants_of(role.id)
            if any(grant.target.kind in DRAWN_TARGETS for grant in grants):
                drawn.append(role)
            else:
                for grant in grants:
                    self.note_not_drawn(grant)
        return drawn

    def node(self, lines: list[str], stack: str, node: str, label: str, tier: int) -> None:
        self.node_place[node] = (stack, tier)
        lines.append(f"    {node} [label=<{label}>];")

    def stack_cluster(
        self, number: int, stack: str, description: str, roles: Sequence[Role]
    ) -> list[str]:
        assembly = self.assembly
        label = f"<b>{html(stack)}</b>"
        if description:
            label += f'<br align="left"/>{_small(html(description))}<br align="left"/>'
        lines = [
            f"  subgraph cluster_stack_{number} {{",
            f'    label=<{label}>; style="rounded"; color="{MUTED}"; fontsize=11;',
        ]
        for table in assembly.tables:
            if table.id.stack == stack:
                self.node(lines, stack, node_id(table.id), self.table_label(table), TIER_DATA)
        for function in assembly.functions:
            if function.id.stack == stack:
                self.node(
                    lines, stack, node_id(function.id), self.function_label(function), TIER_COMPUTE
                )
        for mapping in assembly.event_source_mappings:
            if mapping.id.stack == stack:
                self.node(
                    lines, stack, node_id(mapping.id), self.mapping_label(mapping), TIER_COMPUTE
                )
        for queue in assembly.queues:
            if queue.id.stack == stack:
                self.node(lines, stack, node_id(queue.id), self.queue_label(queue), TIER_FAILURES)
        for role in roles:
            if role.id.stack == stack:
                self.node(lines, stack, node_id(role.id), self.role_label(role), TIER_SUPPORT)
        for vpc_number, vpc in enumerate(assembly.vpcs):
            if vpc.id.stack == stack:
                lines += self.vpc_cluster(f"{number}_{vpc_number}", stack, vpc.id)
        lines.append("  }")
        return lines

    def vpc_cluster(self, suffix: str, stack: str, vpc_id: ResourceId) -> list[str]:
        assembly = self.assembly
        vpc = next(item for item in assembly.vpcs if item.id == vpc_id)
        details = [vpc.cidr, *(f"{endpoint} endpoint" for endpoint in vpc.endpoints)]
        if vpc.flow_logs:
            details.append("flow logs")
        label = (
            f'<b>VPC {html(short_path(vpc.path))}</b><br align="left"/>'
            f'{_small(html(" · ".join(details)))}<br align="left"/>'
        )
        lines = [
            f"    subgraph cluster_vpc_{suffix} {{",
            f'      label=<{label}>; style="rounded,dashed"; color="{NETWORK_COLOUR}";',
            f'      fontcolor="{NETWORK_COLOUR}"; fontsize=10;',
        ]
        subnets = tuple(subnet.id for subnet in assembly.subnets if subnet.vpc == vpc_id)
        if subnets:
            self.node(
                lines, stack, self.subnets_node(vpc_id), self.subnets_label(subnets), TIER_SUPPORT
            )
        for group in assembly.security_groups:
            if group.vpc == vpc_id:
                self.node(
                    lines, stack, node_id(group.id), self.security_group_label(group), TIER_SUPPORT
                )
        for cluster in assembly.dax_clusters:
            if self.vpc_of(cluster.subnets) == vpc_id:
                self.node(lines, stack, node_id(cluster.id), self.dax_label(cluster), TIER_DATA)
        lines.append("    }")
        return lines

    # -- layout

    def stack_order(self) -> list[str]:
        """Stacks top to bottom: a stack before the stacks it depends on."""
        names = [stack.name for stack in self.assembly.stacks]
        depends = {
            stack.name: set(stack.dependencies) & set(names) for stack in self.assembly.stacks
        }
        ordered: list[str] = []
        while len(ordered) < len(names):
            # Take a stack no remaining stack depends on (stable; a cycle takes the first left).
            remaining = [name for name in names if name not in ordered]
            free = [n for n in remaining if not any(n in depends[m] for m in remaining if m != n)]
            ordered.append((free or remaining)[0])
        return ordered

    def rank_groups(self) -> list[list[str]]:
        """Nodes by rank: each stack its own band of rows, in tier order within the band."""
        groups: list[list[str]] = []
        for stack in self.stack_order():
            tiers: dict[int, list[str]] = defaultdict(list)
            for node, (owner, tier) in self.node_place.items():
                if owner == stack:
                    tiers[tier].append(node)
            groups += [tiers[tier] for tier in sorted(tiers)]
        return groups

    # -- the whole graph

    def build(self) -> str:
        assembly = self.assembly
        roles = self.drawn_roles()
        body: list[str] = []
        for number, stack in enumerate(assembly.stacks):
            body += self.stack_cluster(number, stack.name, stack.description, roles)
        for function in assembly.functions:
            self.grant_edges(node_id(function.id), function.role, assembly.grants_of(function.role))
            self.failure_edges(function)
        for mapping in assembly.event_source_mappings:
            self.mapping_edges(mapping)
        self.network_edges()
        for role in roles:
            self.grant_edges(node_id(role.id), role.id, assembly.grants_of(role.id))
        groups = self.rank_groups()
        rank = {node: number for number, group in enumerate(groups) for node in group}
        for edge in self.edges:
            tail_rank, head_rank = rank.get(edge.tail, 0), rank.get(edge.head, 0)
            # An edge always runs down the rows; one pointing up is drawn with its arrow flipped.
            down = edge if tail_rank <= head_rank else edge.reversed()
            body.append(down.dot(flat=tail_rank == head_rank))
        body += [f"  {{ rank=same; {'; '.join(group)}; }}" for group in groups]
        # Pin the row order (edges alone would leave rows without edges between them free).
        for upper, lower in zip(groups, groups[1:], strict=False):
            body.append(f"  {upper[0]} -> {lower[0]} [style=invis, weight=0];")
        head = [
            "digraph architecture {",
            "  graph [rankdir=TB, newrank=true, nodesep=0.3, ranksep=0.8, pad=0.3,",
            f'         fontname="{FONT}", fontsize=13, labelloc=t, labeljust=l,',
            f"         label=<{self.title()}>];",
            f'  node [shape=plain, fontname="{FONT}", fontsize=10];',
            f'  edge [fontname="{FONT}", fontsize=8, arrowsize=0.7];',
        ]
        return "\n".join([*head, *body, "}"]) + "\n"

    def title(self) -> str:
        """Title and legend, top left (call after the edges: the legend sums up the rest)."""
        key = [
            f'<font color="{GRANT_COLOUR}">blue</font>: IAM grant, labelled with its actions',
            f'<font color="{STREAM_COLOUR}">orange</font>: stream records',
            f'<font color="{FAILURE_COLOUR}">dashed</font>: where failures go',
            f'<font color="{NETWORK_COLOUR}">dotted</font>: network and role links',
        ]
        lines = [" · ".join(key)]
        if self.not_drawn:
            summary = "; ".join(
                f"{service} on {', '.join(sorted(where))}"
                for service, where in sorted(self.not_drawn.items())
            )
            lines.append(f"grants not drawn: {html(summary)}")
        lines.append("drawn from the synthesized cloud assembly by docgen/diagram.py")
        legend = "".join(f'{line}<br align="left"/>' for line in lines)
        return (
            f'<b>dynamo-backend · stage {html(self.assembly.stage)}</b><br align="left"/>'
            f'<font point-size="9" color="{MUTED}">{legend}</font>'
        )


def _table(rows: Sequence[str], colour: str) -> str:
    return (
        f'<table border="1" cellborder="0" cellspacing="0" cellpadding="3" color="{colour}" '
        f'bgcolor="white">{"".join(rows)}</table>'
    )


def _header(title: str, kind: str | None, colour: str, port: str | None = None) -> str:
    port_attribute = f' port="{port}"' if port else ""
    kind_line = f'<br/><font point-size="8" color="white">{html(kind)}</font>' if kind else ""
    return (
        f'<tr><td{port_attribute} bgcolor="{colour}" align="center">'
        f'<font color="white"><b>{html(title)}</b></font>{kind_line}</td></tr>'
    )


def _row(content: str, port: str | None = None, colour: str | None = None) -> str:
    port_attribute = f' port="{port}"' if port else ""
    colour_attribute = f' bgcolor="{colour}"' if colour else ""
    return (
        f'<tr><td{port_attribute}{colour_attribute} align="left" balign="left">{content}</td></tr>'
    )


def _small(content: str) -> str:
    return f'<font point-size="8">{content}</font>'


def to_dot(assembly: Assembly) -> str:
    """The DOT source of `assembly`'s diagram."""
    return _Builder(assembly).build()


# --- rendering ---------------------------------------------------------------------------


def find_dot(explicit: str | None = None) -> str:
    """The `dot` binary: `explicit`, else $GRAPHVIZ_DOT, else `dot` on PATH."""
    candidate = explicit or os.environ.get(DOT_ENV) or "dot"
    found = shutil.which(candidate)
    if found is None:
        raise GraphvizMissing(
            f"Graphviz `dot` not found ({candidate!r}); install it with `make graphviz` "
            "(Debian package graphviz) or point $GRAPHVIZ_DOT at it"
        )
    return found


def render(
    dot_source: str, out_base: Path, *, dot: str, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Render `dot_source` to `out_base.<format>` for each format; all or nothing.

    Every file is rendered into a temporary directory first and moved into place only when
    all of them succeeded, so a failure leaves the previous files untouched.
    """
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="diagram-") as scratch:
        staged = []
        for fmt in formats:
            target = Path(scratch) / f"{out_base.name}.{fmt}"
            command = [dot, f"-T{fmt}", "-o", str(target)]
            if fmt == "png":
                command.insert(1, f"-Gdpi={PNG_DPI}")
            result = subprocess.run(
                command, input=dot_source, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                reason = "; ".join(line.strip() for line in result.stderr.splitlines() if line)
                raise RenderFailed(f"dot -T{fmt} failed ({result.returncode}): {reason}")
            staged.append(target)
        out_base.parent.mkdir(parents=True, exist_ok=True)
        for source in staged:
            destination = out_base.parent / source.name
            shutil.move(str(source), destination)
            written.append(destination)
    return written


def draw(assembly_dir: Path, stage: str, out_dir: Path, *, dot: str | None = None) -> list[Path]:
    """Read `stage` from the assembly, render `architecture-<stage>.{svg,png}` into `out_dir`."""
    assembly = read_assembly(assembly_dir, stage)
    binary = find_dot(dot)
    return render(to_dot(assembly), out_dir / f"architecture-{stage}", dot=binary)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: draw one stage; bad input prints one `error:` line and writes nothing."""
    parser = argparse.ArgumentParser(
        prog="python -m docgen.diagram",
        description="Draw a stage's synthesized stacks into docs/architecture-<stage>.svg/.png.",
    )
    parser.add_argument("--stage", required=True, help="stage to draw (local, prod)")
    parser.add_argument(
        "--assembly",
        type=Path,
        help="cloud assembly directory (default cdk.out/<stage>, where `make synth` writes)",
    )
    parser.add_argument("--out", type=Path, default=Path("docs"), help="output directory")
    parser.add_argument("--dot", help=f"the Graphviz dot binary (default ${DOT_ENV} or PATH)")
    parser.add_argument(
        "--print-dot", action="store_true", help="print the DOT source instead of rendering"
    )
    options = parser.parse_args(argv)
    options.assembly = options.assembly or Path("cdk.out") / options.stage
    try:
        if options.print_dot:
            sys.stdout.write(to_dot(read_assembly(options.assembly, options.stage)))
            return 0
        written = draw(options.assembly, options.stage, options.out, dot=options.dot)
    except AssemblyError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except GraphvizMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NO_GRAPHVIZ
    except RenderFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_RENDER_FAILED
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
