"""Seed benchmark: the tutorial's put_item loop, our seeder and a raw BatchWriteItem floor.

All three write the same 20,000 message items (the messages key schema, no stream, no
indexes) into an empty table, one after the other in the same run, on the local cloud
(`python -m localcloud serve`, started here on a free port: its front door forwards
DynamoDB to its own DynamoDB Local) and then on a DynamoDB Local reached directly. Then the
table is scanned to the end, sequentially and in parallel. The front door's cost is the
ratio of the two: the local cloud's seeder and scans should keep at least 0.8x of DynamoDB
Local's.

- loop:   one `put_item` per item, one thread (the tutorials' `bin/ddb/seed`).
- seeder: `scripts.seed.seed_table`, validation included, default concurrency.
- floor:  pre-built `BatchWriteItem` requests sent by 4 threads as fast as possible, no
          validation at all (botocore's off too; only `UnprocessedItems` re-sent).

Each engine is warmed up first (DynamoDB Local's JIT otherwise favours whichever runs
last); the seeder and the floor then alternate for `--rounds` rounds and their medians are
reported, with every round's figure. The loop runs once over all the items. The machine is
shared, so the load average at the start and end is recorded beside the figures.

Both engines run in memory, so the ratio is the front door's cost alone. The local cloud as
`make up` starts it (persisting: DynamoDB Local on its database files) is timed too, the
seeder only, and recorded beside it as `persisting` (no target; the price of durability).

Targets: seeder >= 10x loop; floor <= 1.25x seeder (issue 6); local cloud >= 0.8x DynamoDB
Local directly for the seeder, the scan and the parallel scan (issue 17).
Results: bench/results/seed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from localcloud.engine import Engine, free_port
from scripts.codec import WireItem, to_wire
from scripts.scan import build_request, scan_items
from scripts.schema import create_table_request
from scripts.seed import BATCH_SIZE, DEFAULT_CONCURRENCY, batches, seed_table
from scripts.tables import describe_table
from scripts.target import Target, resolve_target

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "seed.json"
TABLE = "bench-messages"
FLOOR_THREADS = 4
SEEDER_MIN_SPEEDUP = 10.0
FLOOR_MAX_RATIO = 1.25
FRONT_DOOR_MIN_RATIO = 0.8


def message_items(count: int) -> list[WireItem]:
    """`count` deterministic message rows spread over 50 conversations."""
    items: list[WireItem] = []
    for number in range(count):
        group = f"group-{number % 50:02d}"
        created = f"2026-01-01T09:{(number // 60) % 60:02d}:{number % 60:02d}.{number:06d}+00:00"
        items.append(
            to_wire(
                {
                    "pk": f"MSG#{group}",
                    "sk": created,
                    "message_uuid": f"message-{number:06d}",
                    "message": f"Message number {number} of the benchmark conversation {group}.",
                    "user_uuid": f"user-{number % 7}",
                    "user_display_name": f"User {number % 7}",
                    "user_handle": f"user{number % 7}",
                }
            )
        )
    return items


@contextmanager
def local_cloud(*, persist: bool = False) -> Iterator[str]:
    """The local cloud (front door + DynamoDB Local + moto) as its own process on a free port,
    its engine in memory like the direct one (like with like), or on its database files."""
    from localcloud import launcher

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-seed-") as state:
        endpoint, _ = launcher.start(port, Path(state), persist=persist)
        try:
            yield endpoint.url
        finally:
            launcher.stop(port, Path(state))


def fresh_table(target: Target) -> None:
    """Drop and recreate the benchmark table so every run starts empty."""
    client = target.client()
    try:
        client.delete_table(TableName=TABLE)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    spec = target.stage.table("messages")
    client.create_table(
        **create_table_request(spec, table_name=TABLE, with_stream=False, with_indexes=False)
    )
    while client.describe_table(TableName=TABLE)["Table"]["TableStatus"] != "ACTIVE":
        time.sleep(0.05)


def count(target: Target) -> int:
    """Items in the benchmark table (a COUNT scan)."""
    total = 0
    for page in target.client().get_paginator("scan").paginate(TableName=TABLE, Select="COUNT"):
        total += page["Count"]
    return total


def run_loop(target: Target, items: Sequence[WireItem]) -> None:
    """The tutorial: one put_item per item, one thread."""
    client = target.client()
    for item in items:
        client.put_item(TableName=TABLE, Item=item)


def run_seeder(target: Target, items: Sequence[WireItem]) -> None:
    """Our seeder, as `python -m scripts seed --from` runs it (validation included)."""
    info = describe_table(target, TABLE)
    seed_table(target, info, items, concurrency=DEFAULT_CONCURRENCY)


def run_floor(target: Target, items: Sequence[WireItem]) -> None:
    """Pre-built BatchWriteItem requests, a few threads, nothing else."""
    client = target.client(max_pool=FLOOR_THREADS * 2, validate_params=False)
    requests = [
        {TABLE: [{"PutRequest": {"Item": item}} for item in chunk]}
        for chunk in batches(items, BATCH_SIZE)
    ]

    def send(request: dict[str, Any]) -> None:
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(FLOOR_THREADS) as pool:
        list(pool.map(send, requests))


def timed_write(
    target: Target, items: Sequence[WireItem], way: Callable[[Target, Sequence[WireItem]], None]
) -> float:
    """Items per second of one way of writing `items` into an empty table (count checked)."""
    fresh_table(target)
    started = time.perf_counter()
    way(target, items)
    elapsed = time.perf_counter() - started
    stored = count(target)
    if stored != len(items):
        raise RuntimeError(f"{way.__name__} left {stored} items, expected {len(items)}")
    return len(items) / elapsed


def timed_scan(target: Target, segments: int) -> float:
    """Items per second of a scan of the whole table."""
    request = build_request(describe_table(target, TABLE), segments=segments)
    started = time.perf_counter()
    seen = sum(1 for _ in scan_items(target, request))
    elapsed = time.perf_counter() - started
    if seen != count(target):
        raise RuntimeError(f"scan with {segments} segment(s) saw {seen} items")
    return seen / elapsed


def measure_seeder(endpoint: str, items: Sequence[WireItem]) -> float:
    """The seeder's items per second (after a warm-up), nothing else."""
    target = resolve_target("local", endpoint)
    timed_write(target, items[: min(len(items), 5000)], run_seeder)
    return timed_write(target, items, run_seeder)


