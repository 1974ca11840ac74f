"""Dicts that remember which keys changed, so state is written to its changelog once per batch.

Faust writes a changelog record on every ``table[key] = value``; the engine mutates contact
objects in place many times per batch. The live stages keep plain dicts, note what changed,
and write each changed key once when the batch is done.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


class ChangedKeys(dict):  # type: ignore[type-arg]
    """Marks keys on assignment and deletion (values are replaced, never mutated in place)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changed: set[Any] = set()

    def __setitem__(self, key: Any, value: Any) -> None:
        self.changed.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self.changed.add(key)
        super().__delitem__(key)

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        if key in self:
            self.changed.add(key)
        return super().pop(key) if default is _MISSING else super().pop(key, default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def take_changed(self) -> set[Any]:
        changed, self.changed = self.changed, set()
        return changed


class TouchedKeys(ChangedKeys):
    """Also marks keys that are read: their objects may be mutated in place after a ``get``."""

    def __getitem__(self, key: Any) -> Any:
        self.changed.add(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        value = super().get(key, _MISSING)
        if value is _MISSING:
            return default
        self.changed.add(key)
        return value
