"""The per-dedupe_key throttle: one post per window, yet no alert swallowed by a crash or outage."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest

from infra import stack
from schemas import models
from sinks.base import RetryableError, RetryPolicy, retry
from sinks.slack.sink import SlackAlertSink, Throttle
from tests.sinks.servers import FakeSlack, serve


def alert(key: str) -> models.Alert:
    return models.Alert(
        alert_id=f"a-{key}",
        kind="sla_breach",
        contact_id="c-1",
        channel="#sales",
        text="SLA breached for c-1",
        dedupe_key=key,
        occurred_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )


def test_in_memory_claim_then_window_on_a_fake_clock() -> None:
    now = [0.0]
    throttle = Throttle(ttl_s=3600, clock=lambda: now[0], claim_s=60)
    assert throttle.first_time("k") and not throttle.first_time("k")
    now[0] = 61.0  # claimed but never confirmed (the process died mid-post): free again
    assert throttle.first_time("k")
    throttle.confirm("k")
    now[0] = 61.0 + 3599
    assert not throttle.first_time("k")
    now[0] = 61.0 + 3601
    assert throttle.first_time("k")


def test_a_crash_between_claim_and_post_does_not_swallow_the_alert(stack_endpoints: stack.Endpoints) -> None:
    key = f"crash-{uuid.uuid4().hex[:8]}"
    crashed = Throttle(ttl_s=3600, redis_url=stack_endpoints.redis_url, claim_s=0.3)
    assert crashed.first_time(key)  # ...and the process dies before posting
    restarted = Throttle(ttl_s=3600, redis_url=stack_endpoints.redis_url, claim_s=0.3)
    assert not restarted.first_time(key), "still claimed: a concurrent post may be in flight"
    time.sleep(0.4)
    assert restarted.first_time(key), "the redelivered alert gets through"
    restarted.confirm(key)
    time.sleep(0.4)
    assert not restarted.first_time(key), "posted: held for the whole window"


def test_throttle_store_down_then_up_posts_once(own_redis: dict) -> None:
    from infra import redis as redis_server

    api = FakeSlack()
    with serve(api) as url:
        sink = SlackAlertSink(
            "xoxb-test",
            base_url=url + "/api/",
            throttle=Throttle(ttl_s=3600, redis_url=own_redis["endpoint"]),
            policy=RetryPolicy(0.01, 0.05, 5),
        )
        redis_server.halt(own_redis)
        with pytest.raises(RetryableError, match="redis"):
            sink.write([alert("down")])
        comeback = threading.Timer(1.0, redis_server.resume, args=(own_redis,))
        comeback.start()
        retry(lambda: sink.write([alert("down")]), RetryPolicy(0.1, 0.5, 30))
        comeback.join()
        sink.write([alert("down")])  # a redelivery after the outage
    assert len(api.messages) == 1
