"""Hostile input on the real broker with a real worker (issue 11 item 8): an event dated far ahead of
the clock and a poison record are dead-lettered, the worker keeps running, and every other decision
is exactly what ``leadstream replay`` decides on the history without them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from infra import stack
from schemas.catalog import STREAMS
from streams import kafka_io
from streams.settings import Settings
from tests.streams.live._poison import POISON_EVENT
from tests.streams.live.fixtures import (
    INPUT_KEYS,
    WorkerProcess,
    diff,
    live_settings,
    read_decisions,
    replay_decisions,
)
from tests.streams.test_kafka_contract import _drain
from tools.workload import SITE, WorkloadConfig, generate

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[3]
# Ends months before the test runs, so every SLA clock of the workload (and its escalations) is due:
# the live ticker and replay's --until fire the same timers.
CFG = WorkloadConfig(seed=13, events=2_500, accounts=25, contacts=250, days=14, start=datetime(2026, 9, 1, tzinfo=UTC))
TOPIC_STREAM = {s.default_topic: s.name for s in STREAMS}
FIT = {
    "job_title": "Director of Marketing",
    "company_name": "Acme Poison",
    "industry": "software",
    "country": "US",
    "employee_count": 400,
}


def _line(topic: str, value: dict) -> bytes:
    return orjson.dumps({"topic": topic, "value": value})


def _visit(event_id: str, at: datetime, visitor: str, path: str) -> bytes:
    return _line(
        "web.visits", {"event_id": event_id, "occurred_at": at.isoformat(), "visitor_id": visitor, "url": SITE + path}
    )


def _form(event_id: str, at: datetime, visitor: str, email: str, form_type: str, **kw: object) -> bytes:
    value = {"event_id": event_id, "occurred_at": at.isoformat(), "visitor_id": visitor, "email": email}
    return _line("form.fills", {**value, "form_type": form_type, **kw})


def _time_of(line: bytes) -> datetime:
    return datetime.fromisoformat(orjson.loads(line)["value"]["occurred_at"])


def history(now: datetime, extra: list[bytes] | None = None) -> list[bytes]:
    """The seeded workload, ``extra`` lines merged in at their event time, then a fresh contact who
    qualifies a minute before ``now``: its P2 SLA clock runs for an hour after the test starts, so
    any clock moved ahead would breach it at once."""
    by_name = {s.name: s.default_topic for s in STREAMS}
    lines = [_line(by_name[stream], value) for stream, value in generate(CFG)]
    lines = sorted(lines + list(extra or []), key=_time_of)  # stable: the workload keeps its file order
    fresh = [
        _visit("fresh-1", now - timedelta(minutes=4), "vf-1", "/pricing"),
        _visit("fresh-2", now - timedelta(minutes=3), "vf-1", "/compare/vs-acme"),
        _visit("fresh-3", now - timedelta(minutes=2), "vf-1", "/integrations/hubspot"),
        _form(
            "fresh-4",
            now - timedelta(minutes=1),
            "vf-1",
            "fresh@acme-fresh.io",
            "content_download",
            company_domain="acme-fresh.io",
            **FIT,
        ),
    ]
    return lines + fresh


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def produce(settings: Settings, lines: list[bytes]) -> None:
    """Each line's value as JSON into its input topic, keyed as SPEC §2 says, idempotently. The record
    timestamp is the event time when that is in the past, else now (what a producer stamps)."""
    producer = kafka_io.producer(settings, **{"linger.ms": 20})
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    for n, line in enumerate(lines):
        envelope = orjson.loads(line)
        stream = TOPIC_STREAM[envelope["topic"]]
        value = envelope["value"]
        key = next((str(value[k]) for k in INPUT_KEYS[stream] if value.get(k)), None)
        ts = min(int(_time_of(line).timestamp() * 1000), now_ms)
        producer.produce(settings.topic(stream), orjson.dumps(value), key=key.encode() if key else None, timestamp=ts)
        if n % 5000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0


def _fresh_mql(decisions: dict[str, set[bytes]]) -> list[dict]:
    return [m for m in map(orjson.loads, decisions["mql"]) if m.get("email") == "fresh@acme-fresh.io"]


def test_far_future_events_are_dead_lettered_live_and_move_no_clock(
    stack_endpoints: stack.Endpoints, tmp_path: Path
) -> None:
    """A form fill dated 2099 and an unrelated account upsert dated 2099, produced in the middle of
    normal traffic: both dead-lettered as ahead of the clock; every later MQL still comes out, the
    fresh contact's SLA is not breached, and the decisions are replay's on the history without them."""
    now = datetime.now(UTC)
    clean = history(now)
    future = [
        _form("future-form", datetime(2099, 1, 1, tzinfo=UTC), "v-2099", "time@traveller.io", "demo_request", **FIT),
        _line(
            "crm.changes",
            {
                "event_id": "future-account",
                "occurred_at": "2099-01-01T00:00:00+00:00",
                "change_type": "account_upserted",
                "account_id": "acc-2099",
                "fields": {"domain": "traveller.io", "name": "Traveller", "employee_count": 400},
            },
        ),
    ]
    middle = len(clean) // 2
    hostile = clean[:middle] + future + clean[middle:]
    expected = replay_decisions(write(tmp_path / "clean.jsonl", clean), until=now)
    [fresh] = _fresh_mql(expected)
    assert expected["mql"] and expected["alerts"] and expected["sla"]
    fresh_sla = [s for s in map(orjson.loads, expected["sla"]) if s["mql_id"] == fresh["mql_id"]]
    assert [s["status"] for s in fresh_sla] == ["started"], "the fresh SLA clock is still running"

    settings = live_settings(stack_endpoints, partitions=2)
    produce(settings, hostile)
    worker = WorkerProcess(settings, tmp_path).start()
    try:
        got = read_decisions(settings, expected)
        dead = _drain(settings, "deadletter", 2, timeout=60)
        worker.check_alive()
    finally:
        code = worker.stop()
    assert not diff(expected, got), diff(expected, got) + "\n" + worker.log()[-3000:]
    assert len(dead) == 2, [d.error for _, d in dead]
    for _, letter in dead:
        assert "occurred_at" in letter.error and "ahead" in letter.error, letter.error
        assert b"2099" in letter.raw
    assert sorted(d.source_topic for _, d in dead) == sorted(
        [settings.topic("crm_changes"), settings.topic("form_fills")]
    )
    breaches = [s for s in map(orjson.loads, got["sla"]) if s["mql_id"] == fresh["mql_id"] and s["status"] != "started"]
    assert not breaches, f"a far-future event moved a clock: {breaches}"
    assert code == 0, worker.log()[-3000:]


# --- a poison record ------------------------------------------------------------------------------

WRAPPER = "import tests.streams.live._poison as p; p.install(); from leadstream.cli import main; main()"


class PoisonedWorker(WorkerProcess):
    """``leadstream worker`` with the poison patch installed, in pure Python so the patch holds."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        super().__init__(settings, log_dir, name="poisoned")
        self.env = {**self.env, "LEADSTREAM_PURE_PYTHON": "1", "PYTHONPATH": str(REPO)}

    def start(self) -> PoisonedWorker:
        self.runs += 1
        self.log_path = self.log_dir / f"{self.name}-{self.runs}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", WRAPPER, "worker"], env=self.env, stdout=log, stderr=log, cwd=REPO
            )
        return self


