"""A small registry of reversible attribute overrides on moto classes.

Every extension of moto in this package is one named `Patch`: the object, the attribute and
the replacement. Installing records the original so tests can run moto with and without an
override, and so a test can prove that moto still needs it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass
class Patch:
    """Replace `owner.attribute` with `replacement` while installed."""

    name: str
    owner: Any
    attribute: str
    replacement: Any
    _original: Any = field(default=_MISSING, repr=False)
    # The attribute was inherited, not defined on `owner`: uninstall deletes ours.
    _inherited: bool = field(default=False, repr=False)

    @property
    def installed(self) -> bool:
        """Whether the replacement is in place."""
        return self._original is not _MISSING

    def install(self) -> None:
        """Put the replacement in place (idempotent)."""
        if self.installed:
            return
        own = vars(self.owner).get(self.attribute, _MISSING)
        if own is _MISSING:
            if not hasattr(self.owner, self.attribute):
                raise AttributeError(f"{self.owner!r} has no attribute {self.attribute!r}")
            self._inherited = True
            own = getattr(self.owner, self.attribute)
        self._original = own
        setattr(self.owner, self.attribute, self.replacement)

    def uninstall(self) -> None:
        """Restore moto's original attribute (idempotent)."""
        if not self.installed:
            return
        if self._inherited:
            delattr(self.owner, self.attribute)
        else:
            setattr(self.owner, self.attribute, self._original)
        self._original = _MISSING
        self._inherited = False

    @property
    def original(self) -> Any:
        """moto's own attribute, whether or not the patch is installed."""
        if self.installed:
            return self._original
        return getattr(self.owner, self.attribute)


class PatchSet:
    """A named group of patches installed and removed together."""

    def __init__(self, name: str, patches: list[Patch]) -> None:
        self.name = name
        self.patches = patches
        self._lock = threading.Lock()

    def install(self) -> None:
        """Install every patch of the group."""
        with self._lock:
            for patch in self.patches:
                patch.install()

    def uninstall(self) -> None:
        """Restore moto's originals."""
        with self._lock:
            for patch in reversed(self.patches):
                patch.uninstall()

    @property
    def installed(self) -> bool:
        """Whether every patch of the group is in place."""
        return all(patch.installed for patch in self.patches)

    def names(self) -> list[str]:
        """The patch names, for the health endpoint and logs."""
        return [patch.name for patch in self.patches]


@contextmanager
def without(patch_set: PatchSet) -> Iterator[None]:
    """Run a block with moto's original behaviour, then restore the previous state."""
    was_installed = patch_set.installed
    patch_set.uninstall()
    try:
        yield
    finally:
        if was_installed:
            patch_set.install()
