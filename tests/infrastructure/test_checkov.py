"""checkov over both stages' templates: every failed check is fixed, or skipped with a reason."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from stacks.config import STAGES
from tests.support.checkov import Finding, ensure_installed, scan
from tests.support.synth import SynthesizedStage

SKIPS_FILE = Path(__file__).with_name("checkov.toml")


@dataclass(frozen=True)
class Skip:
    """A check skipped on purpose, in the stages named (all when none are)."""

    check_id: str
    reason: str
    stages: frozenset[str]


def load_skips(path: Path = SKIPS_FILE) -> dict[str, Skip]:
    """The skips of `checkov.toml` by check id."""
    table = tomllib.loads(path.read_text())
    return {
        check_id: Skip(
            check_id=check_id,
            reason=" ".join(str(entry.get("reason", "")).split()),
            stages=frozenset(entry.get("stages", STAGES)),
        )
        for check_id, entry in table.items()
    }


def skipped_in(stage: str, skips: dict[str, Skip]) -> set[str]:
    """The check ids skipped in `stage`."""
    return {check_id for check_id, skip in skips.items() if stage in skip.stages}


def unexplained(findings: tuple[Finding, ...], stage: str, skips: dict[str, Skip]) -> list[str]:
    """Every finding that no skip of `stage` accounts for, one line each."""
    skipped = skipped_in(stage, skips)
    return sorted(str(finding) for finding in findings if finding.check_id not in skipped)


def stale(findings: tuple[Finding, ...], stage: str, skips: dict[str, Skip]) -> set[str]:
    """The checks skipped in `stage` that none of `findings` fails any more."""
    return skipped_in(stage, skips) - {finding.check_id for finding in findings}


@pytest.fixture(scope="session")
def checkov() -> Path:
    """The pinned checkov command (its venv is made on first use)."""
    return ensure_installed()


@pytest.mark.slow  # a checkov run: several seconds
def test_every_failed_check_is_fixed_or_skipped(stage: SynthesizedStage, checkov: Path) -> None:
    templates = sorted(stage.assembly_dir.glob("*.template.json"))
    assert len(templates) == 2
    result = scan(templates, checkov=checkov)
    # checkov read every resource of both templates and ran its checks on them.
    assert result.parsing_errors == 0
    resources = sum(len(json.loads(t.read_text())["Resources"]) for t in templates)
    assert result.resource_count == resources
    assert result.passed > 0
    skips = load_skips()
    assert unexplained(result.failed, stage.config.name, skips) == []
    assert stale(result.failed, stage.config.name, skips) == set(), "drop these from checkov.toml"


def test_every_skip_names_a_check_its_stages_and_a_reason() -> None:
    skips = load_skips()
    assert skips
    for check_id, skip in skips.items():
        assert re.fullmatch(r"CKV_AWS_\d+", check_id), check_id
        assert skip.stages and skip.stages <= set(STAGES), check_id
        assert len(skip.reason) >= 60, check_id


@pytest.mark.slow  # a checkov run: several seconds
def test_checkov_does_report_a_function_without_reserved_concurrency(
    tmp_path: Path, checkov: Path
) -> None:
    # Guards the guard: a function with no reservation fails CKV_AWS_115, and since that is
    # fixed (not skipped), the check above reports it in every stage.
    template = tmp_path / "bare.template.json"
    template.write_text(
        json.dumps(
            {
                "Resources": {
                    "Bare": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Handler": "index.handler",
                            "Runtime": "python3.14",
                            "Role": "arn:aws:iam::123456789012:role/bare",
                            "Code": {"ZipFile": "def handler(event, context): return event"},
                        },
                    }
                }
            }
        )
    )
    result = scan([template], checkov=checkov)
    assert "CKV_AWS_115" in {finding.check_id for finding in result.failed}
    for stage in STAGES:
        reported = unexplained(result.failed, stage, load_skips())
        assert any(
            line.startswith("CKV_AWS_115 on AWS::Lambda::Function.Bare") for line in reported
        )


def test_a_skip_applies_only_in_its_stages_and_goes_stale_without_its_finding() -> None:
    skips = {"CKV_AWS_28": Skip("CKV_AWS_28", "local data is disposable", frozenset({"local"}))}
    pitr = Finding("CKV_AWS_28", "PITR", "AWS::DynamoDB::Table.Users", "data.template.json")
    assert unexplained((pitr,), "local", skips) == []
    assert unexplained((pitr,), "prod", skips) == [str(pitr)]
    assert stale((pitr,), "local", skips) == set()
    assert stale((), "local", skips) == {"CKV_AWS_28"}
