"""One task of the identity stage: partition i of ``<app>-ingest``, which holds input partition i
of every input topic. Its events are put in event-time order (as replay reads them) before the
router (``streams.live.routing``) decides their engine key, so what the router remembers at
first sight is what replay's engine sees first; its state lives in the ``identity`` table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.live import durable
from streams.live.envelope import IngestBatch, Progress, Routed
from streams.live.merge import EventTimeMerge
from streams.live.routing import Router, roles
from streams.live.tracking import ChangedKeys

FORGET_EVERY = 20_000  # routed events between sweeps of idle anonymous visitors


@dataclass
class IdentityTask:
    partition: int
    router: Router
    state: ChangedKeys
    log: durable.BatchLog
    merge: EventTimeMerge
    idle_ms: int  # anonymous visitors idle this long (event time) are forgotten
    routed: int = field(default=0)

    @classmethod
    def restore(
        cls,
        partition: int,
        table: durable.Changelog,
        personal_domains: frozenset[str],
        sources: frozenset[str],
        skew_ms: int,
        idle_ms: int,
    ) -> IdentityTask:
        prefix = f"{partition}|".encode()
        restored = durable.restore(table.data, prefix)
        state = ChangedKeys({k: orjson.loads(v) for k, v in durable.strip(restored.values, prefix)})
        state.take_changed()
        return cls(
            partition,
            Router(state, personal_domains),
            state,
            durable.BatchLog(table, partition, prefix, restored),
            EventTimeMerge(sources, skew_ms),
            idle_ms,
        )

    def receive(self, batch: IngestBatch, token: Any) -> int:
        for source, (newest, empty_at) in batch.progress.items():
            self.merge.report(source, newest, empty_at)
        for event in batch.events:
            self.merge.add(event, token, batch.read_ms)  # type: ignore[arg-type]
        return len(batch.events)

    def release(self, partitions: int) -> tuple[dict[int, list[Routed]], list[Any]]:
        """The events the merge lets go, routed: engine partition → events with their role there;
        and the tokens of the events released."""
        out: dict[int, list[Routed]] = {}
        tokens: list[Any] = []
        for event, token in self.merge.release():
            tokens.append(token)
            route = self.router.route(event)  # type: ignore[arg-type]
            for p, role in roles(route, partitions).items():
                out.setdefault(p, []).extend((*e, role) for e in route.events)
            self.routed += 1
            if self.routed % FORGET_EVERY == 0:
                self.router.forget_idle(event[0], self.idle_ms)
        return out, tokens

    def progress(self) -> Progress:
        """How far this task's sources have got, as the engine partitions may rely on it."""
        return self.merge.passed()

    def persist(self) -> None:
        """What routing changed, as one atomic batch (``streams.live.durable``)."""
        changed = [(k, dict.get(self.state, k)) for k in self.state.take_changed()]
        prefix = f"{self.partition}|"
        self.log.write(((prefix + k).encode(), orjson.dumps(v) if v is not None else None) for k, v in changed)
