"""The live loop on plain Kafka clients: input topics → validation → engine → output topics.

Decisions come from ``processors.engine.Engine`` exactly as in replay. Delivery is
at-least-once: offsets are committed only after the outputs of a batch are acknowledged, and
output ids are deterministic so a consumer can drop a redelivered duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from leadstream.settings import Settings
from processors.clock import to_ms
from processors.engine import Engine
from processors.rules import Rules
from schemas import models
from schemas.catalog import INPUTS
from schemas.validation import accept
from streams.kafka_io import RecordWriter, avro_serde, consumer, producer

OnRecord = Callable[[models.Record], None]


@dataclass
class PipelineStats:
    consumed: int = 0
    dead_letters: int = 0
    outputs: int = 0
    started: float = field(default_factory=time.monotonic)


class Pipeline:
    def __init__(self, settings: Settings, rules: Rules, group_id: str | None = None) -> None:
        self.settings = settings
        self.engine = Engine(rules)
        serde = avro_serde(settings)
        if serde is None:
            raise ValueError("the live pipeline needs a schema registry (LEADSTREAM_REGISTRY_URL)")
        self.serde = serde
        self.writer = RecordWriter(settings, producer(settings), serde)
        self.specs = {settings.topic(s.name): s for s in INPUTS}
        group = group_id or f"leadstream-engine-v{settings.app_version}"
        self.consumer = consumer(settings, group, self.specs)
        self.stats = PipelineStats()
        # The SLA ticker trails the wall clock by the accepted lateness, so a rep's response that
        # happened before the deadline but reaches Kafka a little later still counts as met.
        self.lateness_ms = settings.lateness_ms

    def poll_once(self, timeout: float = 0.5, on_record: OnRecord | None = None) -> int:
        """Consume up to one batch, decide, write, commit. Returns the number of input records."""
        messages = self.consumer.consume(num_messages=500, timeout=timeout)
        emitted: list[models.Record] = []
        for msg in messages:
            if msg.error():
                continue
            topic = msg.topic()
            position = f"{msg.partition()}:{msg.offset()}"
            fmt = self.settings.input_format(self.specs[topic].name)
            record = accept(self.specs[topic], topic, position, msg.value(), fmt, self.serde, msg.key())
            if isinstance(record, models.DeadLetter):
                self.stats.dead_letters += 1
                emitted.append(record)
            else:
                emitted.extend(self.engine.process(record))  # type: ignore[arg-type]
        emitted.extend(self.engine.advance(to_ms_now() - self.lateness_ms))
        emitted.extend(self.engine.drain_changes())
        for record in emitted:
            self.writer.write(record)
            if on_record:
                on_record(record)
        if messages:
            self.writer.flush()
            self.consumer.commit(asynchronous=False)
        self.stats.consumed += len(messages)
        self.stats.outputs += len(emitted)
        return len(messages)

    def close(self) -> None:
        self.writer.flush()
        self.consumer.close()


def to_ms_now() -> int:
    """The live SLA clock: wall time, so a breach fires even when no further event arrives."""
    from datetime import UTC, datetime

    return to_ms(datetime.now(UTC))
