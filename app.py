#!/usr/bin/env python3
"""The CDK app: `cdk synth -c stage=local|prod` (default `local`).

The only place that reads CDK context. Settings beyond `stage` (see
`stacks.config.stage_config`) may be given as `-c key=value`, e.g. `-c dax=false`.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk

from datamodel.tables import ConfigError
from stacks.backend import build_backend
from stacks.config import stage_config


def user_context(app: cdk.App) -> dict[str, object]:
    """Context keys set by people (not CDK's own `aws:`/`@aws-cdk/` keys), minus `stage`."""
    return {
        key: value
        for key, value in app.node.get_all_context().items()
        if ":" not in key and not key.startswith("@") and key != "stage"
    }


def main() -> None:
    """Synthesize the chosen stage; a bad configuration (or a declared function with no
    construct module) exits with one clear line."""
    app = cdk.App()
    stage = str(app.node.try_get_context("stage") or "local")
    try:
        build_backend(app, stage_config(stage, user_context(app)))
    except ConfigError as error:
        sys.exit(f"error: invalid configuration: {error}")
    app.synth()


if __name__ == "__main__":
    main()
