"""Runtime settings of the local cloud server, read once from its environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 4566
DEFAULT_MAX_WORKERS = 4


@dataclass(frozen=True)
class Settings:
    """Where the server listens and where it keeps its scratch files."""

    port: int
    state_dir: Path
    # Cap on warm workers per function version when the function reserves no concurrency.
    max_workers: int = DEFAULT_MAX_WORKERS

    @property
    def endpoint(self) -> str:
        """The URL functions and the CDK CLI use; `localhost`, never 127.0.0.1 (see README)."""
        return f"http://localhost:{self.port}"


def from_environment() -> Settings:
    """Settings from `LOCALCLOUD_PORT`, `LOCALCLOUD_STATE_DIR`, `LOCALCLOUD_MAX_WORKERS`."""
    port = int(os.environ.get("LOCALCLOUD_PORT") or os.environ.get("MOTO_PORT") or DEFAULT_PORT)
    state_dir = Path(os.environ.get("LOCALCLOUD_STATE_DIR") or Path.cwd() / ".local-cloud")
    max_workers = int(os.environ.get("LOCALCLOUD_MAX_WORKERS") or DEFAULT_MAX_WORKERS)
    if max_workers < 1:
        raise ValueError("LOCALCLOUD_MAX_WORKERS must be at least 1")
    return Settings(port=port, state_dir=state_dir, max_workers=max_workers)
