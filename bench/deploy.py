"""`make deploy` wall time: cold (local cloud down, dependencies installed) and warm re-deploy.

Runs the real `make deploy` twice on a free port (never 4566, which a user's cloud may
hold), then `make down`. Results go to `bench/results/deploy.json`. Target: cold under 60 s
on a 2-core machine.
"""

from __future__ import annotations

import argparse
import subprocess
import time

from bench._cloud import REPO, free_port, write_result


def _make(target: str, port: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["make", "-s", target, f"LOCAL_CLOUD_PORT={port}"],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def measure() -> dict[str, object]:
    """Seconds for a cold and a warm `make deploy`."""
    port = free_port()
    try:
        cold = _make("deploy", port)
        warm = _make("deploy", port)
    finally:
        _make("down", port)
    return {
        "cold_s": round(cold, 2),
        "warm_s": round(warm, 2),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write its result."""
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    write_result("deploy", measure())


if __name__ == "__main__":
    main()
