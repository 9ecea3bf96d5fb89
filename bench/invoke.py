"""Warm `Invoke` round trip through the local cloud's Lambda API (boto3 -> moto -> worker).

A trivial Python handler is invoked once to warm its worker, then `--invocations` times in
sequence; the p50/p95 of the client-side round trip go to `bench/results/invoke.json`.
Target: p50 under 20 ms.
"""

from __future__ import annotations

import argparse
import json
import time

from bench._cloud import client, create_function, local_cloud_on_free_port, percentile, write_result

TARGET_P50_MS = 20.0
HANDLER = """
def handler(event, context):
    return {"echo": event.get("n")}
"""


def measure(invocations: int) -> dict[str, object]:
    """Round-trip times of warm invocations, in milliseconds."""
    with local_cloud_on_free_port() as endpoint:
        create_function(endpoint, "bench-invoke", HANDLER, {})
        lambda_client = client("lambda", endpoint)
        for n in range(5):  # cold start and client connection set-up
            lambda_client.invoke(FunctionName="bench-invoke", Payload=json.dumps({"n": n}))
        times: list[float] = []
        for n in range(invocations):
            started = time.perf_counter()
            response = lambda_client.invoke(
                FunctionName="bench-invoke", Payload=json.dumps({"n": n})
            )
            body = json.loads(response["Payload"].read())
            times.append((time.perf_counter() - started) * 1000)
            if body != {"echo": n} or "FunctionError" in response:
                raise RuntimeError(f"unexpected response {body!r}")
    p50 = percentile(times, 50)
    return {
        "target_p50_ms": TARGET_P50_MS,
        "target_met": p50 < TARGET_P50_MS,
        "invocations": invocations,
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write its result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invocations", type=int, default=300)
    args = parser.parse_args(argv)
    write_result("invoke", measure(args.invocations))


if __name__ == "__main__":
    main()
