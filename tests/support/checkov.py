"""checkov, pinned, run from its own git-ignored venv over CloudFormation templates.

checkov pins `boto3` exactly (3.3.30: `boto3==1.35.49`), which our own pins cannot meet, so
it gets a venv of its own, `.cache/checkov-venv/`, made with the interpreter that runs the
tests. `ensure_installed()` creates it (under a file lock, so pytest-xdist workers do not
race) and `scan()` runs it offline (`--skip-download`: no call to its vendor's API) and
returns what it found. Every failure raises `CheckovError` with the reason: a test that needs
checkov fails loudly when it cannot have it, never skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.tool_venv import ToolVenvError, ensure_venv, run

VERSION = "3.3.30"
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_DIR = REPO_ROOT / ".cache" / "checkov-venv"
INSTALL_TIMEOUT_S = 600.0
SCAN_TIMEOUT_S = 300.0
# Everything else (BC_API_KEY, PRISMA_*, LOG_LEVEL, CKV_*) stays out, so the host's settings
# can neither change the checks nor send anything anywhere.
_KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")


class CheckovError(RuntimeError):
    """checkov could not be installed or run, or said something we cannot read."""


@dataclass(frozen=True)
class Finding:
    """One failed check on one resource."""

    check_id: str
    check_name: str
    resource: str  # `AWS::Lambda::Function.<logical id>`
    file: str  # the template's file name

    def __str__(self) -> str:
        return f"{self.check_id} on {self.resource} ({self.file}): {self.check_name}"


@dataclass(frozen=True)
class Scan:
    """What one checkov run over some templates found."""

    failed: tuple[Finding, ...]
    passed: int
    resource_count: int
    parsing_errors: int


def _run(
    command: list[str], what: str, timeout_s: float, *, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`tool_venv.run` in the scrubbed environment, failing with `CheckovError`."""
    env = {key: os.environ[key] for key in _KEPT_ENV if key in os.environ}
    try:
        return run(command, what, timeout_s, cwd=cwd, env=env)
    except ToolVenvError as error:
        raise CheckovError(str(error)) from error


def ensure_installed(venv_dir: Path = VENV_DIR) -> Path:
    """Create the venv with the pin in `venv_dir` if needed; return its `checkov` command."""
    try:
        ensure_venv(venv_dir, {"checkov": VERSION}, INSTALL_TIMEOUT_S)
    except ToolVenvError as error:
        raise CheckovError(str(error)) from error
    return venv_dir / "bin" / "checkov"


def _findings(report: dict[str, Any]) -> Scan:
    results, summary = report["results"], report["summary"]
    failed = tuple(
        Finding(
            check_id=check["check_id"],
            check_name=check["check_name"],
            resource=check["resource"],
            file=Path(check["file_path"]).name,
        )
        for check in results.get("failed_checks", [])
    )
    return Scan(
        failed=failed,
        passed=int(summary["passed"]),
        resource_count=int(summary["resource_count"]),
        parsing_errors=int(summary["parsing_errors"]),
    )


def scan(templates: Sequence[Path], *, checkov: Path | None = None) -> Scan:
    """Run every CloudFormation check of checkov over `templates`; nothing is skipped here."""
    if not templates:
        raise CheckovError("no templates to scan")
    command = [
        str(checkov or ensure_installed()),
        *("--framework", "cloudformation", "--output", "json", "--compact"),
        *("--skip-download", "--soft-fail"),  # exit 0 with findings; we read the report
    ]
    for template in templates:
        command += ["--file", str(Path(template).resolve())]
    # Run from an empty directory, so nothing checkov leaves behind lands in the repo.
    with tempfile.TemporaryDirectory(prefix="checkov-") as work_dir:
        result = _run(
            command, f"checkov over {len(templates)} template(s)", SCAN_TIMEOUT_S, cwd=work_dir
        )
    try:
        report = json.loads(result.stdout)
    except ValueError as error:
        raise CheckovError(f"checkov printed no JSON report: {result.stdout[:500]!r}") from error
    # One framework gives one report; checkov gives a list only for several.
    reports = report if isinstance(report, list) else [report]
    scans = [_findings(item) for item in reports if item.get("check_type") == "cloudformation"]
    if len(scans) != 1:
        raise CheckovError(f"expected one cloudformation report, got {len(scans)}")
    return scans[0]
