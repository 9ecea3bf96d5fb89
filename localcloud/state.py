"""State that survives a restart: the data directory, the control-plane snapshot, its writer.

A persisting server owns one data directory (`.local-cloud/state/` by default):

    FORMAT                 {"format": 1, ...}: a different format is refused, never half-read
    dynamodb/              DynamoDB Local's own database (`-dbPath`): every acknowledged write
    control-plane.pickle   moto's backends (stacks, functions, roles, buckets, queues, logs,
                           event source mappings)
    parts.pickle           our parts' state beside moto (table extras, stream checkpoints)
    .lock                  held (flock) while a server uses the directory

Each file is written atomically (temp file, fsync, rename) every few seconds when its
content changed, and on a clean stop. moto requests hold the shared side of a
readers-writer lock while they run; a capture holds the exclusive side, so it never sees a
half-applied request.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import fcntl
import io
import json
import logging
import os
import pickle
import shutil
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("localcloud.state")

FORMAT_VERSION = 1
FORMAT_FILE = "FORMAT"
SNAPSHOT_FILE = "control-plane.pickle"
PARTS_FILE = "parts.pickle"
ENGINE_DIR = "dynamodb"
LOCK_FILE = ".lock"
# A capture that races a writer outside the lock (logs of an invocation, a mapping's state)
# is retried this many times before the interval is skipped.
CAPTURE_ATTEMPTS = 5

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class StateError(RuntimeError):
    """The data directory cannot be used; the message says why and what to do."""


# -- pickling moto's object graph ----------------------------------------------------------
_LOCK = type(threading.Lock())
_RLOCK = type(threading.RLock())


@dataclass(frozen=True)
class CopyFactory:
    """A `defaultdict` factory rebuilt from a sample of what the original lambda returned."""

    sample: Any

    def __call__(self) -> Any:
        return copy.deepcopy(self.sample)


def _defaultdict(
    kind: type[collections.defaultdict[Any, Any]],
    factory: Callable[[], Any] | None,
    items: dict[Any, Any],
    fields: dict[str, Any],
) -> Any:
    """A `defaultdict` (or a subclass whose `__init__` takes other arguments) rebuilt."""
    rebuilt = kind.__new__(kind)
    collections.defaultdict.__init__(rebuilt, factory, items)
    if fields:
        rebuilt.__dict__.update(fields)
    return rebuilt


def _local_function(value: object) -> bool:
    qualname = getattr(value, "__qualname__", "")
    return "<lambda>" in qualname or "<locals>" in qualname


class _Pickler(pickle.Pickler):
    """Pickles locks as new locks, moto's lambda-made `defaultdict` factories by a sample
    value, and `defaultdict` subclasses without calling their `__init__`."""

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is _LOCK:
            return threading.Lock, ()
        if kind is _RLOCK:
            return threading.RLock, ()
        if kind is threading.Condition:
            return threading.Condition, ()
        if kind is threading.Event:
            return threading.Event, ()
        if kind is weakref.WeakValueDictionary:
            return weakref.WeakValueDictionary, (dict(obj),)
        if isinstance(obj, collections.defaultdict):
            factory = obj.default_factory
            if factory is not None and _local_function(factory):
                factory = CopyFactory(factory())
            elif kind is collections.defaultdict:
                return NotImplemented
            return _defaultdict, (kind, factory, dict(obj), getattr(obj, "__dict__", {}))
        if isinstance(obj, threading.Thread):
            raise pickle.PicklingError(f"a running thread ({obj.name}) is part of the state")
        return NotImplemented


def dumps(value: Any) -> bytes:
    """`value` pickled with the rules above."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


# -- moto's backends -----------------------------------------------------------------------
def _backend_dicts() -> list[Any]:
    from moto.core.base_backend import BackendDict

    return list(BackendDict._instances)  # type: ignore[misc]


