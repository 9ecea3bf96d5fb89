"""cdk-nag (AWS Solutions + Serverless packs) on both stages: zero unacknowledged findings."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from stacks.config import stage_config
from stacks.nag import apply_nag_checks
from tests.support.synth import SynthesizedStage, synthesize


def violations(assembly_dir: Path) -> list[str]:
    """Rule names of every violation in the cloud assembly's validation report."""
    report_file = assembly_dir / "validation-report.json"
    if not report_file.exists():
        return []
    report = json.loads(report_file.read_text())
    return [
        violation["ruleName"]
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
    ]


def nag_metadata(stage: SynthesizedStage) -> list[dict[str, str]]:
    """Every acknowledgment the packs wrote into the stage's templates."""
    return [
        rule
        for template in stage.templates().values()
        for resource in template.to_json()["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]


def test_stage_synthesizes_with_no_nag_findings(stage: SynthesizedStage) -> None:
    # Every stage runs the packs in synth (they wrote their acknowledgments into the
    # templates), so the fixture's synth would have raised on a finding; the report agrees.
    assert nag_metadata(stage)
    assert violations(stage.assembly_dir) == []


def test_synth_runs_the_packs_unless_the_stage_opts_out(
    local: SynthesizedStage, tmp_path: Path
) -> None:
    # As `cdk synth` builds them: the packs write their acknowledgments into the templates;
    # with `-c nag=false` they do not run, and the templates carry none.
    assert nag_metadata(local)
    skipped = synthesize(stage_config("local", {"nag": "false"}), tmp_path)
    assert nag_metadata(skipped) == []


def test_every_acknowledgment_gives_a_reason(stage: SynthesizedStage) -> None:
    acknowledged = [
        rule
        for rule in nag_metadata(stage)
        if rule["id"].startswith(("AwsSolutions-", "Serverless-"))
    ]
    assert acknowledged
    for rule in acknowledged:
        assert len(rule["reason"]) >= 40, rule


def test_prod_needs_no_pitr_acknowledgment(prod: SynthesizedStage) -> None:
    text = json.dumps(prod.data.to_json())
    assert "AwsSolutions-DDB3" not in text


def test_the_packs_do_catch_a_non_compliant_resource(tmp_path: Path) -> None:
    # Guards the guard: a plain queue (no SSL enforcement, no DLQ) must fail synth.
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "NagProbe")
    sqs.Queue(stack, "PlainQueue")
    apply_nag_checks(app)
    with pytest.raises(RuntimeError, match="Validation"):
        app.synth()
    found = violations(tmp_path)
    assert "AwsSolutions-SQS4" in found
    assert "Serverless-SQSRedrivePolicy" in found
