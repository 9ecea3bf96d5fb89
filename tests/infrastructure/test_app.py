"""The app entry point as people run it: `python app.py` and the pinned `cdk synth`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import aws_cdk as cdk
import pytest

from datamodel.tables import ConfigError, IndexSpec
from stacks.backend import build_backend
from stacks.config import stage_config
from tests.support.synth import REPO, cdk_json_context


def run_app(context: dict[str, object], outdir: Path) -> subprocess.CompletedProcess[str]:
    """Run app.py the way the CDK CLI does (context through CDK_CONTEXT_JSON)."""
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(outdir)}
    return subprocess.run(
        [sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"stage": "staging"}, "unknown stage 'staging'"),
        ({"stage": "prod", "daxx": "true"}, "unknown setting(s) ['daxx']"),
    ],
)
def test_invalid_config_fails_synth_with_one_clear_line(
    tmp_path: Path, context: dict[str, object], message: str
) -> None:
    result = run_app(context, tmp_path)
    assert result.returncode != 0
    assert f"error: invalid configuration: {message}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.template.json"))


def test_gsi_on_undeclared_attribute_fails_before_any_template(tmp_path: Path) -> None:
    config = stage_config()
    users = config.table("users")
    broken_users = replace(
        users, global_indexes=(*users.global_indexes, IndexSpec("AgeIndex", "age"))
    )
    broken = replace(
        config, tables=tuple(broken_users if t.key == "users" else t for t in config.tables)
    )
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    with pytest.raises(ConfigError, match="'age' is not a declared attribute"):
        build_backend(app, broken)


@pytest.mark.slow
def test_pinned_cli_synthesizes_prod_without_credentials(tmp_path: Path) -> None:
    cli = REPO / "node_modules" / ".bin" / "cdk"
    if not cli.exists():
        pytest.fail("the pinned CDK CLI is missing: run `make install`")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "CDK_DEFAULT_ACCOUNT"
    }
    home = tmp_path / "home"  # no ~/.aws, no cached account
    home.mkdir()
    env.update(HOME=str(home), CDK_HOME=str(tmp_path / "cdk-home"), CI="true")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [str(cli), "synth", "-c", "stage=prod", "--quiet", "--output", str(outdir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    templates = sorted(p.name for p in outdir.glob("*.template.json"))
    assert templates == [
        "dynamo-backend-prod-data.template.json",
        "dynamo-backend-prod-functions.template.json",
    ]
    data = json.loads((outdir / templates[0]).read_text())
    assert any(r["Type"] == "AWS::DAX::Cluster" for r in data["Resources"].values())


def make_synth(stage: str, root: Path, context: str = "", *, ok: bool = True) -> str:
    """`make synth STAGE=stage CONTEXT=context` into `root` (without re-checking the
    install); its stdout (and stderr when it must fail)."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", "install", "synth"]
        + [f"STAGE={stage}", f"SYNTH_ROOT={root}", f"CONTEXT={context}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if not ok:
        assert result.returncode != 0, result.stdout[-2000:]
        return result.stdout + result.stderr
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_make_synth_takes_stage_settings_from_context(tmp_path: Path) -> None:
    root = tmp_path / "cdk.out"
    make_synth("prod", root, "billing=autoscaled contributor_insights=true dax=false")
    data = json.loads((root / "prod" / "dynamo-backend-prod-data.template.json").read_text())
    types = [resource["Type"] for resource in data["Resources"].values()]
    assert "AWS::ApplicationAutoScaling::ScalableTarget" in types
    assert "AWS::DAX::Cluster" not in types
    output = make_synth("prod", tmp_path / "bad", "billing=reserved", ok=False)
    assert "error: invalid configuration: billing must be one of" in output


@pytest.mark.slow
def test_make_synth_shows_and_keeps_only_that_stages_templates(tmp_path: Path) -> None:
    root = tmp_path / "cdk.out"
    make_synth("local", root)
    # A template an older synth of prod left behind (a stack since renamed) goes too.
    (root / "prod").mkdir(parents=True)
    (root / "prod" / "dynamo-backend-prod-old.template.json").write_text("{}")
    output = make_synth("prod", root)

    def templates(stage: str) -> list[str]:
        return sorted(path.name for path in (root / stage).glob("*.template.json"))

    prod = ["dynamo-backend-prod-data.template.json", "dynamo-backend-prod-functions.template.json"]
    assert templates("prod") == prod
    assert templates("local") == [name.replace("-prod-", "-local-") for name in prod]
    assert not list(root.glob("*.template.json"))
    (summary,) = [line for line in output.splitlines() if line.startswith("==>")]
    assert summary == f"==> {root}/prod/ holds the prod templates: {' '.join(prod)}"