def _module_backend_dict(module_name: str, backend_class: type) -> Any:
    """The backend dict of `backend_class` that its module holds now (None if none)."""
    from moto.core.base_backend import BackendDict

    module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
    for value in vars(module).values():
        if isinstance(value, BackendDict) and value.backend is backend_class:
            return value
    return None


def _live_backend_dict(module_name: str, backend_class: type) -> Any:
    found = _module_backend_dict(module_name, backend_class)
    if found is None:
        raise StateError(f"the snapshot names a moto backend that {module_name} no longer has")
    return found


def capture_moto() -> list[tuple[str, type, dict[str, Any]]]:
    """Each moto service in use: its module, backend class and accounts (one object graph).

    A backend dict its module no longer holds (one a patch replaced, as `stepfunctions.py`
    replaces moto's recording Step Functions backend by its interpreter) serves no request:
    it is left out, so that a restore finds every backend it names.
    """
    return [
        (backends.backend.__module__, backends.backend, dict(backends))
        for backends in _backend_dicts()
        if len(backends)
        and _module_backend_dict(backends.backend.__module__, backends.backend) is backends
    ]


def restore_moto(saved: list[tuple[str, type, dict[str, Any]]]) -> None:
    """Put captured accounts back into moto's module-level backend dicts."""
    from moto.core.base_backend import BackendDict

    targets = [(_live_backend_dict(module, cls), accounts) for module, cls, accounts in saved]
    for live, accounts in targets:
        live.clear()
        live.update(accounts)
        if live not in BackendDict._instances:  # type: ignore[misc]
            BackendDict._instances.append(live)  # type: ignore[misc]


# -- the readers-writer lock over moto requests ------------------------------------------
class RequestLock:
    """Many requests at once, or one capture.

    A waiting capture does not hold new requests back: a request can make a request of its
    own (a deploy invoking a function that calls back), and that one must not wait for a
    capture that waits for the first.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self.generation = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            while self._writing:
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self.generation += 1
                self._condition.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            while self._writing or self._readers:
                self._condition.wait()
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


def _long_running(environ: dict[str, Any]) -> bool:
    """A Lambda Invoke runs a function for up to its timeout; it changes no stored state."""
    path = str(environ.get("PATH_INFO", ""))
    return path.startswith("/2015-03-31/functions/") and path.endswith("/invocations")


class RequestGuard:
    """WSGI middleware: each moto request holds the shared side of the lock while it runs."""

    def __init__(self, app: WsgiApp, lock: RequestLock) -> None:
        self.app = app
        self.lock = lock

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if _long_running(environ):
            return self.app(environ, start_response)
        with self.lock.shared():
            # moto's answers are lists of bytes; reading them inside keeps the capture out.
            return list(self.app(environ, start_response))


# -- what else is captured -----------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """A part of the server with state beside moto's (table extras, stream checkpoints)."""

    name: str
    export: Callable[[], Any]
    restore: Callable[[Any], None]


