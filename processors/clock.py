"""Event time as integer epoch milliseconds: cheap to compare and to hash, exact to the ms."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.policy import EARLIEST as _EPOCH  # the Unix epoch, the edge's earliest time
from schemas.policy import to_ms  # one exact definition, shared with the edge

__all__ = ["DAY_MS", "HOUR_MS", "MINUTE_MS", "day_of", "from_ms", "to_ms"]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def from_ms(ms: int) -> datetime:
    """Exact, in integers (``fromtimestamp`` goes through float seconds)."""
    return _EPOCH + timedelta(milliseconds=ms)


def day_of(ms: int) -> int:
    """The UTC day number, used for per-signal-per-day caps."""
    return ms // DAY_MS
