"""Review layer: one CloudFormation snapshot per stack and stage (`make snapshot-update`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.support.synth import SynthesizedStage

# Asset hashes change with every edit of lambda_src/; the reviewer reads the rest.
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def masked(template: Mapping[str, Any]) -> Any:
    """The template with build-varying values (asset hashes) replaced by a marker."""
    return json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True)))


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", ["data", "functions"])
def test_template_matches_snapshot(
    stage: SynthesizedStage, stack: str, json_snapshot: SnapshotAssertion
) -> None:
    template = stage.data if stack == "data" else stage.functions
    assert masked(template.to_json()) == json_snapshot(name=f"{stage.config.name}-{stack}")


def test_masking_hides_only_asset_hashes(local: SynthesizedStage) -> None:
    template = local.functions.to_json()
    code = masked(template)
    keys = {
        resource["Properties"]["Code"]["S3Key"]
        for resource in code["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert keys == {"<asset-hash>.zip"}
    # Everything else survives: table names, handlers, the stream subscription.
    assert "user_manager.handler.lambda_handler" in json.dumps(code)