# -- the data directory --------------------------------------------------------------------
class DataDir:
    """One persisting server's directory: its lock, format, engine files and snapshot."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_file: io.TextIOWrapper | None = None

    @property
    def engine_dir(self) -> Path:
        return self.path / ENGINE_DIR

    def open(self) -> None:
        """Lock the directory and check its format; create it when new."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock(self.path)
        try:
            format_file = self.path / FORMAT_FILE
            if format_file.exists():
                check_format(self.path)
            elif any(p.name != LOCK_FILE for p in self.path.iterdir()):
                raise StateError(
                    f"{self.path} holds files but no {FORMAT_FILE}: not a local cloud state "
                    "directory; `make reset` wipes it"
                )
            else:
                _write_atomically(format_file, json.dumps(format_header()).encode())
        except StateError:
            self.close()
            raise

    def _read(self, name: str) -> dict[str, Any] | None:
        path = self.path / name
        if not path.exists():
            return None
        try:
            content: dict[str, Any] = pickle.loads(path.read_bytes())
        except Exception as error:  # noqa: BLE001 - any unpickling failure means unusable
            raise StateError(
                f"{path} cannot be read ({type(error).__name__}: {error}); "
                "`make reset` wipes the state"
            ) from None
        if content.get("format") != FORMAT_VERSION:
            raise StateError(
                f"{path} is in state format {content.get('format')}; this local cloud reads "
                f"format {FORMAT_VERSION}"
            )
        return content

    def read_snapshot(self) -> dict[str, Any] | None:
        """The last snapshot, fully unpickled (so nothing is half-loaded), or None."""
        control_plane = self._read(SNAPSHOT_FILE)
        parts = self._read(PARTS_FILE)
        if control_plane is None and parts is None:
            return None
        return {
            "moto": (control_plane or {}).get("moto", []),
            "parts": (parts or {}).get("parts", {}),
        }

    def write(self, name: str, content: dict[str, Any]) -> None:
        """Pickle `content` with the format into `name`, atomically."""
        _write_atomically(self.path / name, dumps({"format": FORMAT_VERSION, **content}))

    def close(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


def _lock(directory: Path) -> io.TextIOWrapper:
    """Hold `directory`'s lock file (flock) with our pid in it; refuse if a server has it."""
    lock_file = (directory / LOCK_FILE).open("a+")
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.seek(0)
        holder = lock_file.read().strip() or "unknown"
        lock_file.close()
        raise StateError(
            f"{directory} is in use by a running local cloud (pid {holder}); stop it first, "
            "or give this one its own LOCALCLOUD_DATA_DIR"
        ) from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(str(os.getpid()))
    lock_file.flush()
    return lock_file


@contextlib.contextmanager
def _unused(directory: Path) -> Iterator[None]:
    """Hold `directory`'s lock (if it exists) so no server starts on it meanwhile."""
    if not directory.is_dir():
        yield
        return
    lock_file = _lock(directory)
    try:
        yield
    finally:
        fcntl.flock(lock_file, fcntl.LOCK_UN)
        lock_file.close()


def check_format(directory: Path) -> None:
    """Refuse a state directory written in another format (or none), with what to do."""
    format_file = directory / FORMAT_FILE
    try:
        header = json.loads(format_file.read_text())
        version = int(header["format"])
    except FileNotFoundError:
        raise StateError(f"{directory} holds no local cloud state (no {FORMAT_FILE})") from None
    except (ValueError, KeyError, TypeError):
        raise StateError(f"{format_file} is unreadable; `make reset` wipes the state") from None
    if version != FORMAT_VERSION:
        raise StateError(
            f"{directory} was written in state format {version}; this local cloud reads "
            f"format {FORMAT_VERSION}. Use the version that wrote it, or `make reset` to "
            "start empty"
        )


def format_header() -> dict[str, Any]:
    import moto

    return {"format": FORMAT_VERSION, "written_by": "localcloud", "moto": moto.__version__}


def _write_atomically(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# -- the persister -------------------------------------------------------------------------
class Persister:
    """Restores the last snapshot at start; writes a new one when something changed."""

    def __init__(self, data_dir: DataDir, interval_s: float, lock: RequestLock) -> None:
        self.data_dir = data_dir
        self.interval_s = interval_s
        self.lock = lock
        self.parts: list[Part] = []
        self.snapshots_written = 0
        self.last_error = ""
        self.last_written_at = 0.0
        self._written_generation = -1
        self._written_parts: dict[str, Any] = {}
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, part: Part) -> None:
        self.parts.append(part)

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Put a snapshot read by `DataDir.read_snapshot` back.

        The parts come first: the stream poller must know a mapping's checkpoint before
        it finds the mapping in moto.
        """
        saved_parts = snapshot.get("parts", {})
        for part in self.parts:
            if part.name in saved_parts:
                part.restore(saved_parts[part.name])
        restore_moto(snapshot["moto"])
        self._written_generation = self.lock.generation
        self._written_parts = saved_parts

    def _capture_moto(self) -> bytes:
        """moto's backends, pickled under the exclusive side of the request lock."""
        for attempt in range(CAPTURE_ATTEMPTS):
            with self.lock.exclusive():
                try:
                    # Pickle inside the lock: the object graph must not change meanwhile.
                    return dumps({"format": FORMAT_VERSION, "moto": capture_moto()})
                except RuntimeError as error:  # a dict changed by an unguarded writer
                    if attempt == CAPTURE_ATTEMPTS - 1:
                        raise
                    log.debug("capture raced a writer (%s); retrying", error)
            time.sleep(0.01)
        raise AssertionError("unreachable")

    def write_if_changed(self, *, force: bool = False) -> bool:
        """Write what changed since the last write; whether anything was written."""
        with self._write_lock:
            wrote = False
            generation = self.lock.generation
            if force or generation != self._written_generation:
                _write_atomically(self.data_dir.path / SNAPSHOT_FILE, self._capture_moto())
                self._written_generation = generation
                wrote = True
            parts = {part.name: part.export() for part in self.parts}
            if force or parts != self._written_parts:
                self.data_dir.write(PARTS_FILE, {"parts": parts})
                self._written_parts = parts
                wrote = True
            if wrote:
                self.snapshots_written += 1
                self.last_written_at = time.time()
            return wrote

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.write_if_changed()
                self.last_error = ""
            except Exception as error:  # noqa: BLE001 - keep serving; say so in health
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception("state snapshot failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="state-snapshots", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the periodic writer and write the final snapshot."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.write_if_changed(force=True)

    def counters(self) -> dict[str, Any]:
        return {
            "dir": str(self.data_dir.path),
            "snapshots_written": self.snapshots_written,
            "last_written_at": self.last_written_at,
            "interval_s": self.interval_s,
            "last_error": self.last_error,
        }


# -- named snapshots -----------------------------------------------------------------------
def check_snapshot_name(name: str) -> str:
    """A snapshot name is a plain file name: letters, digits, `.`, `_` and `-`."""
    if (
        not name
        or len(name) > 100
        or name.startswith(".")
        or any(not (c.isalnum() or c in "._-") for c in name)
    ):
        raise StateError(
            f"snapshot name {name!r} must be 1-100 letters, digits, '.', '_' or '-', "
            "not starting with '.'"
        )
    return name


def copy_state(source: Path, target: Path) -> None:
    """Copy a data directory no server uses (all but its lock) to a new directory."""
    check_format(source)
    if target.exists():
        raise StateError(f"{target} already exists")
    partial = target.with_name(f".{target.name}.partial")
    with _unused(source):
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(source, partial, ignore=shutil.ignore_patterns(LOCK_FILE, ".*.tmp"))
        os.replace(partial, target)


def replace_state(source: Path, data_dir: Path) -> None:
    """Make `data_dir` a copy of `source` (a snapshot); the old state goes only after."""
    check_format(source)
    incoming = data_dir.with_name(f".{data_dir.name}.incoming")
    outgoing = data_dir.with_name(f".{data_dir.name}.outgoing")
    with _unused(data_dir):
        for leftover in (incoming, outgoing):
            shutil.rmtree(leftover, ignore_errors=True)
        shutil.copytree(source, incoming, ignore=shutil.ignore_patterns(LOCK_FILE, ".*.tmp"))
        if data_dir.exists():
            os.replace(data_dir, outgoing)
        os.replace(incoming, data_dir)
    shutil.rmtree(outgoing, ignore_errors=True)


def wipe(data_dir: Path) -> None:
    """Remove a data directory no server uses."""
    with _unused(data_dir):
        graveyard = data_dir.with_name(f".{data_dir.name}.wiped")
        shutil.rmtree(graveyard, ignore_errors=True)
        if data_dir.exists():
            os.replace(data_dir, graveyard)
    shutil.rmtree(graveyard, ignore_errors=True)
