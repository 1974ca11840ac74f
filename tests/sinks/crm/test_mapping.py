"""Records → CRM properties: what a rep sees on the contact, ordered per property by event time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import models
from sinks.base import RetryPolicy
from sinks.crm.hubspot import HubSpotAdapter
from sinks.crm.mapping import updates_for
from sinks.crm.sink import CrmSink
from tests.sinks.builders import contact_state
from tests.sinks.servers import FakeHubSpot, serve

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def state(stage: str, minutes: int, score: float = 70.0) -> models.ContactState:
    return contact_state(
        "c-1", "jane@acme.io", stage, minutes, intent=score - 40, last_mql_at=T0 if stage != "lead" else None
    )


def mql(minutes: int = 0) -> models.Mql:
    at = T0 + timedelta(minutes=minutes)
    reason = [
        models.Reason(signal="fit:industry", points=15, event_id="e0", at=at),
        models.Reason(signal="form:demo_request", points=30, event_id="e1", at=at),
        models.Reason(signal="visit:pricing", points=10, event_id="e2", at=at),
        models.Reason(signal="visit:case_study", points=5, event_id="e3", at=at),
        models.Reason(signal="visit:integrations", points=4, event_id="e4", at=at),
    ]
    return models.Mql(
        mql_id="m-1",
        kind="contact",
        occurred_at=at,
        contact_id="c-1",
        email="jane@acme.io",
        priority="P1",
        fast_track=True,
        fit_score=40,
        intent_score=49,
        total_score=89,
        reasons=reason,
        thresholds=models.Thresholds(fit=30, intent=25, window_days=30),
        rules_version="v1",
    )


def test_an_mql_maps_to_its_time_priority_and_top_three_intent_signals() -> None:
    [update] = updates_for([mql()])
    assert update.email == "jane@acme.io"
    assert update.properties == {
        "leadstream_mql_at": T0.isoformat(),
        "leadstream_mql_priority": "P1",
        "leadstream_mql_reason": "form:demo_request (30), visit:pricing (10), visit:case_study (5)",
    }


def test_within_a_batch_the_newest_value_of_each_property_wins_whatever_the_order() -> None:
    [update] = updates_for([state("sql", 20, score=95), mql(), state("mql", 5, score=89)])
    props = update.properties
    assert props["leadstream_stage"] == "sql" and props["leadstream_score"] == "95.0"
    assert props["lifecyclestage"] == "salesqualifiedlead" and props["leadstream_mql_priority"] == "P1"


def test_across_batches_each_property_keeps_its_own_order() -> None:
    """The state (score, stage) and the MQL (reason) come on different topics in any order: the
    MQL arriving after a state of the same moment still lands; an older state changes nothing."""
    api = FakeHubSpot()
    with serve(api) as url:
        sink = CrmSink(HubSpotAdapter(url, "test-token", timeout_s=5), RetryPolicy(0.01, 0.05, 10))
        sink.write([state("mql", 0)])
        sink.write([mql(0)])
        sink.write([state("lead", -30, score=10)])  # a late, older state: no request at all
        sink.write([state("mql", 0), mql(0)])  # a redelivery: no request at all
    contact = api.contacts["jane@acme.io"]
    assert contact["leadstream_stage"] == "mql" and contact["leadstream_score"] == "70.0"
    assert contact["leadstream_mql_reason"].startswith("form:demo_request (30)")
    assert api.requests == 2 and api.writes["jane@acme.io"] == 2
