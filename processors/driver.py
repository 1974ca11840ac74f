"""The one run loop over the engine: events in, outputs out, a failing decision undone.

Replay, backtest, the benchmarks and each live partition feed their events through a
``Driver``, and the driver is what empties the engine's change tracking: a caller that publishes
the compacted state topics ``drain``s it once per batch (live), one that does not calls
``discard_changes`` after every event (replay, backtest), so it never grows with the history.

Its other duty is the last line of defence: when deciding an event raises, the event is reported
as a ``Failure`` (the caller dead-letters it) and the engine is put back exactly as it was before
that event, by rebuilding it from the caller's checkpoint and re-deciding what came since (the
engine is deterministic, so this gives the same state). A poison record therefore costs one dead
letter and never a crash loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from processors.engine import Engine, Output
from schemas.models import InputEvent

TimedEvent = tuple[int, InputEvent]


class Checkpoint(Protocol):
    """Where a driver's engine can be rebuilt from."""

    def rebuild(self) -> Engine:
        """A fresh engine with the state as at the checkpoint."""
        ...

    def events_since(self, count: int) -> Iterable[TimedEvent]:
        """The first ``count`` events fed since the checkpoint, in the order they were fed."""
        ...


@dataclass(frozen=True)
class Failure:
    """An event whose decision raised; the engine's state is as if it had never come."""

    event: InputEvent
    at_ms: int
    error: str

    @property
    def reason(self) -> str:
        return f"decision failed: {self.error}"


class Driver:
    def __init__(self, engine: Engine, checkpoint: Checkpoint) -> None:
        self.engine = engine
        self.checkpoint = checkpoint
        self.fed = 0  # events fed since the checkpoint, failures included
        self.failures = 0
        self._poison: set[str] = set()

    def feed(self, event: InputEvent, at_ms: int) -> list[Output] | Failure:
        """Decide one event; a decision that raises is undone and returned as a ``Failure``."""
        try:
            out = self.engine.process(event, at_ms)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, this event must not stop the rest
            self._undo()
            self._poison.add(event.event_id)
            self.fed += 1
            self.failures += 1
            return Failure(event, at_ms, f"{type(exc).__name__}: {exc}")
        self.fed += 1
        return out

    def advance(self, now_ms: int) -> list[Output]:
        """Move the clock on (timers fire); if that raises, the clock stays where it was."""
        try:
            return self.engine.advance(now_ms)
        except Exception:  # noqa: BLE001 - a timer that cannot fire must not stop the partition
            self._undo()
            self.failures += 1
            return []

    def drain(self) -> list[Output]:
        """State records of what changed since the last drain (the compacted state topics)."""
        return self.engine.drain_changes()

    def discard_changes(self) -> None:
        """Forget what changed since the last drain: for a caller that publishes no state records
        (replay, backtest), after every event, so the engine's change sets stay bounded."""
        self.engine.discard_changes()

    def rebase(self) -> None:
        """The caller has made the current state its checkpoint (live: after a batch is stored)."""
        self.fed = 0

    def _undo(self) -> None:
        old = self.engine
        engine = self.checkpoint.rebuild()
        poison = self._poison
        for at, event in self.checkpoint.events_since(self.fed):
            if event.event_id not in poison:
                engine.process(event, at)
        engine.repeats, engine.too_old = old.repeats, old.too_old
        self.engine = engine
