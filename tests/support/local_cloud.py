"""Our local cloud as a test peer: started on a free port in a scratch state directory.

    with LocalCloud(tmp_path) as cloud:
        boto3.client("dynamodb", endpoint_url=cloud.endpoint, ...)

`health()` is the server's `/_localcloud/health` (it names the DynamoDB Local process:
`health()["dynamodb"]["port"]` is the engine's own port, for comparing with the engine
directly). Never port 4566: a user's cloud may hold it.
"""

from __future__ import annotations

import json
import tempfile
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from localcloud import launcher
from localcloud.engine import free_port


class LocalCloud:
    """One local cloud server (moto + DynamoDB Local) for a test session."""

    def __init__(self, state_dir: Path | None = None, *, persist: bool = False) -> None:
        self._own_dir = state_dir is None
        self.state_dir = state_dir or Path(tempfile.mkdtemp(prefix="local-cloud-"))
        self.persist = persist
        self.port = 0

    @property
    def endpoint(self) -> str:
        """`http://localhost:<port>`."""
        return launcher.endpoint_url(self.port)

    @property
    def data_dir(self) -> Path:
        """Where a persisting cloud keeps its state."""
        return launcher.Paths(self.state_dir, self.port).data_dir

    def start(self, port: int | None = None) -> str:
        """Start the server (on `port`, else a free one) and wait until both processes
        answer; return the endpoint."""
        self.port = port or free_port()
        endpoint, started = launcher.start(self.port, self.state_dir, persist=self.persist)
        if not started or endpoint.kind != launcher.LOCALCLOUD:
            raise RuntimeError(f"expected a new local cloud on {self.port}, found {endpoint}")
        return self.endpoint

    def health(self) -> dict[str, Any]:
        """The server's health document."""
        with urllib.request.urlopen(f"{self.endpoint}{launcher.HEALTH_PATH}", timeout=10) as r:
            data: dict[str, Any] = json.loads(r.read())
            return data

    def stop(self) -> None:
        """Stop the server (and its engine and workers)."""
        if self.port:
            launcher.stop(self.port, self.state_dir)

    def __enter__(self) -> LocalCloud:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
