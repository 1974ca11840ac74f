"""Each field of the serving state keeps its own event-time order: records about one contact come
on different topics (contact.state, lead.sla, lead.mql) and may arrive in any order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra import stack
from schemas import models
from sinks.redis_state import RedisStateSink
from tests.sinks.builders import contact_state

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
def sink(stack_endpoints: stack.Endpoints) -> RedisStateSink:
    s = RedisStateSink(stack_endpoints.redis_url, ttl_s=600)
    s.client.delete("leadstream:contact:c-ord")
    return s


def state(minutes: int, stage: str, sla_status: str | None) -> models.ContactState:
    return contact_state("c-ord", "ord@acme.io", stage, minutes, sla_status=sla_status)


def sla(minutes: int, status: str) -> models.Sla:
    return models.Sla(
        sla_id="sla-ord",
        status=status,
        contact_id="c-ord",
        priority="P1",
        started_at=T0,
        deadline=T0 + timedelta(minutes=15),
        occurred_at=T0 + timedelta(minutes=minutes),
        escalation_level=0,
    )


def test_a_late_older_state_does_not_regress_a_newer_sla_status(sink: RedisStateSink) -> None:
    sink.write([sla(20, "breached")])
    sink.write([state(15, "mql", "started")])  # older, arriving later on another topic
    got = sink.read_contact("c-ord")
    assert got["sla_status"] == "breached", "the SLA fact at 09:20 outranks the state of 09:15"
    assert got["stage"] == "mql", "while the state's own fields still land"


def test_a_newer_state_supersedes_an_older_sla_status(sink: RedisStateSink) -> None:
    sink.write([sla(20, "breached"), state(30, "sal", "met"), sla(25, "escalated")])
    got = sink.read_contact("c-ord")
    assert (got["stage"], got["sla_status"]) == ("sal", "met")
