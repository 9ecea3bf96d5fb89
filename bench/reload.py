"""Hot reload's save-to-new-behaviour latency: edit a handler, invoke until the change shows.

A function tagged for hot reload runs `app.py` from a temporary project directory (the local
cloud's `LOCALCLOUD_PROJECT_DIR`). Each of `--edits` rounds rewrites the file with a new
`VERSION` and invokes in a loop until the answer carries it; the time from the write to that
answer (the watcher's poll, the worker's restart with the handler's imports, the invoke) goes
to `bench/results/reload.json` as median, min and max. Target: median under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench._cloud import client, create_function, local_cloud_on_free_port, write_result
from localcloud.hot_reload import POLL_INTERVAL_S
from stacks.config import HOT_RELOAD_TAG

TARGET_MEDIAN_S = 1.0
FUNCTION = "bench-reload"
SOURCE_FOLDER = "functions"
# Imports boto3, as every handler of this project does: a restart pays for it.
HANDLER = """
import boto3

VERSION = {version}


def handler(event, context):
    return {{"version": VERSION}}
"""
GIVE_UP_S = 30.0


def _save(folder: Path, version: int) -> None:
    (folder / "app.py").write_text(HANDLER.format(version=version))


def measure(edits: int) -> dict[str, object]:
    """Seconds from each save to the first invoke that answers with the saved version."""
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as project:
        folder = Path(project) / SOURCE_FOLDER
        folder.mkdir()
        _save(folder, 0)
        previous = os.environ.get("LOCALCLOUD_PROJECT_DIR")
        os.environ["LOCALCLOUD_PROJECT_DIR"] = project  # the server inherits it
        try:
            with local_cloud_on_free_port() as endpoint:
                create_function(
                    endpoint,
                    FUNCTION,
                    HANDLER.format(version=-1),
                    {},
                    tags={HOT_RELOAD_TAG: SOURCE_FOLDER},
                )
                lambda_client = client("lambda", endpoint)

                def version() -> int:
                    response = lambda_client.invoke(FunctionName=FUNCTION, Payload=b"{}")
                    body = json.loads(response["Payload"].read())
                    if "FunctionError" in response:
                        raise RuntimeError(f"the handler failed: {body}")
                    return int(body["version"])

                if version() != 0:
                    raise RuntimeError("the function does not run from the working tree")
                latencies: list[float] = []
                invokes: list[int] = []
                for edit in range(1, edits + 1):
                    time.sleep(0.5)  # a warm worker, and saves out of step with the polls
                    _save(folder, edit)
                    saved = time.perf_counter()
                    polls = 1
                    while version() != edit:
                        polls += 1
                        if time.perf_counter() - saved > GIVE_UP_S:
                            raise RuntimeError(f"edit {edit} not seen after {GIVE_UP_S} s")
                    latencies.append(time.perf_counter() - saved)
                    invokes.append(polls)
        finally:
            if previous is None:
                os.environ.pop("LOCALCLOUD_PROJECT_DIR", None)
            else:
                os.environ["LOCALCLOUD_PROJECT_DIR"] = previous
    median = statistics.median(latencies)
    return {
        "target_median_s": TARGET_MEDIAN_S,
        "target_met": median < TARGET_MEDIAN_S,
        "edits": edits,
        "watcher_poll_interval_s": POLL_INTERVAL_S,
        "median_s": round(median, 3),
        "min_s": round(min(latencies), 3),
        "max_s": round(max(latencies), 3),
        "median_invokes_until_seen": statistics.median(invokes),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write its result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=10)
    args = parser.parse_args(argv)
    write_result("reload", measure(args.edits))


if __name__ == "__main__":
    main()