def _poison_lines() -> tuple[list[bytes], bytes]:
    """A fit contact mid-history: a pricing visit, the poison demo request, then a pricing request
    and a visit that decide as if the poison had never been there."""
    t = CFG.start + timedelta(days=7, hours=3)
    email = "pat@acme-poison.io"
    kw = {**FIT, "company_domain": "acme-poison.io"}
    around = [
        _visit("before-poison", t, "vp-1", "/pricing"),
        _form("after-poison", t + timedelta(hours=2), "vp-1", email, "pricing_request", **kw),
        _visit("after-poison-visit", t + timedelta(hours=3), "vp-1", "/compare/vs-acme"),
    ]
    poison = _form(POISON_EVENT, t + timedelta(hours=1), "vp-1", email, "demo_request", **kw)
    return around, poison


def test_a_poison_record_is_dead_lettered_and_the_worker_keeps_deciding(
    stack_endpoints: stack.Endpoints, tmp_path: Path
) -> None:
    """An event whose decision raises after the engine started changing state: dead-lettered with
    ``decision failed``, the worker never exits (70 would be the crash), and every decision, the
    same contact's later ones included, equals replay of the history without that event. Replay
    with the same patch agrees."""
    now = datetime.now(UTC)
    around, poison = _poison_lines()
    clean = history(now, around)
    hostile = history(now, [*around, poison])
    assert len(hostile) == len(clean) + 1
    clean_path, hostile_path = write(tmp_path / "clean.jsonl", clean), write(tmp_path / "hostile.jsonl", hostile)
    expected = replay_decisions(clean_path, until=now)
    pat = [m for m in map(orjson.loads, expected["mql"]) if m.get("email") == "pat@acme-poison.io"]
    assert pat and all(r["event_id"] != POISON_EVENT for r in pat[0]["reasons"])

    # Replay with the same patch (pure Python, CLI): exits 0, one dead letter, the rest as without it.
    out = tmp_path / "patched.jsonl"
    env = {**worker_base_env(), "LEADSTREAM_PURE_PYTHON": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            WRAPPER,
            "replay",
            "--input",
            str(hostile_path),
            "--output",
            str(out),
            "--until",
            now.strftime("%Y-%m-%dT%H:%M:%S.%f%z"),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    [letter] = [r["value"] for r in records if r["topic"] == "lead.deadletter"]
    assert "decision failed: PoisonError: poisoned decision for poison-1" in letter["error"], letter["error"]
    assert letter["position"] == f"line {hostile.index(poison) + 1}"
    patched = _decisions_of(records)
    assert not diff(expected, patched), diff(expected, patched)

    settings = live_settings(stack_endpoints, partitions=2)
    produce(settings, hostile)
    worker = PoisonedWorker(settings, tmp_path).start()
    try:
        got = read_decisions(settings, expected)
        dead = _drain(settings, "deadletter", 1, timeout=60)
        worker.check_alive()
    finally:
        code = worker.stop()
    assert not diff(expected, got), diff(expected, got) + "\n" + worker.log()[-3000:]
    [(_, letter_live)] = dead
    assert "decision failed: PoisonError: poisoned decision for poison-1" in letter_live.error, letter_live.error
    assert letter_live.source_topic == settings.topic("form_fills")
    assert code == 0, f"the worker exited with {code}:\n{worker.log()[-3000:]}"


def worker_base_env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _decisions_of(records: list[dict]) -> dict[str, set[bytes]]:
    """Replay output records as the fixtures' decision sets (canonical model bytes)."""
    from collections import defaultdict

    from schemas.catalog import BY_NAME
    from tests.streams.live.fixtures import DECISIONS, canonical

    by_topic = {BY_NAME[s].default_topic: s for s in DECISIONS}
    found: dict[str, set[bytes]] = defaultdict(set)
    for record in records:
        stream = by_topic.get(record["topic"])
        if stream is not None:
            found[stream].add(canonical(BY_NAME[stream].model.model_validate(record["value"])))
    return found