def measure(endpoint: str, items: Sequence[WireItem], segments: int, rounds: int) -> dict[str, Any]:
    """The three writes and the two scans against one engine."""
    target = resolve_target("local", endpoint)
    # Warm-up (not recorded): every write path and the scan, on slices of the items, so a
    # JIT (DynamoDB Local) or cache does not favour whichever way happens to run later.
    warm = items[: min(len(items), 5000)]
    for way in (run_floor, run_seeder, run_floor):
        timed_write(target, warm, way)
    timed_write(target, warm[:300], run_loop)
    timed_scan(target, 1)
    timed_scan(target, segments)
    loop = timed_write(target, items, run_loop)
    seeder_runs: list[float] = []
    floor_runs: list[float] = []
    for round_number in range(rounds):
        order = [(run_seeder, seeder_runs), (run_floor, floor_runs)]
        for way, runs in order if round_number % 2 == 0 else reversed(order):
            runs.append(timed_write(target, items, way))
    scan_runs = [timed_scan(target, 1) for _ in range(rounds)]
    parallel_runs = [timed_scan(target, segments) for _ in range(rounds)]
    seeder = statistics.median(seeder_runs)
    floor = statistics.median(floor_runs)
    return {
        "items": len(items),
        "loop_items_per_s": round(loop, 1),
        "seeder_items_per_s": round(seeder, 1),
        "floor_items_per_s": round(floor, 1),
        "scan_items_per_s": round(statistics.median(scan_runs), 1),
        "parallel_scan_items_per_s": round(statistics.median(parallel_runs), 1),
        "parallel_scan_segments": segments,
        "seeder_vs_loop": round(seeder / loop, 2),
        "floor_vs_seeder": round(floor / seeder, 3),
        "targets_met": seeder / loop >= SEEDER_MIN_SPEEDUP and floor / seeder <= FLOOR_MAX_RATIO,
        "rounds": {
            "seeder_items_per_s": [round(r, 1) for r in seeder_runs],
            "floor_items_per_s": [round(r, 1) for r in floor_runs],
            "scan_items_per_s": [round(r, 1) for r in scan_runs],
            "parallel_scan_items_per_s": [round(r, 1) for r in parallel_runs],
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--engines",
        default="local_cloud,dynamodb_local,persisting",
        help="comma-separated: local_cloud, dynamodb_local, persisting",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    items = message_items(args.items)
    results: dict[str, Any] = {}
    load_before = os.getloadavg()
    if "local_cloud" in engines:
        with local_cloud() as endpoint:
            results["local_cloud"] = measure(endpoint, items, args.segments, args.rounds)
        print(json.dumps(results["local_cloud"]), flush=True)
    if "dynamodb_local" in engines:
        with Engine() as engine:
            results["dynamodb_local"] = measure(engine.endpoint, items, args.segments, args.rounds)
        print(json.dumps(results["dynamodb_local"]), flush=True)
    if "persisting" in engines:
        # `make up`'s default: DynamoDB Local on its database files (`-dbPath`), every
        # acknowledged write on disk.
        with local_cloud(persist=True) as endpoint:
            persisting = measure_seeder(endpoint, items)
        results["persisting"] = {"seeder_items_per_s": round(persisting, 1)}
        if "local_cloud" in results:
            in_memory = results["local_cloud"]["seeder_items_per_s"]
            results["persisting"]["vs_in_memory"] = round(persisting / in_memory, 3)
        print(json.dumps(results["persisting"]), flush=True)
    if {"local_cloud", "dynamodb_local"} <= set(results):
        cloud, direct = results["local_cloud"], results["dynamodb_local"]
        ratios = {
            name: round(cloud[f"{name}_items_per_s"] / direct[f"{name}_items_per_s"], 3)
            for name in ("seeder", "scan", "parallel_scan")
        }
        results["local_cloud_vs_dynamodb_local"] = {
            **ratios,
            "target_min": FRONT_DOOR_MIN_RATIO,
            "targets_met": all(ratio >= FRONT_DOOR_MIN_RATIO for ratio in ratios.values()),
        }
    results["run"] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seeder_concurrency": DEFAULT_CONCURRENCY,
        "floor_threads": FLOOR_THREADS,
        "load_average_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "targets": {
            "seeder_vs_loop_min": SEEDER_MIN_SPEEDUP,
            "floor_vs_seeder_max": FLOOR_MAX_RATIO,
            "local_cloud_vs_dynamodb_local_min": FRONT_DOOR_MIN_RATIO,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
