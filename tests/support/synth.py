"""Synthesize the app the way `cdk synth` does, for the infrastructure and docgen tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from stacks.backend import Backend, build_backend
from stacks.config import StageConfig

REPO = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    """The feature flags in cdk.json: without them a test App would synthesize other templates."""
    context: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]
    return context


@dataclass
class SynthesizedStage:
    """One stage's stacks and their templates."""

    config: StageConfig
    backend: Backend
    data: Template
    functions: Template
    assembly_dir: Path

    def templates(self) -> dict[str, Template]:
        """Templates by stack name."""
        return {
            self.backend.data.stack_name: self.data,
            self.backend.functions.stack_name: self.functions,
        }


def synthesize(config: StageConfig, outdir: Path, *, nag: bool | None = None) -> SynthesizedStage:
    """Build and synthesize `config` into `outdir` as `cdk synth` does.

    `nag` forces the cdk-nag packs on or off (default: as the stage runs them in synth);
    with them on, a finding raises.
    """
    app = cdk.App(outdir=str(outdir), context=cdk_json_context(), analytics_reporting=False)
    backend = build_backend(app, config, nag=nag)
    app.synth()
    return SynthesizedStage(
        config=config,
        backend=backend,
        data=Template.from_stack(backend.data),
        functions=Template.from_stack(backend.functions),
        assembly_dir=outdir,
    )
