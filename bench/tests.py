"""Test time: `make test-fast` and the whole suite as `make test` runs it, wall clock.

Each runs pytest exactly as its make target does (`TEST_FAST_ARGS` / `TEST_ARGS` in the
Makefile, read from `make -n`), from this checkout, with the machine's load recorded.
Targets (issue 16): the fast selection under 60 s, the whole suite under 6 min (the
`make test` figure also includes lint, not timed here). Results: `bench/results/tests.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import time
from typing import Any

from bench._cloud import REPO, RESULTS, write_result

TARGETS_S = {"test-fast": 60.0, "test": 360.0}
_SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors|skipped|deselected)")


def pytest_command(target: str) -> tuple[dict[str, str], list[str]]:
    """The environment settings and pytest command line `make <target>` would run (its last
    pytest line of `make -n`)."""
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line for line in dry.splitlines() if " -m pytest" in line]
    if not lines:
        raise RuntimeError(f"make -n {target} runs no pytest")
    words = shlex.split(lines[-1])
    settings = {}
    while words and "=" in words[0] and not words[0].startswith(("-", "/", ".")):
        name, _, value = words.pop(0).partition("=")
        settings[name] = value
    return settings, words


def timed(target: str) -> dict[str, Any]:
    """Run the target's pytest once; its wall time and outcome counts."""
    settings, command = pytest_command(target)
    load = [round(value, 2) for value in os.getloadavg()]
    started = time.perf_counter()
    run = subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    tail = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    counts = {kind: int(n) for n, kind in _SUMMARY.findall(tail)}
    # pytest's short summary names each failure: a timing of a failed run says which.
    failed = [
        line.split(" ", 2)[1]
        for line in run.stdout.splitlines()
        if line.startswith(("FAILED ", "ERROR ")) and " " in line
    ]
    return {
        "command": " ".join([*(f"{k}={v}" for k, v in settings.items()), *command]),
        "wall_s": round(wall, 1),
        "target_s": TARGETS_S[target],
        "target_met": run.returncode == 0 and wall < TARGETS_S[target],
        "exit_code": run.returncode,
        "counts": counts,
        "failed": failed,
        "load_average_before": load,
    }


def main(argv: list[str] | None = None) -> None:
    """Time both selections and write the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(TARGETS_S), help="time one target only")
    args = parser.parse_args(argv)
    targets = [args.only] if args.only else list(TARGETS_S)
    previous = RESULTS / "tests.json"
    # With --only, the other target's last figures stay on record.
    result = json.loads(previous.read_text()) if args.only and previous.exists() else {}
    result.update({"cores": os.cpu_count(), **{target: timed(target) for target in targets}})
    write_result("tests", result)


if __name__ == "__main__":
    main()
