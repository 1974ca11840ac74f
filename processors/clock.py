"""Event time as integer epoch milliseconds: cheap to compare and to hash, exact to the ms."""

from __future__ import annotations

from datetime import UTC, datetime

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def day_of(ms: int) -> int:
    """The UTC day number, used for per-signal-per-day caps."""
    return ms // DAY_MS
