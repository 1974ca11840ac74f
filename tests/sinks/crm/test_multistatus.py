"""HubSpot's 207 Multi-Status: some inputs of a batch fail. Each record must end written once or
refused with HubSpot's words, and a refused or retried contact is never remembered as written."""

from __future__ import annotations

import pytest

from schemas import models
from sinks.base import RetryPolicy
from sinks.crm.hubspot import HubSpotAdapter
from sinks.crm.sink import CrmSink
from tests.sinks.builders import contact_state
from tests.sinks.servers import FakeHubSpot, serve

FAST = RetryPolicy(initial_s=0.01, max_backoff_s=0.05, max_elapsed_s=20)
STAGES = {"lead", "marketingqualifiedlead", "opportunity", "customer"}  # this portal removed SQL


def state(i: int, stage: str) -> models.ContactState:
    return contact_state(f"c-{i}", f"p{i}@acme.io", stage, minutes=i)


@pytest.fixture
def portal():
    api = FakeHubSpot()
    api.lifecycle_stages = set(STAGES)
    with serve(api) as url:
        yield api, url


def test_part_of_a_batch_refused_loses_nothing_and_writes_nothing_twice(portal) -> None:
    api, url = portal
    records = [state(i, "sql" if i % 10 == 3 else "mql") for i in range(40)]
    refused = {f"p{i}@acme.io" for i in range(40) if i % 10 == 3}
    api.transient = {"p5@acme.io": 2, "p17@acme.io": 1}  # per-input RATE_LIMITS: retried, not refused
    rejected: list = []
    sink = CrmSink(
        HubSpotAdapter(url, "test-token", timeout_s=5), FAST, on_rejected=lambda u, e: rejected.append((u, e))
    )

    sink.write(records)
    sink.write(records)  # a redelivery: the written are skipped, the refused are refused again

    assert set(api.contacts) == {f"p{i}@acme.io" for i in range(40)} - refused
    assert set(api.writes.values()) == {1}, "no contact written twice"
    assert [sorted(u.email for u in updates) for updates, _ in rejected] == [sorted(refused)] * 2
    assert "VALIDATION_ERROR" in rejected[0][1] and "salesqualifiedlead" in rejected[0][1]
    assert "@acme.io" not in rejected[0][1], "HubSpot's text reaches the dead letter with emails masked"


def test_without_a_confirmation_a_refused_contact_is_sent_again_once_fixed(portal) -> None:
    api, url = portal
    sink = CrmSink(HubSpotAdapter(url, "test-token", timeout_s=5), FAST, on_rejected=lambda u, e: None)
    sink.write([state(1, "sql")])
    assert "p1@acme.io" not in api.contacts
    api.lifecycle_stages = STAGES | {"salesqualifiedlead"}  # the admin restores the stage; Kafka redelivers
    sink.write([state(1, "sql")])
    assert api.contacts["p1@acme.io"]["lifecyclestage"] == "salesqualifiedlead"


def test_a_batch_refused_as_a_whole_is_narrowed_down_by_halving(portal) -> None:
    api, url = portal
    records = [state(i, "mql") for i in range(100)]
    records[37] = contact_state("c-37", "no-at-sign", "mql")  # HubSpot refuses the whole batch (400)
    rejected: list = []
    sink = CrmSink(
        HubSpotAdapter(url, "test-token", timeout_s=5), FAST, on_rejected=lambda u, e: rejected.append((u, e))
    )
    sink.write(records)
    assert [[u.email for u in updates] for updates, _ in rejected] == [["no-at-sign"]]
    assert rejected[0][1].startswith("CRM refused the batch (400)")
    assert len(api.contacts) == 99 and set(api.writes.values()) == {1}
    assert api.requests <= 2 * 7 + 1, f"{api.requests} requests: halving, not one request per contact"
