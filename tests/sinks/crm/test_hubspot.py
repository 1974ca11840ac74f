"""CRM write-back over real HTTP against a local HubSpot-compatible server with injected faults."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas import models
from sinks.base import RetryPolicy
from sinks.crm.hubspot import HubSpotAdapter, RateLimiter
from sinks.crm.sink import CrmSink
from tests.sinks.builders import contact_state
from tests.sinks.servers import FakeHubSpot, serve

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
FAST = RetryPolicy(initial_s=0.01, max_backoff_s=0.05, max_elapsed_s=20)


def state(i: int, stage: str = "mql", minutes: int = 0) -> models.ContactState:
    return contact_state(f"c-{i}", f"p{i}@acme.io", stage, minutes, fit=50, intent=31.5, sla_status="started")


@pytest.fixture
def hubspot():
    api = FakeHubSpot()
    with serve(api) as url:
        yield api, url


def _sink(url: str, timeout_s: float = 5.0, **kw) -> CrmSink:
    return CrmSink(HubSpotAdapter(url, "test-token", timeout_s=timeout_s), FAST, **kw)


def test_250_updates_go_in_three_batches_with_scores_and_stage(hubspot) -> None:
    api, url = hubspot
    _sink(url).write([state(i) for i in range(250)])
    assert api.requests == 3 and len(api.contacts) == 250
    props = api.contacts["p7@acme.io"]
    assert props["leadstream_stage"] == "mql" and props["lifecyclestage"] == "marketingqualifiedlead"
    assert props["leadstream_score"] == "81.5" and props["leadstream_sla_status"] == "started"


def test_429_with_retry_after_is_waited_out_and_nothing_is_written_twice(hubspot) -> None:
    api, url = hubspot
    api.fail_next(2, status=429, retry_after=0.2)
    sink = _sink(url)
    sink.write([state(i) for i in range(5)])
    sink.write([state(i) for i in range(5)])  # a redelivered batch
    assert api.requests == 3 and set(api.writes.values()) == {1}


def test_500_storm_then_recovery_catches_up(hubspot) -> None:
    api, url = hubspot
    api.fail_next(6, status=503)
    _sink(url).write([state(i) for i in range(30)])
    assert len(api.contacts) == 30 and api.requests == 7


def test_timeouts_are_retried(hubspot) -> None:
    api, url = hubspot
    api.fail_next(2, status=200, delay_s=1.0)  # answers, but after the client gave up
    _sink(url, timeout_s=0.3).write([state(1)])
    assert api.contacts["p1@acme.io"]["leadstream_stage"] == "mql"


def test_a_refused_batch_goes_to_the_dead_letter_path_and_the_rest_flows(hubspot) -> None:
    api, url = hubspot
    rejected: list = []
    api.fail_next(1, status=400, body={"status": "error", "message": "Property values were not valid"})
    sink = _sink(url, on_rejected=lambda updates, error: rejected.append((updates, error)))
    sink.write([state(i) for i in range(150)])
    # The refused batch is halved; both halves land, so no contact is dead-lettered for it.
    assert rejected == [] and len(api.contacts) == 150 and set(api.writes.values()) == {1}
    assert api.requests == 4, "the refused batch, its two halves, the last 50"


def test_an_older_update_never_regresses_a_contact(hubspot) -> None:
    api, url = hubspot
    sink = _sink(url)
    sink.write([state(1, "sql", minutes=10)])
    sink.write([state(1, "mql", minutes=1)])
    assert api.contacts["p1@acme.io"]["leadstream_stage"] == "sql" and api.writes["p1@acme.io"] == 1


def test_rate_limiter_never_exceeds_100_requests_in_10_seconds() -> None:
    now = [0.0]
    calls: list[float] = []
    limiter = RateLimiter(100, 10.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(350):
        limiter.acquire()
        calls.append(now[0])
        now[0] += 0.01
    for i, t in enumerate(calls):
        in_window = [c for c in calls[i:] if c - t < 10.0]
        assert len(in_window) <= 100
    assert calls[-1] >= 30.0, "350 calls need at least three full windows"


def test_crm_down_connection_refused_then_up_catches_up() -> None:
    import threading

    from infra.proc import free_port

    api, port = FakeHubSpot(), free_port()
    ready = threading.Event()
    done = threading.Event()

    def come_up_later() -> None:
        with serve(api, port):
            ready.set()
            done.wait(30)

    threading.Timer(1.0, lambda: threading.Thread(target=come_up_later, daemon=True).start()).start()
    try:
        _sink(f"http://127.0.0.1:{port}").write([state(i) for i in range(10)])
    finally:
        done.set()
    assert ready.is_set() and len(api.contacts) == 10 and set(api.writes.values()) == {1}
