"""Adding a function is its spec and its construct module: nothing else names it.

A fourth function (`tests/support/message_audit_function.py`) is declared in `FUNCTIONS`
and registered as `stacks.functions.message_audit`; both stages then synthesize it with a
name, the stage's default reservation, an output, dashboard rows and its stream alarm.
"""

from __future__ import annotations

import sys
import types
from dataclasses import replace
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

import app as app_module
from datamodel import functions as function_specs
from datamodel.functions import FUNCTIONS, FunctionSpec
from stacks import functions as function_constructs
from stacks.backend import build_backend
from stacks.config import stage_config
from stacks.functions_stack import MissingFunctionConstruct
from tests.infrastructure.cfn import function_by_name, render
from tests.infrastructure.test_monitoring import dashboard, graph
from tests.support import message_audit_function
from tests.support.message_audit_function import MESSAGE_AUDIT
from tests.support.synth import SynthesizedStage, cdk_json_context, synthesize

REPORTS = FunctionSpec("reports", "reports", "reports.handler.lambda_handler")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthesizedStage]:
    """Both stages synthesized with the fourth function declared (alarms on for local too)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(function_specs, "FUNCTIONS", (*FUNCTIONS, MESSAGE_AUDIT))
        patch.setitem(sys.modules, "stacks.functions.message_audit", message_audit_function)
        stages = {}
        for stage, overrides in (("local", {"alarms": "true"}), ("prod", {})):
            # No bundled dependencies: what is under test is the wiring, not the asset.
            config = replace(stage_config(stage, overrides), bundle_dependencies=False)
            outdir = Path(tmp_path_factory.mktemp(f"cdk-audit-{stage}"))
            stages[stage] = synthesize(config, outdir, nag=True)  # the packs pass it, too
        return stages


@pytest.fixture(params=["local", "prod"])
def audit(request: pytest.FixtureRequest, audited: dict[str, SynthesizedStage]) -> SynthesizedStage:
    return audited[request.param]


def test_the_stage_names_the_new_function_and_reserves_its_default(
    audit: SynthesizedStage,
) -> None:
    config = audit.config
    expected = {"local": "message-audit", "prod": "message-audit-prod"}[config.name]
    assert config.functions.message_audit == config.functions["message_audit"] == expected
    assert config.functions.all()[-1] == expected
    reserved = config.reserved_concurrency
    assert reserved.message_audit == reserved.default == {"local": 4, "prod": 50}[config.name]
    _, properties = function_by_name(audit.functions, expected)
    assert properties["Handler"] == MESSAGE_AUDIT.handler
    assert properties["ReservedConcurrentExecutions"] == reserved.default
    audit.functions.resource_count_is("AWS::Lambda::Function", len(FUNCTIONS) + 1)


def test_the_new_function_has_its_output(audit: SynthesizedStage) -> None:
    logical_id, _ = function_by_name(audit.functions, audit.config.functions.message_audit)
    outputs = audit.functions.find_outputs("MessageAuditFunctionName")
    assert [render(output["Value"]) for output in outputs.values()] == [f"${{{logical_id}}}"]
    assert len(audit.functions.find_outputs("*")) == len(FUNCTIONS) + 1


def test_the_dashboard_draws_the_new_function_and_its_stream(audit: SynthesizedStage) -> None:
    name = audit.config.functions.message_audit
    logical_id, _ = function_by_name(audit.functions, name)
    _, widgets = dashboard(audit)
    for suffix in ("invocations and errors", "duration", "throttles", "concurrent executions"):
        assert f"${{{logical_id}}}" in str(graph(widgets, f"{name}: {suffix}")["metrics"])
    graph(widgets, f"{name}: iterator age (age of the newest record of a batch)")
    graph(widgets, f"{name}: records given up on (on-failure queue)")
    # The three functions of the tutorials are drawn as before.
    for spec in FUNCTIONS:
        graph(widgets, f"{audit.config.functions[spec.key]}: duration")


def test_the_new_stream_consumer_has_its_iterator_age_alarm(audit: SynthesizedStage) -> None:
    names = audit.config.functions
    alarms = audit.functions.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "IteratorAge"}}
    )
    assert sorted(alarm["Properties"]["AlarmName"] for alarm in alarms.values()) == sorted(
        f"{name}-iterator-age" for name in (names.message_stream, names.message_audit)
    )


def test_a_function_without_a_construct_module_names_the_file_to_create(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(function_specs, "FUNCTIONS", (*FUNCTIONS, REPORTS))
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    with pytest.raises(MissingFunctionConstruct) as raised:
        build_backend(app, stage_config("local"), nag=False)
    assert str(raised.value) == (
        "function 'reports' (lambda_src/datamodel/functions.py) has no construct: "
        "create stacks/functions/reports.py and export its construct class as CONSTRUCT"
    )


def test_a_construct_module_without_construct_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(function_specs, "FUNCTIONS", (*FUNCTIONS, REPORTS))
    monkeypatch.setitem(sys.modules, "stacks.functions.reports", types.ModuleType("reports"))
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    with pytest.raises(MissingFunctionConstruct, match=r"stacks/functions/reports\.py must export"):
        build_backend(app, stage_config("local"), nag=False)


def test_an_import_error_inside_a_construct_module_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A real file found by the package's path, as `stacks/functions/reports.py` would be.
    (tmp_path / "reports.py").write_text("import no_such_package_anywhere\n")
    monkeypatch.setattr(
        function_constructs, "__path__", [*function_constructs.__path__, str(tmp_path)]
    )
    monkeypatch.setattr(function_specs, "FUNCTIONS", (*FUNCTIONS, REPORTS))
    monkeypatch.delitem(sys.modules, "stacks.functions.reports", raising=False)
    app = cdk.App(outdir=str(tmp_path / "out"), context=cdk_json_context())
    with pytest.raises(ModuleNotFoundError) as raised:
        build_backend(app, stage_config("local"), nag=False)
    assert raised.value.name == "no_such_package_anywhere"


def test_the_app_reports_a_missing_construct_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(function_specs, "FUNCTIONS", (*FUNCTIONS, REPORTS))

    def app_in(outdir: Path) -> Any:
        return cdk.App(outdir=str(outdir), context=cdk_json_context())

    # Only the app module's `cdk` is replaced: its App writes into tmp_path.
    monkeypatch.setattr(app_module, "cdk", types.SimpleNamespace(App=lambda: app_in(tmp_path)))
    with pytest.raises(SystemExit) as exited:
        app_module.main()
    assert str(exited.value.code).startswith(
        "error: invalid configuration: function 'reports' (lambda_src/datamodel/functions.py) "
        "has no construct: create stacks/functions/reports.py"
    )
    assert not list(tmp_path.glob("*.template.json"))
