"""The runner's delivery step without Kafka: retries, dead letters, and isolating a refused record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pytest

from schemas import models
from schemas.catalog import BY_NAME
from sinks.base import ConfigurationError, PermanentError, RetryableError, RetryPolicy
from sinks.crm.hubspot import HubSpotAdapter
from sinks.crm.sink import CrmSink
from sinks.runner import Item, Stopped, decode, deliver
from tests.sinks.builders import contact_state
from tests.sinks.servers import FakeHubSpot, serve

FAST = RetryPolicy(initial_s=0.001, max_backoff_s=0.01, max_elapsed_s=10)
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def alert(i: int) -> models.Alert:
    return models.Alert(alert_id=f"a{i}", kind="expansion", text=f"alert {i}", dedupe_key=f"k{i}", occurred_at=T0)


def item(record: models.Record, offset: int, topic: str = "lead.alerts") -> Item:
    raw = orjson.dumps(record.model_dump(mode="json"))
    return Item(topic, f"0:{offset}", raw, None, record)


class TableSink:
    """Transactional and idempotent like the real sinks: a refused record fails its whole batch."""

    name = "table"

    def __init__(self, refuse: Sequence[str] = (), outages: int = 0) -> None:
        self.refuse, self.outages = set(refuse), outages
        self.rows: dict[str, models.Alert] = {}
        self.calls = 0
        self.applied: Counter[str] = Counter()

    def write(self, batch: Sequence[models.Record]) -> None:
        self.calls += 1
        if self.outages:
            self.outages -= 1
            raise RetryableError("target down")
        bad = [r.alert_id for r in batch if r.alert_id in self.refuse]  # type: ignore[attr-defined]
        if bad:
            raise PermanentError(f"refused {bad}")
        for r in batch:
            if r.alert_id not in self.rows:  # type: ignore[attr-defined]
                self.rows[r.alert_id] = r  # type: ignore[attr-defined]
                self.applied[r.alert_id] += 1  # type: ignore[attr-defined]


def test_a_batch_is_written_once_after_an_outage() -> None:
    sink, dead = TableSink(outages=3), []
    stats = deliver(sink, [item(alert(i), i) for i in range(5)], FAST, dead.append)
    assert (stats.consumed, stats.written, stats.dead_letters) == (5, 5, 0)
    assert sink.calls == 4 and set(sink.applied.values()) == {1} and dead == []


def test_an_undecodable_value_is_dead_lettered_with_its_topic_and_position() -> None:
    bad = decode(BY_NAME["alerts"], "lead.alerts", "1:42", b"\x00\x00garbage", b"k", None)
    sink, dead = TableSink(), []
    stats = deliver(sink, [item(alert(1), 41), bad, item(alert(2), 43)], FAST, dead.append)
    assert stats.written == 2 and stats.dead_letters == 1 and set(sink.rows) == {"a1", "a2"}
    [letter] = dead
    assert (letter.source_topic, letter.position, letter.raw, letter.key) == ("lead.alerts", "1:42", bad.raw, b"k")


def test_a_refused_record_is_isolated_and_only_it_is_dead_lettered() -> None:
    sink, dead = TableSink(refuse=["a3"]), []
    items = [item(alert(i), 100 + i) for i in range(6)]
    stats = deliver(sink, items, FAST, dead.append)
    assert set(sink.rows) == {"a0", "a1", "a2", "a4", "a5"} and set(sink.applied.values()) == {1}
    assert (stats.written, stats.dead_letters) == (5, 1)
    [letter] = dead
    assert letter.position == "0:103" and letter.source_topic == "lead.alerts"
    assert letter.error.startswith("table: refused") and orjson.loads(letter.raw)["alert_id"] == "a3"


def test_stopping_during_an_outage_leaves_the_batch_uncommitted() -> None:
    sink, dead = TableSink(outages=1_000), []
    stop = {"after": 3}

    def should_stop() -> bool:
        stop["after"] -= 1
        return stop["after"] < 0

    with pytest.raises(Stopped):
        deliver(sink, [item(alert(1), 1)], RetryPolicy(0.001, 0.001, None), dead.append, should_stop=should_stop)
    assert sink.rows == {} and dead == []


def contact(i: int, email: str | None = None) -> models.ContactState:
    return contact_state(f"c-{i}", email or f"p{i}@acme.io")


def test_crm_400_for_one_contact_dead_letters_that_record_and_writes_the_rest_once() -> None:
    """Over real HTTP: the fake HubSpot refuses a whole batch for one malformed email (like HubSpot)."""
    api, dead = FakeHubSpot(), []
    with serve(api) as url:
        sink = CrmSink(HubSpotAdapter(url, "test-token", timeout_s=5), FAST)
        records = [contact(i) for i in range(4)] + [contact(9, email="not-an-email")]
        stats = deliver(sink, [item(r, n, "contact.state") for n, r in enumerate(records)], FAST, dead.append)
    assert (stats.written, stats.dead_letters) == (4, 1)
    [letter] = dead
    assert letter.position == "0:4" and letter.source_topic == "contact.state" and "400" in letter.error
    assert set(api.contacts) == {f"p{i}@acme.io" for i in range(4)}
    assert set(api.writes.values()) == {1}, "isolating the bad record re-sent nothing that had landed"


def test_rejected_credentials_stop_the_sink_and_dead_letter_nothing() -> None:
    """A bad token fails every record alike: stopping (uncommitted) loses nothing, dead-lettering
    the whole stream would."""
    api, dead = FakeHubSpot(token="the-real-token"), []
    with serve(api) as url:
        sink = CrmSink(HubSpotAdapter(url, "a-revoked-token", timeout_s=5), FAST)
        with pytest.raises(ConfigurationError, match="LEADSTREAM_CRM_TOKEN"):
            deliver(sink, [item(contact(i), i, "contact.state") for i in range(3)], FAST, dead.append)
    assert dead == [] and api.contacts == {} and api.requests == 1
