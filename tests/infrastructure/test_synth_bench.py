"""The synth benchmark's same-libraries floor: it synthesizes, under the packs, as the app does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench.synth import FLOOR_APP, cli_context, time_run


@pytest.mark.slow
def test_floor_app_synthesizes_one_table_and_one_function_under_the_packs(
    tmp_path: Path,
) -> None:
    # A pack that finds something new on the floor fails its synth, and so this test,
    # before it fails a benchmark run.
    time_run([sys.executable, "-c", FLOOR_APP], cli_context("local"), outdir=tmp_path)
    template = json.loads((tmp_path / "Floor.template.json").read_text())
    types = sorted(resource["Type"] for resource in template["Resources"].values())
    assert types == ["AWS::DynamoDB::Table", "AWS::IAM::Role", "AWS::Lambda::Function"]
    acknowledged = [
        rule["id"]
        for resource in template["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert acknowledged  # the packs ran: their acknowledgments are in the template
