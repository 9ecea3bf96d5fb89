"""cfn-lint over every synthesized template."""

from __future__ import annotations

import json
from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

from tests.support.synth import SynthesizedStage

# W3005: CDK makes each function DependsOn its role *and* the role's policy, so the policy
# exists before the first invoke; cfn-lint flags the role half as redundant. CDK's choice.
IGNORED = ["W3005"]


def test_templates_pass_cfn_lint(stage: SynthesizedStage) -> None:
    templates = sorted(stage.assembly_dir.glob("*.template.json"))
    assert len(templates) == 2
    for template in templates:
        matches = lint_file(
            template, ManualArgs(ignore_checks=IGNORED, regions=[stage.config.region])
        )
        assert [str(match) for match in matches] == [], template.name


def test_cfn_lint_does_report_a_broken_template(tmp_path: Path) -> None:
    # Guards the guard: a table whose key has no attribute definition is an error.
    broken = tmp_path / "broken.template.json"
    broken.write_text(
        json.dumps(
            {
                "Resources": {
                    "Table": {
                        "Type": "AWS::DynamoDB::Table",
                        "Properties": {
                            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                            "BillingMode": "PAY_PER_REQUEST",
                        },
                    }
                }
            }
        )
    )
    matches = lint_file(broken, ManualArgs(ignore_checks=IGNORED, regions=["us-east-1"]))
    assert any(match.rule.id.startswith("E") for match in matches)
