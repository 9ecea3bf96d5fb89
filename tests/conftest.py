"""Root conftest: shared fixtures live in `tests/support/` and are registered here."""

import os
import sys
from pathlib import Path

# The venv's bin first on PATH, as the Makefile puts it: jsii (every in-process synth), the
# CDK CLI and npm then run on the pinned Node, also under a bare `.venv/bin/python -m pytest`.
VENV_BIN = str(Path(sys.executable).parent)
if os.environ.get("PATH", "").split(os.pathsep)[0] != VENV_BIN:
    os.environ["PATH"] = VENV_BIN + os.pathsep + os.environ.get("PATH", "")

# Every local cloud a test starts keeps its state in memory unless the test asks otherwise
# (the persistence tests pass `persist=True`); a user's `make up` persists by default.
os.environ["LOCALCLOUD_PERSIST"] = "0"

pytest_plugins = ["tests.support.backends"]
