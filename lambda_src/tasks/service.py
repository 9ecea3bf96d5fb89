"""TaskDB: add, get and list tasks, with the tutorial's 30-second read cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from common.dynamo import Item
from common.validation import encode_cursor

from tasks.cache import TtlCache
from tasks.errors import TaskNotFound
from tasks.models import ListRequest, NewTask
from tasks.repository import TaskRepository

CACHE_TTL_S = 30.0


@dataclass(frozen=True)
class Page:
    """One page of tasks and the cursor of the next one (`None` on the last page)."""

    tasks: list[Item]
    cursor: str | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class TaskService:
    """The tutorial's TaskDB over a `TaskRepository`.

    Reads are served from `cache` for 30 seconds (the tutorial's `load_db`); this
    container's own writes clear it, so it always reads what it wrote. Writes by other
    containers show up here within 30 seconds.
    """

    repository: TaskRepository
    cache: TtlCache = field(default_factory=lambda: TtlCache(CACHE_TTL_S))
    clock: Callable[[], datetime] = field(default=_utc_now, repr=False)

    def add_task(self, task: NewTask) -> Item:
        """Store `task` with its creation time; 409 if the id exists."""
        item: Item = {
            "id": task.id,
            "name": task.name,
            "created_at": self.clock().isoformat(timespec="milliseconds"),
        }
        try:
            self.repository.add(item)
        finally:
            # Even a refused write means our cached view may be stale: drop it.
            self.cache.clear()
        return item

    def get_task(self, task_id: str) -> Item:
        """The task `task_id` (cached for 30 s), or `TaskNotFound` (never cached)."""
        key = ("get", task_id)
        cached: Item | None = self.cache.get(key)
        if cached is not None:
            return cached
        item = self.repository.get(task_id)
        if item is None:
            raise TaskNotFound(task_id)
        self.cache.put(key, item)
        return item

    def list_tasks(self, request: ListRequest) -> Page:
        """One page of tasks (each page cached for 30 s)."""
        key = ("list", request.limit, request.start_id)
        cached: Page | None = self.cache.get(key)
        if cached is not None:
            return cached
        tasks, last = self.repository.list_page(limit=request.limit, start_id=request.start_id)
        page = Page(tasks=tasks, cursor=encode_cursor({"id": last}) if last is not None else None)
        self.cache.put(key, page)
        return page
