"""A pinned tool in a git-ignored venv of its own, for tools whose pins clash with ours.

`ensure_venv()` creates the venv with the interpreter that runs the tests and installs the
exact pins, under a file lock beside the venv (so pytest-xdist workers do not race), and
does nothing when the venv already holds this interpreter's minor version and every pin.
Every failure raises `ToolVenvError` with the reason.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path


class ToolVenvError(RuntimeError):
    """The venv could not be created or its pins installed."""


def venv_python(venv_dir: Path) -> Path:
    """The venv's interpreter."""
    return venv_dir / "bin" / "python"


def is_installed(venv_dir: Path, pins: Mapping[str, str]) -> bool:
    """Whether the venv is this interpreter's minor version with exactly `pins` installed."""
    python = venv_python(venv_dir)
    if not python.exists():
        return False
    script = (
        "import sys, importlib.metadata as m; "
        f"print('%d.%d' % sys.version_info[:2], *[m.version(n) for n in {list(pins)!r}])"
    )
    try:
        result = subprocess.run(
            [str(python), "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    wanted = " ".join([f"{sys.version_info[0]}.{sys.version_info[1]}", *pins.values()])
    return result.returncode == 0 and result.stdout.strip() == wanted


def run(
    command: list[str],
    what: str,
    timeout_s: float,
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command` (described as `what`) to completion; `ToolVenvError` unless it exits 0."""
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=max(1.0, timeout_s),
            check=False,
            cwd=cwd,
            env=None if env is None else dict(env),
        )
    except subprocess.TimeoutExpired as error:
        raise ToolVenvError(f"{what} timed out after {timeout_s:.0f} s") from error
    except OSError as error:
        raise ToolVenvError(f"{what} could not run: {error}") from error
    if result.returncode != 0:
        raise ToolVenvError(
            f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}"
        )
    return result


def ensure_venv(venv_dir: Path, pins: Mapping[str, str], timeout_s: float) -> Path:
    """Create `venv_dir` with `pins` (package: exact version) if needed; return its python."""
    venv_dir.parent.mkdir(parents=True, exist_ok=True)
    requirements = [f"{name}=={version}" for name, version in pins.items()]
    # The lock sits beside the venv: `venv --clear` would delete one inside it.
    with open(venv_dir.with_name(venv_dir.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_installed(venv_dir, pins):
            return venv_python(venv_dir)
        deadline = time.monotonic() + timeout_s
        run(
            [sys.executable, "-m", "venv", "--clear", str(venv_dir)],
            f"`python -m venv {venv_dir}`",
            deadline - time.monotonic(),
        )
        pip = [str(venv_python(venv_dir)), "-m", "pip", "install"]
        run(
            [*pip, "--disable-pip-version-check", "--no-input", "--quiet", *requirements],
            f"`pip install {' '.join(requirements)}` into {venv_dir}",
            deadline - time.monotonic(),
        )
        if not is_installed(venv_dir, pins):
            raise ToolVenvError(f"{venv_dir} still lacks {' '.join(requirements)} after pip")
    return venv_python(venv_dir)
