"""DynamoDB stream lag: from a `PutItem` to the mapped handler receiving the record.

A table with a NEW_IMAGE stream is mapped (batch size from the local stage's stream
settings) to a handler that appends `<key> <receive time>` per record to a file; `--writes`
items are written in sequence with their send time. The p50/p95 of the difference go to
`bench/results/stream_lag.json`. Target: p95 under 1,000 ms.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench._cloud import client, create_function, local_cloud_on_free_port, percentile, write_result
from stacks.config import stage_config

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
    return {
        "writes": writes,
        "p50_ms": percentile(lags, 50),
        "p95_ms": percentile(lags, 95),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write its result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args(argv)
    write_result("stream_lag", measure(args.writes))


if __name__ == "__main__":
    main()
