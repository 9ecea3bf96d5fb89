"""Session-scoped synthesis of both stages: every infrastructure test reads these templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.config import stage_config
from tests.support.synth import SynthesizedStage, synthesize


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedStage:
    """The default `local` stage."""
    return synthesize(stage_config("local"), Path(tmp_path_factory.mktemp("cdk-local")))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedStage:
    """The `prod` stage (DAX, alarms, PITR, retention)."""
    return synthesize(stage_config("prod"), Path(tmp_path_factory.mktemp("cdk-prod")))


@pytest.fixture(scope="session", params=["local", "prod"])
def stage(request: pytest.FixtureRequest) -> SynthesizedStage:
    """Each stage in turn."""
    synthesized: SynthesizedStage = request.getfixturevalue(request.param)
    return synthesized
