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
    routed: int = 0  # events the identity tasks of this worker sent on
    decided: int = 0
    mqls: int = 0
    sla_breaches: int = 0
    decision_failures: int = 0  # events whose decision raised: dead-lettered, state as before them
    too_old: int = 0  # older than the dedupe horizon behind the partition's newest event: no effect
    repeats: int = 0  # event ids already decided: no effect
    outputs: int = 0
    started: float = field(default_factory=time.monotonic)
    _last: tuple[float, int] | None = None

    def count(self, record: models.Record) -> None:
        self.outputs += 1
        if isinstance(record, models.Mql):
            self.mqls += 1
        elif isinstance(record, models.Sla) and record.status == "breached":
            self.sla_breaches += 1
        elif isinstance(record, models.DeadLetter):  # after ingest, only a failed decision is one
            self.dead_letters += 1
            self.decision_failures += 1

    def line(self, **extra: Any) -> dict[str, Any]:
        now = time.monotonic()
        since, decided_then = self._last or (self.started, 0)
        rate = (self.decided - decided_then) / max(now - since, 1e-9)
        self._last = (now, self.decided)
        return {
            "event": "stats",
            "at_ms": int(time.time() * 1000),  # wall clock: a reader can tell a fresh line from an old one
            "consumed": self.consumed,
            "routed": self.routed,
            "decided": self.decided,
            "events_per_s": round(rate, 1),
            "mqls": self.mqls,
            "sla_breaches": self.sla_breaches,
            "dead_letters": self.dead_letters,
            "decision_failures": self.decision_failures,
            "too_old": self.too_old,
            "repeats": self.repeats,
            "outputs": self.outputs,
            **extra,
        }
