"""A record the warehouse can never store (PostgreSQL refuses NUL in text) is dead-lettered by the
runner; it must not wedge the sink in a crash-and-redeliver loop or poison the next batches."""

from __future__ import annotations

import orjson
import pytest

from schemas import models
from sinks.base import RetryPolicy
from sinks.runner import Item, deliver
from sinks.warehouse.sink import WarehouseSink


@pytest.fixture
def pg_sink(pg_dsn: str) -> WarehouseSink:
    return WarehouseSink(dsn=pg_dsn)


def test_a_record_postgres_refuses_is_dead_lettered_and_the_rest_is_written(pg_sink: WarehouseSink, decisions) -> None:
    states = [r for r in decisions if isinstance(r, models.ContactState)][:3]
    poison = states[1].model_copy(update={"contact_id": "c-nul", "email": "evil\x00@acme.io"})
    batch = [states[0], poison, states[2]]
    items = [
        Item("contact.state", f"0:{n}", orjson.dumps(r.model_dump(mode="json")), None, r) for n, r in enumerate(batch)
    ]
    dead: list[models.DeadLetter] = []
    stats = deliver(pg_sink, items, RetryPolicy(0.01, 0.05, 5), dead.append)
    assert (stats.written, stats.dead_letters) == (2, 1)
    [letter] = dead
    assert letter.position == "0:1" and letter.error.startswith("warehouse:")
    rows = pg_sink._connect().query("SELECT contact_id FROM contact_current ORDER BY contact_id")
    assert [r["contact_id"] for r in rows] == sorted([states[0].contact_id, states[2].contact_id])
