"""Hot reload: functions tagged `TAG` (the local stage's functions: `stacks/config.py` puts
it on them) run from the working tree, and an edit there restarts their warm workers, so the
next invoke runs the new code with no deploy.

The tag's value is the source folder relative to the project (`lambda_src`), resolved
against `Settings.project_dir`; a value that leaves the project (`..`, an absolute path, a
symlink out) or names no folder is refused, and the function runs its deployed zip with a
warning in its logs. While tagged, a function runs the tree whatever `UpdateFunctionCode`
uploads (untag it to run a zip). A `Watcher` thread polls the files of the folders in use
(mtime, size, inode) and retires the workers of each pool whose folder changed. Only
`$LATEST` is hot-reloaded: a published version runs its own code, as on AWS.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localcloud.lambda_runner import FunctionPool

log = logging.getLogger("localcloud.hot_reload")

# The Lambda tag whose value names a function's source folder; `stacks.config.HOT_RELOAD_TAG`
# must be the same string (a test holds the two together; localcloud imports no app code).
TAG = "localcloud:hot-reload"

POLL_INTERVAL_S = 0.2
# Never code: bytecode caches, hidden files (.git, vim swap, emacs locks), editor leftovers.
IGNORED_NAMES = frozenset({"__pycache__", "4913"})  # 4913: vim's probe file
IGNORED_SUFFIXES = (".pyc", ".pyo", "~", ".swp", ".swx", ".tmp", "___jb_tmp___", "___jb_old___")

# (path, mtime_ns, size, inode) of every file under a source folder.
Stamp = frozenset[tuple[str, int, int, int]]


@dataclass(frozen=True)
class Source:
    """Where a function's code comes from: its folder in the working tree, or its zip."""

    folder: Path | None
    # Why a marked function runs its zip after all (for the server and the function's logs).
    refusal: str = ""


def source_for(tags: dict[str, str], version: str, project_dir: Path) -> Source:
    """The working-tree folder a function's `TAG` names, if it is safe to run."""
    value = tags.get(TAG)
    if value is None or version != "$LATEST":
        return Source(None)
    project = project_dir.resolve()
    try:
        folder = (project / value).resolve()  # symlinks followed: the real place is checked
        is_folder = folder.is_dir()
    except (OSError, ValueError):  # a loop of symlinks, a NUL byte
        return Source(None, f"{TAG} {value!r} is not a usable path")
    if folder == project or not folder.is_relative_to(project):
        return Source(None, f"{TAG} {value!r} is not a folder inside {project}")
    if not is_folder:
        return Source(None, f"{TAG} {value!r}: {folder} is not a folder")
    return Source(folder)


def ignored(name: str) -> bool:
    """Whether a file or folder name is not code worth a restart."""
    return name in IGNORED_NAMES or name.startswith((".", "#")) or name.endswith(IGNORED_SUFFIXES)


def stamp(folder: Path) -> Stamp:
    """What the files under `folder` look like now; equal stamps mean no edit in between."""
    files: list[tuple[str, int, int, int]] = []
    pending = [str(folder)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:  # removed while we walked it: its files are simply gone
            continue
        for entry in entries:
            if ignored(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                    continue
                status = entry.stat()
            except OSError:
                continue
            files.append((entry.path, status.st_mtime_ns, status.st_size, status.st_ino))
    return frozenset(files)


class Watcher:
    """Polls the source folders of hot-reloaded pools; a changed folder recycles its pools."""

    def __init__(
        self,
        pools: Callable[[], Iterable[FunctionPool]],
        interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self._pools = pools
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the polling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start polling (idempotent)."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="lambda-hot-reload", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the thread; it is not started again."""
        with self._lock:
            self._stop.set()
            thread = self._thread
        if thread is not None:
            thread.join()

    def check(self) -> int:
        """One poll: recycle the pools whose folder changed; return how many were recycled."""
        stamps: dict[Path, Stamp] = {}
        recycled = 0
        for pool in self._pools():
            folder = pool.source_folder
            if folder is None:
                continue
            if folder not in stamps:
                stamps[folder] = stamp(folder)
            if stamps[folder] != pool.source_stamp:
                log.info("%s changed: restarting the workers of %s", folder, pool.key[0])
                pool.recycle(stamps[folder])
                recycled += 1
        return recycled

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watcher must outlive one bad poll
                log.exception("hot reload poll failed")
