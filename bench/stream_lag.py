"""DynamoDB stream lag: from a `PutItem` to the mapped handler receiving the record.

Probe: a table with a NEW_IMAGE stream is mapped (batch size from the local stage's stream
settings) to a handler that appends `<key> <receive time>` per record to a file; `--writes`
items are written in sequence with their send time. Target: p95 under 1,000 ms.

Write-back workload (`write_back`): `bench.stress`'s workload on a fresh cloud: the real
message-stream function, which writes both group rows back into the table it reads, under
2,000 messages from 32 threads (`--messages`, `--threads`). Write-to-handler, the issue's
target, is from a message's `PutItem` to the start of the invocation that got its record
(the invocation's log is saved at its end: that time less its REPORT duration);
write-to-applied, recorded beside it, runs on to the handler's log line saying it applied
the message (so it includes the handler's own writes for it). Catch-up is from the last
acknowledged write until every group row is at its conversation's newest message. Targets:
write-to-handler p95 under 250 ms, catch-up within 5 s. Results, with whether each target
was met: `bench/results/stream_lag.json`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import stress
from bench._cloud import client, create_function, local_cloud_on_free_port, percentile, write_result
from stacks.config import stage_config

PROBE_TARGET_P95_MS = 1000.0
WRITE_BACK_TARGET_P95_MS = 250.0
WRITE_BACK_TARGET_CATCH_UP_S = 5.0

HANDLER = """
import os
import time


def handler(event, context):
    received = time.time()
    with open(os.environ["LAG_FILE"], "a") as out:
        for record in event["Records"]:
            out.write(f"{record['dynamodb']['Keys']['pk']['S']} {received}\\n")
"""


def measure(writes: int, timeout_s: float = 60.0) -> dict[str, object]:
    """Write-to-handler latencies in milliseconds."""
    batch_size = stage_config("local").stream_processing.batch_size
    with tempfile.TemporaryDirectory() as scratch, local_cloud_on_free_port() as endpoint:
        lag_file = Path(scratch) / "received.txt"
        lag_file.touch()
        dynamodb = client("dynamodb", endpoint)
        stream_arn = dynamodb.create_table(
            TableName="bench-stream",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]["LatestStreamArn"]
        create_function(endpoint, "bench-stream", HANDLER, {"LAG_FILE": str(lag_file)})
        client("lambda", endpoint).create_event_source_mapping(
            FunctionName="bench-stream",
            EventSourceArn=stream_arn,
            StartingPosition="LATEST",
            BatchSize=batch_size,
        )
        # Warm the worker so the first record does not measure the cold start.
        dynamodb.put_item(TableName="bench-stream", Item={"pk": {"S": "warm-up"}})
        deadline = time.monotonic() + timeout_s
        while "warm-up" not in lag_file.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        sent: dict[str, float] = {}
        for n in range(writes):
            key = f"k{n:05d}"
            sent[key] = time.time()
            dynamodb.put_item(TableName="bench-stream", Item={"pk": {"S": key}})
        received: dict[str, float] = {}
        while len(received) < writes and time.monotonic() < deadline:
            for line in lag_file.read_text().splitlines():
                key, stamp = line.split()
                if key in sent:
                    received.setdefault(key, float(stamp))
            time.sleep(0.1)
    missing = writes - len(received)
    if missing:
        raise RuntimeError(f"{missing} of {writes} records never reached the handler")
    lags = [(received[key] - sent[key]) * 1000 for key in sent]
    p95 = percentile(lags, 95)
    return {
        "writes": writes,
        "p50_ms": percentile(lags, 50),
        "p95_ms": p95,
        "target_p95_ms": PROBE_TARGET_P95_MS,
        "target_met": p95 < PROBE_TARGET_P95_MS,
    }


def measure_write_back(messages: int, threads: int) -> dict[str, Any]:
    """The write-back workload's latency and catch-up, against their targets."""
    figures = stress.measure(messages=messages, threads=threads)
    p95 = figures["write_to_handler_p95_ms"]
    catch_up = figures["catch_up_s"]
    return {
        "workload": (
            f"bench.stress: {figures['messages']} messages from {figures['threads']} threads, "
            f"{figures['conversations']} conversations, "
            f"{figures['cancelled_transactions']} cancelled transactions"
        ),
        "write_to_handler_p50_ms": figures["write_to_handler_p50_ms"],
        "write_to_handler_p95_ms": p95,
        "target_p95_ms": WRITE_BACK_TARGET_P95_MS,
        # From the PutItem's answer instead of its sending: the stream's own lag, without
        # the write's wait in the engine behind the other writers (`put_item_*`).
        "acknowledged_to_handler_p50_ms": figures["acknowledged_to_handler_p50_ms"],
        "acknowledged_to_handler_p95_ms": figures["acknowledged_to_handler_p95_ms"],
        "put_item_p50_ms": figures["put_item_p50_ms"],
        "put_item_p95_ms": figures["put_item_p95_ms"],
        "write_to_applied_p50_ms": figures["write_to_applied_p50_ms"],
        "write_to_applied_p95_ms": figures["write_to_applied_p95_ms"],
        "p95_target_met": p95 is not None and p95 < WRITE_BACK_TARGET_P95_MS,
        "catch_up_s": catch_up,
        "target_catch_up_s": WRITE_BACK_TARGET_CATCH_UP_S,
        "catch_up_target_met": catch_up is not None and catch_up <= WRITE_BACK_TARGET_CATCH_UP_S,
        "writes_per_s": figures["writes_per_s"],
        "applied_per_s": figures["applied_per_s"],
        "handler_busy_s": figures["handler_busy_s"],
        "write_phase_s": figures["write_phase_s"],
        "handler_replayed_records": figures["handler_replayed_records"],
        "failure_queue_messages": figures["failure_queue_messages"],
        "request_costs": figures["request_costs"],
        "load_average_before": figures["load_average_before"],
        "load_average_after": figures["load_average_after"],
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write its result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--messages", type=int, default=stress.DEFAULT_MESSAGES)
    parser.add_argument("--threads", type=int, default=stress.DEFAULT_THREADS)
    args = parser.parse_args(argv)
    result = measure(args.writes)
    result["write_back"] = measure_write_back(args.messages, args.threads)
    write_result("stream_lag", result)


if __name__ == "__main__":
    main()
