"""The architecture diagram: drawn from the assembly, complete, truthful, rendered, and
refusing bad input with a clear message and exit code."""

from __future__ import annotations

import html
import os
import re
import stat
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from docgen.assembly import Assembly, TargetKind, read_assembly
from docgen.diagram import (
    DOT_ENV,
    EXIT_BAD_INPUT,
    EXIT_NO_GRAPHVIZ,
    EXIT_RENDER_FAILED,
    abbreviate_actions,
    duration,
    find_dot,
    main,
    node_id,
    to_dot,
)
from tests.docgen.conftest import ADDED_INDEX, synthesized, synthesized_with_added_gsi
from tests.docgen.test_assembly import resources
from tests.support.synth import SynthesizedStage

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


# --- action lists: short, and exactly the actions granted ------------------------------


def expand(lines: list[str]) -> set[str]:
    """Undo `abbreviate_actions`: `dynamodb: Get/PutItem, Query` -> the three actions."""
    actions: set[str] = set()
    service = ""
    for line in lines:
        head = re.match(r"^([a-z0-9-]+): (.*)$", line)
        if head:
            service, line = head.groups()
        for word in (w.strip() for w in line.split(",")):
            if not word:
                continue
            if "/" not in word:
                actions.add(f"{service}:{word}")
                continue
            parts = word.split("/")
            prefix = next((p for p in ("Batch", "Transact") if parts[0].startswith(p)), "")
            suffix = "Items" if parts[-1].endswith("Items") else "Item"
            verbs = [parts[0].removeprefix(prefix), *parts[1:-1], parts[-1].removesuffix(suffix)]
            actions.update(f"{service}:{prefix}{verb}{suffix}" for verb in verbs)
    return actions


@pytest.mark.parametrize(
    "actions",
    [
        pytest.param(
            [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:BatchGetItem",
                "dynamodb:BatchWriteItem",
            ],
            id="user-manager",
        ),
        pytest.param(
            [
                "dynamodb:BatchGetItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DescribeTable",
                "dynamodb:GetRecords",
                "dynamodb:TransactGetItems",
                "dynamodb:TransactWriteItems",
                "dax:GetItem",
                "dax:Scan",
                "xray:PutTraceSegments",
            ],
            id="mixed-services",
        ),
        pytest.param(["dynamodb:Query"], id="one"),
        pytest.param(["dynamodb:*"], id="wildcard"),
    ],
)
def test_abbreviated_actions_expand_back_to_exactly_the_granted_ones(actions: list[str]) -> None:
    lines = abbreviate_actions(actions)
    assert expand(lines) == set(actions)
    assert all(len(line) <= 45 for line in lines), lines


def test_abbreviation_groups_item_verbs() -> None:
    assert abbreviate_actions(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"]) == [
        "dynamodb: Get/PutItem, Query"
    ]


@pytest.mark.parametrize(
    ("seconds", "text"), [(3600, "1 h"), (1_209_600, "14 d"), (90, "90 s"), (120, "2 min")]
)
def test_durations_read_naturally(seconds: int, text: str) -> None:
    assert duration(seconds) == text


# --- the DOT source: everything in the templates, nothing made up ----------------------


