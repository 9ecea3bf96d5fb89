"""`make deploy` wall time: cold (local cloud down, dependencies installed) and warm
re-deploy; and the local cloud's start to healthy (server and DynamoDB Local both answering).

Runs the real `make deploy` twice on a free port (never 4566, which a user's cloud may
hold), then `make down`; then starts and stops the cloud `--starts` times. Results go to
`bench/results/deploy.json`. Target: cold under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench._cloud import REPO, free_port, write_result
from localcloud import launcher

COLD_TARGET_S = 60.0


def _make(target: str, port: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["make", "-s", target, f"LOCAL_CLOUD_PORT={port}"],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def start_to_healthy() -> float:
    """Seconds from `launcher.start` to a health answer naming a healthy DynamoDB Local."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-start-") as state:
        started = time.perf_counter()
        endpoint, _ = launcher.start(port, Path(state))
        elapsed = time.perf_counter() - started
        launcher.stop(port, Path(state))
    if endpoint.kind != launcher.LOCALCLOUD:
        raise RuntimeError(f"expected our local cloud, found {endpoint.describe()}")
    return elapsed


def measure(starts: int) -> dict[str, object]:
    """Seconds for a cold and a warm `make deploy`, and for the cloud's start."""
    port = free_port()
    try:
        cold = _make("deploy", port)
        warm = _make("deploy", port)
    finally:
        _make("down", port)
    start_runs = [start_to_healthy() for _ in range(starts)]
    return {
        "cold_s": round(cold, 2),
        "warm_s": round(warm, 2),
        "cold_target_s": COLD_TARGET_S,
        "cold_target_met": cold < COLD_TARGET_S,
        "start_to_healthy_s": round(statistics.median(start_runs), 2),
        "start_to_healthy_runs_s": [round(run, 2) for run in start_runs],
        "start_includes": "server process, moto, DynamoDB Local (JVM) answering ListTables",
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write its result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args(argv)
    write_result("deploy", measure(args.starts))


if __name__ == "__main__":
    main()
