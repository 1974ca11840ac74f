"""A bounded, derived cache on a rules object: computed on first use, forgotten at a size limit."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_BYTES = 8 * 1024 * 1024  # per memo: key bytes plus ENTRY_BYTES per entry
MAX_KEY_BYTES = 4 * 1024  # a longer key is computed every time, never stored
# What a stored entry costs besides its key's characters: the key object's header, its dict slot
# (hash, key, value; the table keeps spare slots) and a small value (a tuple or a shared object).
ENTRY_BYTES = 200


def key_bytes(key: object) -> int:
    """The characters a key brings (str, or a tuple's str parts); other parts count as overhead."""
    if isinstance(key, str):
        return len(key)
    if isinstance(key, tuple):
        return sum(len(part) for part in key if isinstance(part, str))
    return 0


class BoundedMemo(dict[K, V], Generic[K, V]):
    """``memo[key]`` is a plain dict lookup when cached, else ``compute(key)``, stored; the memo
    starts afresh at ``limit`` entries or ``max_bytes`` of keys, so its memory is bounded whatever
    the input brings (the count alone let 2,000 URLs of 100 KB hold 190 MiB)."""

    def __init__(
        self,
        compute: Callable[[K], V],
        limit: int,
        max_bytes: int = MAX_BYTES,
        max_key_bytes: int = MAX_KEY_BYTES,
    ) -> None:
        super().__init__()
        self.compute = compute
        self.limit = limit
        self.max_bytes = max_bytes
        self.max_key_bytes = max_key_bytes
        self.bytes = 0  # key bytes + ENTRY_BYTES per entry held now

    def __missing__(self, key: K) -> V:
        size = key_bytes(key)
        if size > self.max_key_bytes:
            return self.compute(key)  # rare and hostile: not worth the memory it would pin
        size += ENTRY_BYTES
        if len(self) >= self.limit or self.bytes + size > self.max_bytes:
            self.clear()
        value = self[key] = self.compute(key)
        self.bytes += size
        return value

    def clear(self) -> None:
        super().clear()
        self.bytes = 0