@pytest.fixture(scope="module", params=["local", "prod"])
def stage(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Each stage, synthesized once (shared with test_assembly)."""
    return synthesized(tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def model(stage: SynthesizedStage) -> Assembly:
    return read_assembly(stage.assembly_dir, stage.config.name)


@pytest.fixture(scope="module")
def dot(model: Assembly) -> str:
    return to_dot(model)


def label_text(dot: str) -> str:
    """All label text of the DOT source, tags stripped, one line per `<br/>`."""
    text = re.sub(r"<br[^>]*>", "\n", dot)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


@dataclass(frozen=True)
class ParsedEdge:
    source: str  # where the arrow starts (dir=back undone)
    target: str
    target_port: str
    lines: tuple[str, ...]


def parse_edges(dot: str) -> list[ParsedEdge]:
    edges = []
    pattern = re.compile(r'^\s*("[^"]+")(?::(\w+))? -> ("[^"]+")(?::(\w+))? \[(.*)\];$')
    for line in dot.splitlines():
        found = pattern.match(line)
        if not found or "style=invis" in line:
            continue
        tail, tail_port, head, head_port, attributes = found.groups()
        label = re.search(r"label=<(.*?)>(?:, |$)", attributes)
        lines = (
            tuple(html.unescape(part) for part in label.group(1).split("<br/>")) if label else ()
        )
        if "dir=back" in attributes:
            edges.append(ParsedEdge(head, tail, tail_port or "", lines))
        else:
            edges.append(ParsedEdge(tail, head, head_port or "", lines))
    return edges


def test_every_table_index_and_function_of_the_templates_is_drawn(
    stage: SynthesizedStage, dot: str
) -> None:
    text = label_text(dot)
    tables = resources(stage, "AWS::DynamoDB::Table")
    functions = resources(stage, "AWS::Lambda::Function")
    assert tables and functions
    for table in tables:
        assert table["TableName"] in text
        for index in table.get("GlobalSecondaryIndexes", []):
            assert f"GSI {index['IndexName']}" in text
        for index in table.get("LocalSecondaryIndexes", []):
            assert f"LSI {index['IndexName']}" in text
        if "StreamSpecification" in table:
            assert f"stream {table['StreamSpecification']['StreamViewType']}" in text
        if "TimeToLiveSpecification" in table:
            assert f"TTL {table['TimeToLiveSpecification']['AttributeName']}" in text
    for function in functions:
        assert function["FunctionName"] in text
        assert f"{function['Runtime']} · {function['Architectures'][0]}" in text


def test_each_stack_is_a_cluster(stage: SynthesizedStage, dot: str) -> None:
    clusters = re.findall(r"subgraph (cluster_stack_\d+) \{\n\s+label=<<b>([^<]+)</b>", dot)
    assert sorted(name for _, name in clusters) == sorted(stage.templates())


def test_event_source_mappings_are_drawn_with_their_settings_and_failure_queue(
    stage: SynthesizedStage, model: Assembly, dot: str
) -> None:
    text = label_text(dot)
    for mapping in resources(stage, "AWS::Lambda::EventSourceMapping"):
        assert f"batch size {mapping['BatchSize']}" in text
        assert f"{mapping['MaximumRetryAttempts']} retries" in text
        assert ("bisect batch on error" in text) == mapping["BisectBatchOnFunctionError"]
    arrows = {(edge.source, edge.target) for edge in parse_edges(dot)}
    for drawn in model.event_source_mappings:
        assert drawn.source_table and drawn.function and drawn.on_failure
        assert (node_id(drawn.source_table), node_id(drawn.id)) in arrows
        assert (node_id(drawn.id), node_id(drawn.function)) in arrows
        assert (node_id(drawn.id), node_id(drawn.on_failure)) in arrows


def test_grant_edges_carry_exactly_each_role_s_data_actions(model: Assembly, dot: str) -> None:
    edges = parse_edges(dot)
    mapped = {(m.function, m.source_table) for m in model.event_source_mappings}
    for function in model.functions:
        expected: dict[str, set[str]] = {}
        for grant in model.grants_of(function.role):
            if grant.target.kind not in (
                TargetKind.TABLE,
                TargetKind.INDEX,
                TargetKind.STREAM,
                TargetKind.DAX_CLUSTER,
            ):
                continue
            if grant.target.kind is TargetKind.STREAM and (function.id, grant.target.resource) in (
                mapped
            ):
                continue  # drawn on the event source mapping's edge
            assert grant.target.resource is not None
            expected.setdefault(node_id(grant.target.resource), set()).update(grant.actions)
        drawn: dict[str, set[str]] = {}
        for edge in edges:
            if edge.source == node_id(function.id) and edge.target in expected:
                action_lines = [line for line in edge.lines if not line.startswith("on ")]
                drawn.setdefault(edge.target, set()).update(expand(action_lines))
        assert drawn == expected, function.name


def test_an_index_grant_points_at_the_index_row(model: Assembly, dot: str) -> None:
    index_grants = [
        g for g in model.grants if g.target.kind is TargetKind.INDEX and g.target.index != "*"
    ]
    assert index_grants
    for grant in index_grants:
        table = model.table(grant.target.resource)  # type: ignore[arg-type]
        port = re.search(
            rf'<td port="(\w+)"[^>]*><b>GSI</b> {re.escape(grant.target.index or "")}<', dot
        )
        assert port, grant.target.index
        heads = {(e.target, e.target_port) for e in parse_edges(dot)}
        assert (node_id(table.id), port.group(1)) in heads


def test_dax_is_drawn_with_its_vpc_subnets_security_groups_and_role_when_enabled(
    stage: SynthesizedStage, model: Assembly, dot: str
) -> None:
    text = label_text(dot)
    dax = stage.config.dax
    if not dax.enabled:
        assert "DAX cluster" not in text and "cluster_vpc" not in dot
        return
    assert f"{dax.cluster_name}\nDAX cluster" in text
    assert dax.vpc_cidr in text
    for subnet in resources(stage, "AWS::EC2::Subnet"):
        assert subnet["CidrBlock"] in text
    assert re.search(rf"in: tcp {dax.port} from \w+", text)
    (cluster,) = model.dax_clusters
    assert cluster.role is not None
    edges = parse_edges(dot)
    assert any(e.source == node_id(cluster.id) and e.target == node_id(cluster.role) for e in edges)
    cached = {model.table_named(stage.config.table(key).table_name).id for key in dax.cached_tables}
    reached = {e.target for e in edges if e.source == node_id(cluster.role)}
    assert reached == {node_id(table) for table in cached}


def test_an_added_gsi_appears_without_touching_the_generator(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stage = synthesized_with_added_gsi(tmp_path_factory)
    users = stage.config.table("users")
    model = read_assembly(stage.assembly_dir, "local")
    index = model.table_named(users.table_name).index(ADDED_INDEX)
    assert (index.partition_key.name, index.partition_key.type) == ("handle", "S")
    assert index.sort_key is not None and index.sort_key.name == "createdAt"
    assert (index.projection, index.non_key_attributes) == ("INCLUDE", ("name",))
    text = label_text(to_dot(model))
    assert f"GSI {ADDED_INDEX}" in text
    assert "PK handle (S) · SK createdAt (S) · INCLUDE (name)" in text


# --- rendering ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(stage: SynthesizedStage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stage drawn through the command line into a fresh docs directory."""
    find_dot()  # fails with the install hint if Graphviz is missing (`make test` installs it)
    out = tmp_path_factory.mktemp("docs")
    args = ["--stage", stage.config.name, "--assembly", str(stage.assembly_dir), "--out", str(out)]
    assert main(args) == 0
    return out


def svg_texts(path: Path) -> list[str]:
    root = ElementTree.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return sorted((element.text or "").strip() for element in root.iter(f"{SVG}text"))


def test_rendering_writes_a_valid_svg_and_png_naming_every_table_and_function(
    stage: SynthesizedStage, model: Assembly, rendered: Path
) -> None:
    name = stage.config.name
    png = (rendered / f"architecture-{name}.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    texts = set(svg_texts(rendered / f"architecture-{name}.svg"))
    for table in model.tables:
        assert table.name in texts
        for index in table.indexes:
            assert index.name in texts
    for function in model.functions:
        assert function.name in texts


def test_the_committed_diagrams_show_what_the_app_synthesizes_now(
    stage: SynthesizedStage, rendered: Path
) -> None:
    name = f"architecture-{stage.config.name}"
    committed = REPO / "docs" / f"{name}.svg"
    assert (REPO / "docs" / f"{name}.png").read_bytes().startswith(PNG_MAGIC)
    assert svg_texts(committed) == svg_texts(rendered / f"{name}.svg"), (
        f"docs/{name}.svg is stale: run `make diagram STAGE={stage.config.name}`"
    )


# --- bad input: one clear line, an exit code, nothing written --------------------------


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def test_no_assembly_is_a_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "docs"
    args = ["--stage", "local", "--assembly", str(tmp_path / "none"), "--out", str(out)]
    code, err = run_main(args, capsys)
    assert code == EXIT_BAD_INPUT
    assert err.startswith("error: no cloud assembly in") and err.count("\n") == 1
    assert not out.exists()


def test_a_stage_not_in_the_assembly_is_a_bad_input(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    local = synthesized(tmp_path_factory, "local")
    out = tmp_path / "docs"
    args = ["--stage", "prod", "--assembly", str(local.assembly_dir), "--out", str(out)]
    code, err = run_main(args, capsys)
    assert code == EXIT_BAD_INPUT
    assert "holds no stack of stage 'prod' (stages found: local)" in err
    assert not out.exists()


def test_a_missing_dot_says_how_to_install_it(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local = synthesized(tmp_path_factory, "local")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv(DOT_ENV, raising=False)
    out = tmp_path / "docs"
    code, err = run_main(
        ["--stage", "local", "--assembly", str(local.assembly_dir), "--out", str(out)], capsys
    )
    assert code == EXIT_NO_GRAPHVIZ
    assert "Graphviz `dot` not found" in err and "make graphviz" in err
    assert not out.exists()


def test_a_failing_dot_leaves_the_previous_diagrams_untouched(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    local = synthesized(tmp_path_factory, "local")
    broken = tmp_path / "dot"
    broken.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "docs"
    out.mkdir()
    previous = out / "architecture-local.svg"
    previous.write_text("<svg>previous</svg>")
    args = ["--stage", "local", "--assembly", str(local.assembly_dir), "--out", str(out)]
    code, err = run_main([*args, "--dot", str(broken)], capsys)
    assert code == EXIT_RENDER_FAILED
    assert "dot -Tsvg failed (1): syntax error in line 1" in err
    assert previous.read_text() == "<svg>previous</svg>"
    assert sorted(p.name for p in out.iterdir()) == ["architecture-local.svg"]


def test_the_module_entry_point_exits_with_the_code(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "docgen.diagram", "--stage", "local", "--assembly", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stderr.startswith("error: no cloud assembly in")
