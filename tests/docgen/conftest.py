"""Shared by the docgen tests: synthesized stages, cached per session, and a config with a GSI
the generators have never seen."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from datamodel.tables import AttributeType, Capacity, IndexSpec, Projection, TableSpec
from stacks.config import StageConfig, stage_config
from tests.support.synth import SynthesizedStage, synthesize

ADDED_INDEX = "handle-created-index"

_SYNTHESIZED: dict[str, SynthesizedStage] = {}


def synthesized(
    factory: pytest.TempPathFactory, key: str, config: StageConfig | None = None
) -> SynthesizedStage:
    """Synthesize `key` (a stage name, or a name for `config`) once per session, as `cdk synth`
    would. Synthesis takes seconds, so every docgen test module shares this cache."""
    if key not in _SYNTHESIZED:
        outdir = Path(factory.mktemp(f"docgen-{key}"))
        _SYNTHESIZED[key] = synthesize(config or stage_config(key), outdir)
    return _SYNTHESIZED[key]


def with_table(config: StageConfig, table: TableSpec) -> StageConfig:
    """`config` with the table of the same logical key replaced by `table`."""
    tables = tuple(table if spec.key == table.key else spec for spec in config.tables)
    return replace(config, tables=tables)


def with_added_gsi(config: StageConfig) -> StageConfig:
    """`config` plus a GSI on Users (`handle`, `createdAt`, INCLUDE `name`), config only."""
    users = config.table("users")
    index = IndexSpec(
        ADDED_INDEX,
        "handle",
        "createdAt",
        projection=Projection.INCLUDE,
        non_key_attributes=("name",),
        capacity=Capacity(read=2, write=1),
    )
    changed = replace(
        users,
        attributes=(
            *users.attributes,
            ("handle", AttributeType.STRING),
            ("createdAt", AttributeType.STRING),
        ),
        global_indexes=(*users.global_indexes, index),
    )
    result = with_table(config, changed)
    result.validate()
    return result


def synthesized_with_added_gsi(factory: pytest.TempPathFactory) -> SynthesizedStage:
    """The local stage plus `ADDED_INDEX`, synthesized once per session."""
    return synthesized(factory, "local-added-gsi", with_added_gsi(stage_config("local")))
