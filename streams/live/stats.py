"""Counters for the worker's periodic stats line (no emails, no payloads: counts only)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from schemas import models
from schemas.redaction import redact

__all__ = ["Stats", "redact"]


@dataclass
class Stats:
    consumed: int = 0
    dead_letters: int = 0
    decided: int = 0
    mqls: int = 0
    sla_breaches: int = 0
    outputs: int = 0
    started: float = field(default_factory=time.monotonic)
    _last: tuple[float, int] | None = None

    def count(self, record: models.Record) -> None:
        self.outputs += 1
        if isinstance(record, models.Mql):
            self.mqls += 1
        elif isinstance(record, models.Sla) and record.status == "breached":
            self.sla_breaches += 1

    def line(self, **extra: Any) -> dict[str, Any]:
        now = time.monotonic()
        since, decided_then = self._last or (self.started, 0)
        rate = (self.decided - decided_then) / max(now - since, 1e-9)
        self._last = (now, self.decided)
        return {
            "event": "stats",
            "at_ms": int(time.time() * 1000),  # wall clock: a reader can tell a fresh line from an old one
            "consumed": self.consumed,
            "decided": self.decided,
            "events_per_s": round(rate, 1),
            "mqls": self.mqls,
            "sla_breaches": self.sla_breaches,
            "dead_letters": self.dead_letters,
            "outputs": self.outputs,
            **extra,
        }
