"""The demo: demo events into the input topics, the live pipeline deciding, outputs printed.

Everything goes through the real broker and registry: web visits as JSON (as trackers send
them), forms and CRM changes as Avro, plus a handful of malformed records that must land in
``lead.deadletter`` while the valid ones around them flow on.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from rich.console import Console

from schemas import models
from schemas.catalog import BY_NAME, STREAMS, Role
from schemas.serde import ValueFormat, decode_value
from sinks.base import Sink
from streams.kafka_io import avro_serde, consumer, coordinates, producer
from streams.settings import Settings
from tools.worker_process import WorkerProcess, worker_env
from tools.workload import WorkloadConfig, generate

STARTUP_GRACE_S = 60.0
BAD_RECORDS: list[tuple[str, bytes]] = [
    ("web_visits", b'{"event_id": "bad-1", "visitor_id": "v-x", "url": "https://x.io/"}'),
    ("web_visits", b'{"event_id": "bad-2", "occurred_at": "yesterday", "visitor_id": "v", "url": "/"}'),
    (
        "web_visits",
        b'{"event_id": "bad-3", "occurred_at": "2026-01-01T00:00:00Z", "visitor_id": 42,'
        b' "url": "https://x.io/", "duration_seconds": "long"}',
    ),
    (
        "form_fills",
        b'{"event_id": "bad-4", "occurred_at": "2026-01-01T00:00:00Z", "visitor_id": "v",'
        b' "email": "a@b.io", "form_type": "webinar"}',
    ),
    ("crm_changes", b"\x00\x00\x00\x7f\xffnot avro at all"),
    ("web_visits", b"{not json"),
]


def produce_demo_events(settings: Settings, events: int, seed: int) -> int:
    """Write the demo workload (ending now) and the malformed records; returns the record count."""
    serde = avro_serde(settings)
    assert serde is not None
    prod = producer(settings)
    days = 5
    cfg = WorkloadConfig(
        seed=seed,
        events=events,
        accounts=max(20, events // 80),
        contacts=max(200, events // 8),
        start=datetime.now(UTC) - timedelta(days=days),
        days=days,
    )
    n = 0
    for stream, value in generate(cfg):
        spec = BY_NAME[stream]
        topic = settings.topic(stream)
        key = value.get("visitor_id") or value.get("contact_id") or value.get("account_id")
        if stream == "web_visits":
            payload = orjson.dumps(value)
        else:
            payload = serde.encode(topic, spec.model.model_validate(value))
        prod.produce(topic, value=payload, key=str(key).encode() if key else None)
        prod.poll(0)
        n += 1
    for stream, raw in BAD_RECORDS:
        prod.produce(settings.topic(stream), value=raw)
        n += 1
    prod.flush(30)
    return n


def _line(record: models.Record) -> str | None:
    if isinstance(record, models.Mql):
        who = record.email or record.contact_id if record.kind == "contact" else f"account {record.account_id}"
        top = ", ".join(r.signal for r in record.reasons if not r.signal.startswith("fit:"))[:70]
        extra = " FAST-TRACK" if record.fast_track else ""
        if record.committee:
            extra = f" committee {len(record.committee.contacts)} ({', '.join(record.committee.departments)})"
        return (
            f"[bold green]MQL[/] {record.priority} {record.kind:<7} {who}  fit {record.fit_score:g}"
            f" intent {record.intent_score:.1f}{extra}  [dim]{top}[/]"
        )
    if isinstance(record, models.Sla):
        colour = {"breached": "red", "escalated": "red", "met": "green", "warning": "yellow"}.get(record.status, "cyan")
        extra = f" in {record.response_seconds}s" if record.response_seconds is not None else ""
        if record.escalation_level:
            extra += f" level {record.escalation_level}"
        return (
            f"[{colour}]SLA {record.status:<9}[/] {record.priority} {record.contact_id}"
            f" deadline {record.deadline:%H:%M}{extra}"
        )
    if isinstance(record, models.Alert):
        return f"[magenta]ALERT {record.kind}[/] {record.channel}: {record.text}"
    if isinstance(record, models.DeadLetter):
        return f"[red]DEAD-LETTER[/] {record.source_topic} @{record.position}: {record.error[:110]}"
    return None


def run_demo(
    settings: Settings,
    rules_file: Path | None = None,
    events: int = 3000,
    seed: int = 11,
    idle_seconds: float = 4.0,
    console: Console | None = None,
    warehouse: Sink | None = None,
    workdir: Path = Path(".run/demo"),
) -> Counter[str]:
    """Produce, start the real ``leadstream worker`` (its own app version), print its decisions
    as they reach the output topics; they also go to ``warehouse`` when one is given."""
    console = console or Console()
    produced = produce_demo_events(settings, events, seed)
    console.print(f"produced {produced} demo records (incl. {len(BAD_RECORDS)} malformed) to the input topics")
    run = f"demo-{int(time.time())}"
    workdir.mkdir(parents=True, exist_ok=True)
    worker_settings = settings.model_copy(update={"app_version": run})
    env = worker_env(worker_settings, workdir / "faust", stats_every_s=5, rules_file=rules_file)
    worker = WorkerProcess(env, workdir / f"{run}.log").start()
    console.print(f"started leadstream worker (app version {run}, log {workdir / f'{run}.log'})")
    outputs = {settings.topic(s.name): s for s in STREAMS if s.role is not Role.input}
    watcher = consumer(settings, f"leadstream-demo-watch-{run}", outputs)
    serde = avro_serde(settings)
    assert serde is not None
    counts: Counter[str] = Counter()
    # The idle clock starts once the worker has joined its group and decided something.
    last_activity = time.monotonic() + STARTUP_GRACE_S
    try:
        while time.monotonic() - last_activity < idle_seconds:
            worker.check_alive()
            batch: list[models.Record] = []
            for msg in watcher.consume(num_messages=500, timeout=0.2):
                if msg.error():
                    continue
                topic = coordinates(msg)[0]
                spec = outputs[topic]
                datum = decode_value(msg.value(), ValueFormat.avro, spec.avro_name, serde)
                record = spec.model.model_validate(datum)
                batch.append(record)
                counts[topic] += 1
                line = _line(record)
                if line:
                    console.print(line, highlight=False)
                last_activity = time.monotonic()
            if warehouse is not None and batch:
                warehouse.write(batch)
    finally:
        code = worker.stop()
        watcher.close()
    stats = worker.stats()
    console.print(
        f"worker stopped (exit {code}): consumed {stats.get('consumed', 0)}, decided {stats.get('decided', 0)}"
    )
    console.print("[bold]demo summary[/] " + ", ".join(f"{t}: {n}" for t, n in sorted(counts.items())))
    return counts
