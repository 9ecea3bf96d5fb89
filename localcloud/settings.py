"""Runtime settings of the local cloud server, read once from its environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 4566
DEFAULT_MAX_WORKERS = 4
# How often the TTL sweeper looks for expired items (AWS takes up to days; see README).
DEFAULT_TTL_INTERVAL_S = 60.0
# How often a changed control plane is written to the state directory.
DEFAULT_SNAPSHOT_INTERVAL_S = 2.0
# How many times faster than the clock `rate()` schedules fire (1: as on AWS; tests use more).
DEFAULT_SCHEDULE_SPEEDUP = 1.0


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0, got {value!r}")


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = os.environ.get(name, "").strip().lower() or default
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be more than 0 seconds, got {raw!r}")
    return value


def _speedup(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number (how many times faster), got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Where the server listens, where it keeps its files, and its background intervals."""

    port: int
    # Scratch files: logs, unpacked function code, pid files.
    state_dir: Path
    # Cap on warm workers per function version when the function reserves no concurrency.
    max_workers: int = DEFAULT_MAX_WORKERS
    # Keep tables, stacks, functions, queues... across restarts, under `data_dir`.
    persist: bool = False
    data_dir: Path = Path(".local-cloud/state")
    snapshot_interval_s: float = DEFAULT_SNAPSHOT_INTERVAL_S
    ttl_interval_s: float = DEFAULT_TTL_INTERVAL_S
    # The checkout whose working tree hot-reloaded functions run from, and whether they do
    # (`LOCALCLOUD_HOT_RELOAD=0`: every function runs its deployed zip, tagged or not).
    project_dir: Path = Path.cwd()
    hot_reload: bool = True
    # What a function's role does not allow: `enforce` (denied as on AWS), `audit`, `off`.
    iam_mode: str = "enforce"
    # The node that runs Node.js functions (`LOCALCLOUD_NODE`); None: the pinned wheel's.
    node: Path | None = None
    # EventBridge `rate()` schedules fire this many times faster (`cron()` ones never do).
    schedule_speedup: float = DEFAULT_SCHEDULE_SPEEDUP

    @property
    def endpoint(self) -> str:
        """The URL functions and the CDK CLI use; `localhost`, never 127.0.0.1 (see README)."""
        return f"http://localhost:{self.port}"


def from_environment() -> Settings:
    """Settings from the `LOCALCLOUD_*` variables (see localcloud/README.md)."""
    port = int(os.environ.get("LOCALCLOUD_PORT") or os.environ.get("MOTO_PORT") or DEFAULT_PORT)
    state_dir = Path(os.environ.get("LOCALCLOUD_STATE_DIR") or Path.cwd() / ".local-cloud")
    max_workers = int(os.environ.get("LOCALCLOUD_MAX_WORKERS") or DEFAULT_MAX_WORKERS)
    if max_workers < 1:
        raise ValueError("LOCALCLOUD_MAX_WORKERS must be at least 1")
    return Settings(
        port=port,
        state_dir=state_dir,
        max_workers=max_workers,
        persist=_flag("LOCALCLOUD_PERSIST", False),
        data_dir=Path(os.environ.get("LOCALCLOUD_DATA_DIR") or state_dir / "state"),
        snapshot_interval_s=_seconds("LOCALCLOUD_SNAPSHOT_INTERVAL_S", DEFAULT_SNAPSHOT_INTERVAL_S),
        ttl_interval_s=_seconds("LOCALCLOUD_TTL_INTERVAL_S", DEFAULT_TTL_INTERVAL_S),
        project_dir=Path(os.environ.get("LOCALCLOUD_PROJECT_DIR") or Path.cwd()).resolve(),
        hot_reload=_flag("LOCALCLOUD_HOT_RELOAD", True),
        iam_mode=_choice("LOCALCLOUD_IAM", ("enforce", "audit", "off"), "enforce"),
        node=Path(os.environ["LOCALCLOUD_NODE"]) if os.environ.get("LOCALCLOUD_NODE") else None,
        schedule_speedup=_speedup("LOCALCLOUD_SCHEDULE_SPEEDUP", DEFAULT_SCHEDULE_SPEEDUP),
    )
