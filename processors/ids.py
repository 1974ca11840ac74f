"""Deterministic output ids: the same input gives the same id in live, replay and backtest."""

from __future__ import annotations

from hashlib import blake2b


def stable_id(prefix: str, *parts: object) -> str:
    digest = blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=10).hexdigest()
    return f"{prefix}-{digest}"
