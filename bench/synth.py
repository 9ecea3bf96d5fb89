"""Synth benchmark: the whole app against a same-libraries floor, in one interleaved run.

The headline is `full_app_s / same_libraries_floor_s`: the floor is one Stack with one
`dynamodb.Table` and one `lambda_.Function` under the same cdk-nag packs (`stacks/nag.py`),
so it pays what the libraries cost (jsii start-up, aws-cdk-lib's modules, cdk-nag, the
built-in template validation) and the ratio shows what our constructs add. Target: at most
1.15, recorded with whether it was met. Each app runs as its own `python` process, as the CDK
CLI runs `app.py`, one run of each per round (so drift hits all alike), five rounds by
default; medians go to `bench/results/synth.json` with the machine's load before and after.
Kept on record beside it: an empty app (the bare jsii floor), the app with the packs skipped
(`-c nag=false`), and the full app, the floor and the empty app with aws-cdk-lib's built-in
CloudFormation validation off (`CDK_VALIDATION=false`). Python writes and reuses bytecode, as
on a developer's machine, even where the shell sets `PYTHONDONTWRITEBYTECODE`: otherwise each
run compiles the app's own modules again, a cost the floor (with fewer of them) does not pay.
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
TARGET_RATIO_TO_FLOOR = 1.15
EMPTY_APP = """
import aws_cdk as cdk
app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
"""
# What the packs find on a bare table and function; acknowledged, so the floor synthesizes
# (and pays for the acknowledgments) as the app does.
FLOOR_FINDINGS = (
    "AwsSolutions-DDB3",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]",
    "Serverless-LambdaDefaultMemorySize",
    "Serverless-LambdaDefaultTimeout",
    "Serverless-LambdaDLQ",
    "Serverless-LambdaTracing",
)
FLOOR_APP = f"""
import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

from stacks.nag import acknowledge, apply_nag_checks

app = cdk.App()
stack = cdk.Stack(app, "Floor")
dynamodb.Table(
    stack,
    "Table",
    partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
)
lambda_.Function(
    stack,
    "Function",
    runtime=lambda_.Runtime.PYTHON_3_14,
    handler="index.handler",
    code=lambda_.Code.from_inline("def handler(event, context):\\n    return event\\n"),
)
for rule in {FLOOR_FINDINGS!r}:
    acknowledge(stack, rule, "The floor measures the libraries, not a compliant design.")
apply_nag_checks(app)
app.synth()
"""


def cli_context(stage: str, **settings: object) -> dict[str, object]:
    """What `cdk synth -c stage=... [-c key=value]` hands the app: cdk.json's context and those."""
    context: dict[str, object] = json.loads((REPO / "cdk.json").read_text())["context"]
    return {**context, "stage": stage, **settings}


def time_run(
    arguments: list[str],
    context: dict[str, object],
    *,
    builtin_validation: bool = True,
    outdir: Path | None = None,
) -> float:
    """Seconds for one synth process into `outdir` (default: a temporary directory).

    Raises with the process's stderr if it fails.
    """
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "CDK_OUTDIR": str(outdir or scratch),
            "CDK_CONTEXT_JSON": json.dumps(context),
        }
        env.pop("CDK_VALIDATION", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if not builtin_validation:
            env["CDK_VALIDATION"] = "false"
        started = time.perf_counter()
        result = subprocess.run(arguments, cwd=REPO, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    if result.returncode != 0:
        what = "an inline app" if arguments[1] == "-c" else arguments[1]
        raise RuntimeError(f"synth of {what} failed: {result.stderr.strip()[-2000:]}")
    return elapsed


def load() -> float:
    """The 1-minute load average: how busy the machine was around the runs."""
    return round(os.getloadavg()[0], 2)


def measure(rounds: int, stage: str) -> dict[str, object]:
    """Median wall times of every variant, one run of each per round."""
    context = cli_context(stage)
    app = [sys.executable, "app.py"]
    floor_app = [sys.executable, "-c", FLOOR_APP]
    empty_app = [sys.executable, "-c", EMPTY_APP]
    variants = {
        "full_app": (app, context, True),
        "same_libraries_floor": (floor_app, context, True),
        "empty_app": (empty_app, context, True),
        "full_app_without_nag": (app, cli_context(stage, nag=False), True),
        "full_app_without_builtin_validation": (app, context, False),
        "same_libraries_floor_without_builtin_validation": (floor_app, context, False),
        "empty_app_without_builtin_validation": (empty_app, context, False),
    }
    runs: dict[str, list[float]] = {name: [] for name in variants}
    load_before = load()
    for _ in range(rounds):
        for name, (arguments, variant_context, validation) in variants.items():
            runs[name].append(time_run(arguments, variant_context, builtin_validation=validation))
    load_after = load()
    median = {name: statistics.median(times) for name, times in runs.items()}
    ratio_to_floor = median["full_app"] / median["same_libraries_floor"]
    return {
        "full_app_s": round(median["full_app"], 3),
        "same_libraries_floor_s": round(median["same_libraries_floor"], 3),
        "ratio_to_floor": round(ratio_to_floor, 3),
        "target": TARGET_RATIO_TO_FLOOR,
        "met": ratio_to_floor <= TARGET_RATIO_TO_FLOOR,
        "empty_app_s": round(median["empty_app"], 3),
        "ratio_to_empty": round(median["full_app"] / median["empty_app"], 3),
        "floor_ratio_to_empty": round(median["same_libraries_floor"] / median["empty_app"], 3),
        "full_app_without_nag_s": round(median["full_app_without_nag"], 3),
        "full_app_without_builtin_validation_s": round(
            median["full_app_without_builtin_validation"], 3
        ),
        "same_libraries_floor_without_builtin_validation_s": round(
            median["same_libraries_floor_without_builtin_validation"], 3
        ),
        "empty_app_without_builtin_validation_s": round(
            median["empty_app_without_builtin_validation"], 3
        ),
        "ratio_to_floor_without_builtin_validation": round(
            median["full_app_without_builtin_validation"]
            / median["same_libraries_floor_without_builtin_validation"],
            3,
        ),
        "stage": stage,
        "rounds": rounds,
        "cpu_count": os.cpu_count(),
        "load_average_1m_before": load_before,
        "load_average_1m_after": load_after,
        "runs_s": {name: [round(t, 3) for t in times] for name, times in runs.items()},
    }


def main() -> None:
    """Run the benchmark and write its JSON result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (at least 3)")
    parser.add_argument("--stage", default="local", choices=["local", "prod"])
    arguments = parser.parse_args()
    if arguments.rounds < 3:
        parser.error("--rounds must be at least 3 for a median")
    result = measure(arguments.rounds, arguments.stage)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
