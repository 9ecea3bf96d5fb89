"""Synth benchmark: the whole app next to an empty app (the jsii start-up floor), same run.

Each is run as its own `python` process, as the CDK CLI runs `app.py`, at least three
times; the medians and their ratio go to `bench/results/synth.json`. The app is also timed
with the cdk-nag packs skipped (`-c nag=false`), so what the checks cost is on record, and
both apps once more with aws-cdk-lib's built-in CloudFormation validation switched off
(`CDK_VALIDATION=false`), so the share of that fixed cost in the floor is on record too.
The headline ratio is the one a user gets: both apps as they ship, validation on.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "synth.json"
EMPTY_APP = """
import aws_cdk as cdk
app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
"""


def cli_context(stage: str, **settings: object) -> dict[str, object]:
    """What `cdk synth -c stage=... [-c key=value]` hands the app: cdk.json's context and those."""
    context: dict[str, object] = json.loads((REPO / "cdk.json").read_text())["context"]
    return {**context, "stage": stage, **settings}


def time_run(
    arguments: list[str], context: dict[str, object], *, builtin_validation: bool = True
) -> float:
    """Seconds for one synth process; raises if it fails."""
    with tempfile.TemporaryDirectory() as outdir:
        env = {**os.environ, "CDK_OUTDIR": outdir, "CDK_CONTEXT_JSON": json.dumps(context)}
        env.pop("CDK_VALIDATION", None)
        if not builtin_validation:
            env["CDK_VALIDATION"] = "false"
        started = time.perf_counter()
        subprocess.run(arguments, cwd=REPO, env=env, check=True, capture_output=True)
        return time.perf_counter() - started


def measure(runs: int, stage: str) -> dict[str, object]:
    """Median wall times of the app, the app without cdk-nag, the empty app, and both apps
    without the built-in validation: one run of each per round, so drift hits all alike.
    """
    full: list[float] = []
    unchecked: list[float] = []
    empty: list[float] = []
    full_unvalidated: list[float] = []
    empty_unvalidated: list[float] = []
    context = cli_context(stage)
    app, empty_app = [sys.executable, "app.py"], [sys.executable, "-c", EMPTY_APP]
    for _ in range(runs):
        full.append(time_run(app, context))
        unchecked.append(time_run(app, cli_context(stage, nag=False)))
        empty.append(time_run(empty_app, context))
        full_unvalidated.append(time_run(app, context, builtin_validation=False))
        empty_unvalidated.append(time_run(empty_app, context, builtin_validation=False))
    full_s, unchecked_s, empty_s = (statistics.median(times) for times in (full, unchecked, empty))
    full_unvalidated_s = statistics.median(full_unvalidated)
    empty_unvalidated_s = statistics.median(empty_unvalidated)
    return {
        "full_app_s": round(full_s, 3),
        "empty_app_s": round(empty_s, 3),
        "ratio": round(full_s / empty_s, 3),
        "full_app_without_nag_s": round(unchecked_s, 3),
        "ratio_without_nag": round(unchecked_s / empty_s, 3),
        "full_app_without_builtin_validation_s": round(full_unvalidated_s, 3),
        "empty_app_without_builtin_validation_s": round(empty_unvalidated_s, 3),
        "ratio_without_builtin_validation": round(full_unvalidated_s / empty_unvalidated_s, 3),
        "stage": stage,
        "runs": runs,
        "full_app_runs_s": [round(t, 3) for t in full],
        "full_app_without_nag_runs_s": [round(t, 3) for t in unchecked],
        "empty_app_runs_s": [round(t, 3) for t in empty],
        "full_app_without_builtin_validation_runs_s": [round(t, 3) for t in full_unvalidated],
        "empty_app_without_builtin_validation_runs_s": [round(t, 3) for t in empty_unvalidated],
    }


def main() -> None:
    """Run the benchmark and write its JSON result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs of each app (at least 3)")
    parser.add_argument("--stage", default="local", choices=["local", "prod"])
    arguments = parser.parse_args()
    if arguments.runs < 3:
        parser.error("--runs must be at least 3 for a median")
    result = measure(arguments.runs, arguments.stage)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
