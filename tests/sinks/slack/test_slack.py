"""Slack alerts over real HTTP against a local server speaking the Slack Web API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas import models
from sinks.base import ConfigurationError, PermanentError, RetryPolicy
from sinks.slack.sink import ChannelMap, SlackAlertSink, Throttle
from tests.sinks.servers import FakeSlack, serve

FAST = RetryPolicy(initial_s=0.01, max_backoff_s=0.05, max_elapsed_s=20)


def alert(kind: str = "buying_committee", key: str = "bc:acc-1", channel: str | None = "#emea-leads") -> models.Alert:
    return models.Alert(
        alert_id=f"a-{key}",
        kind=kind,
        account_id="acc-1",
        contact_id=None,
        channel=channel,
        text="Buying committee at Acme: 3 contacts from finance, it",
        dedupe_key=key,
        occurred_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )


@pytest.fixture
def slack():
    api = FakeSlack()
    with serve(api) as url:
        yield api, url + "/api/"


def _sink(url: str, **kw) -> SlackAlertSink:
    return SlackAlertSink("xoxb-test", base_url=url, policy=FAST, **kw)


def test_alert_is_posted_as_block_kit_to_the_mapped_channel(slack) -> None:
    api, url = slack
    _sink(url, channels=ChannelMap(by_kind={"sla_breach": "#sales-managers"})).write(
        [alert(), alert("sla_breach", "sla:1", channel="#leads")]
    )
    first, second = api.messages
    assert first["channel"] == "#emea-leads" and second["channel"] == "#sales-managers"
    kinds = [b["type"] for b in first["blocks"]]
    assert kinds == ["header", "section", "context"] and "Buying committee" in first["blocks"][1]["text"]["text"]


def test_same_dedupe_key_within_the_throttle_window_posts_once(slack, stack_endpoints) -> None:
    api, url = slack
    import redis

    redis.Redis.from_url(stack_endpoints.redis_url).delete("leadstream:slack:bc:once")
    throttle = Throttle(ttl_s=3600, redis_url=stack_endpoints.redis_url)
    _sink(url, throttle=throttle).write([alert(key="bc:once"), alert(key="bc:once")])
    _sink(url, throttle=Throttle(ttl_s=3600, redis_url=stack_endpoints.redis_url)).write([alert(key="bc:once")])
    assert len(api.messages) == 1, "a restarted sink shares the throttle through Redis"


def test_ratelimited_is_retried_after_retry_after(slack) -> None:
    api, url = slack
    api.fail_next(2, status=429, retry_after=0.2)
    _sink(url).write([alert(key="bc:rl")])
    assert len(api.messages) == 1 and api.requests == 3


def test_slack_down_then_up_nothing_lost(slack) -> None:
    api, url = slack
    api.fail_next(4, status=503, body={"ok": False, "error": "service_unavailable"})
    _sink(url).write([alert(key=f"k{i}") for i in range(3)])
    assert len(api.messages) == 3


def test_refused_post_is_permanent_and_does_not_block_a_later_retry(slack) -> None:
    api, url = slack
    api.fail_next(1, status=400, body={"ok": False, "error": "channel_not_found"})
    sink = _sink(url)
    with pytest.raises(PermanentError, match="channel_not_found"):
        sink.write([alert(key="bc:gone")])
    assert sink.throttle.first_time("bc:gone")


def test_a_rejected_token_is_a_configuration_error_not_the_alerts_fault(slack) -> None:
    """Dead-lettering every alert for a bad token would lose them; the runner stops instead."""
    api, url = slack
    sink = SlackAlertSink("not-a-bot-token", base_url=url, policy=FAST)
    with pytest.raises(ConfigurationError, match="invalid_auth"):
        sink.write([alert(key="bc:auth")])
    assert sink.throttle.first_time("bc:auth") and api.messages == []
