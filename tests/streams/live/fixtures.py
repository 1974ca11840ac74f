"""Helpers for the live-runtime tests: real workers as subprocesses, histories produced through
the broker, decisions read back and compared with ``leadstream replay`` on the same file."""

from __future__ import annotations

import io
import signal
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import orjson
from confluent_kafka import Consumer, TopicPartition

from infra import stack
from processors.rules import load_rules
from schemas.catalog import BY_NAME, STREAMS
from schemas.serde import ValueFormat, decode_value
from streams import kafka_io
from streams.kafka_io import avro_serde
from streams.replay import replay
from streams.settings import Settings
from tools import worker_process
from tools.worker_process import run_settings, worker_env

DECISIONS = ("mql", "sla", "lifecycle", "alerts")
Decisions = dict[str, set[bytes]]
INPUT_KEYS = {"web_visits": ("visitor_id",), "form_fills": ("visitor_id",), "crm_changes": ("contact_id", "account_id")}


def live_settings(endpoints: stack.Endpoints, partitions: int = 4) -> Settings:
    """Fresh topics (``partitions`` each) and a fresh app version: nothing shared with other tests."""
    base = Settings(bootstrap_servers=endpoints.bootstrap_servers, registry_url=endpoints.registry_url)
    return run_settings(base, f"live{uuid.uuid4().hex[:8]}", partitions)


# The SLA ticker trails the wall clock by more than a test history's age, so it fires nothing that
# replay (without --until) would not: the comparison is exact whenever the inputs go quiet.
LATENESS_BEYOND_HISTORY_MS = 200 * 86_400_000


class WorkerProcess(worker_process.WorkerProcess):
    """``leadstream worker`` started (and killed) as often as a test needs, one log file per run."""

    def __init__(self, settings: Settings, log_dir: Path, name: str = "worker", lateness_ms: int | None = None) -> None:
        extra: dict[str, object] = {"stats_every_s": 1}
        if lateness_ms is not None:
            extra["lateness_ms"] = lateness_ms
        super().__init__(worker_env(settings, log_dir / f"{name}-faust", **extra), log_dir / f"{name}-0.log")
        self.log_dir = log_dir
        self.name = name
        self.runs = 0

    def start(self) -> WorkerProcess:
        self.runs += 1
        self.log_path = self.log_dir / f"{self.name}-{self.runs}.log"
        super().start()
        return self

    def kill(self) -> None:
        """``kill -9``: no shutdown hooks, no final commit."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob(f"{self.name}-*.log")))

    def wait_for(self, ready: Callable[[dict], bool], timeout: float = 120) -> dict:
        """Poll the stats line until ``ready`` says yes (the worker is up and doing what we want)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log()[-3000:]
            stats = self.stats()
            if stats and ready(stats):
                return stats
            time.sleep(0.2)
        raise AssertionError(f"worker never got there; last stats {self.stats()}\n{self.log()[-3000:]}")


def produce_history(settings: Settings, path: Path, start: int = 0, stop: int | None = None) -> int:
    """Lines ``[start, stop)`` of a JSONL history into the input topics, as JSON, keyed as SPEC §2 says.

    Idempotent, as the runtime expects of its producers: a plain producer retrying into a fresh
    topic wrote a partition's records out of order (Sep 15 before Sep 1), which the live run
    rightly treats as late events and replay does not see at all."""
    producer = kafka_io.producer(settings, **{"linger.ms": 20})
    n = 0
    with path.open("rb") as fh:
        for i, line in enumerate(fh):
            if i < start or (stop is not None and i >= stop):
                continue
            envelope = orjson.loads(line)
            stream = next(s.name for s in STREAMS if s.default_topic == envelope["topic"])
            value = envelope["value"]
            key = next((str(value[k]) for k in INPUT_KEYS[stream] if value.get(k)), None)
            ts = int(datetime.fromisoformat(value["occurred_at"]).timestamp() * 1000)
            producer.produce(
                settings.topic(stream), orjson.dumps(value), key=key.encode() if key else None, timestamp=ts
            )
            n += 1
            if n % 5000 == 0:
                producer.poll(0)
    assert producer.flush(60) == 0
    return n


def canonical(record: object) -> bytes:
    return orjson.dumps(record.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)  # type: ignore[attr-defined]


def replay_decisions(path: Path, until: datetime | None) -> Decisions:
    out = io.BytesIO()
    replay(path, out, load_rules(), until=until)
    found: Decisions = defaultdict(set)
    by_topic = {BY_NAME[s].default_topic: s for s in DECISIONS}
    for line in out.getvalue().splitlines():
        envelope = orjson.loads(line)
        stream = by_topic.get(envelope["topic"])
        if stream is not None:
            model = BY_NAME[stream].model.model_validate(envelope["value"])
            found[stream].add(canonical(model))
    return found


def read_decisions(settings: Settings, expected: Decisions, timeout: float = 240, quiet_s: float = 5) -> Decisions:
    """Everything on the decision topics: once each expected record has shown up, read on until
    ``quiet_s`` passes with nothing new (so extra or duplicate decisions are caught too)."""
    serde = avro_serde(settings)
    consumer = Consumer(
        settings.kafka_config(**{"group.id": f"reader-{uuid.uuid4().hex}", "enable.auto.commit": False})
    )
    names = {settings.topic(s): s for s in DECISIONS}
    meta = consumer.list_topics(timeout=30)
    consumer.assign([TopicPartition(t, p, 0) for t in names for p in meta.topics[t].partitions])
    found: Decisions = defaultdict(set)
    ids: dict[str, dict[str, bytes]] = defaultdict(dict)
    deadline = time.monotonic() + timeout
    last_new = time.monotonic()
    try:
        while time.monotonic() < deadline:
            messages = consumer.consume(500, timeout=0.5)
            for msg in messages:
                if msg.error():
                    continue
                stream = names[msg.topic()]
                spec = BY_NAME[stream]
                model = spec.model.model_validate(decode_value(msg.value(), ValueFormat.avro, spec.avro_name, serde))
                record = canonical(model)
                if record not in found[stream]:
                    found[stream].add(record)
                    last_new = time.monotonic()
                    ident = _ident(stream, model)
                    # A redelivered decision repeats byte for byte; two versions of one id would be a bug.
                    assert ids[stream].setdefault(ident, record) == record, f"two versions of {stream} {ident}"
            done = all(expected[s] <= found[s] for s in DECISIONS)
            if done and time.monotonic() - last_new >= quiet_s:
                break
    finally:
        consumer.close()
    return found


def _ident(stream: str, model: object) -> str:
    field = {"mql": "mql_id", "sla": "sla_id", "alerts": "dedupe_key"}.get(stream)
    if stream == "sla":
        return f"{model.sla_id}:{model.status}:{model.escalation_level}"  # type: ignore[attr-defined]
    if field is None:
        return canonical(model).decode()
    return str(getattr(model, field))


def diff(expected: Decisions, got: Decisions) -> str:
    lines = []
    for stream in DECISIONS:
        missing, extra = expected[stream] - got[stream], got[stream] - expected[stream]
        if missing or extra:
            lines.append(f"{stream}: {len(missing)} missing, {len(extra)} extra")
            lines += [f"  - {m.decode()[:300]}" for m in sorted(missing)[:3]]
            lines += [f"  + {e.decode()[:300]}" for e in sorted(extra)[:3]]
    return "\n".join(lines)
