"""Redis serving state on a real redis-server: read back, TTLs, order safety, outage catch-up."""

from __future__ import annotations

import threading

import pytest

from infra import stack
from schemas import models
from sinks.base import RetryableError, RetryPolicy, retry
from sinks.redis_state import RedisStateSink, contact_key


@pytest.fixture
def sink(stack_endpoints: stack.Endpoints) -> RedisStateSink:
    s = RedisStateSink(stack_endpoints.redis_url, ttl_s=3600)
    s.client.flushdb()
    return s


def _states(decisions: list) -> list[models.ContactState]:
    return [r for r in decisions if isinstance(r, models.ContactState)]


def test_contact_and_account_state_read_back_with_ttl(sink: RedisStateSink, decisions: list) -> None:
    sink.write(decisions)
    mqld = next(s for s in _states(decisions) if s.stage != "lead")
    got = sink.read_contact(mqld.contact_id)
    assert got is not None and got["stage"] == mqld.stage and got["email"] == mqld.email
    assert got["total_score"] == mqld.total_score and got["last_mql_id"] == mqld.last_mql_id
    assert 0 < sink.client.ttl(contact_key(mqld.contact_id)) <= 3600
    account = sink.read_account("acc-1")
    assert account is not None and account["account_id"] == "acc-1"
    assert sink.read_contact("nobody") is None


def test_an_older_update_does_not_overwrite_a_newer_one(sink: RedisStateSink, decisions: list) -> None:
    newest = _states(decisions)[0]
    older = newest.model_copy(update={"stage": "lead", "updated_at": newest.updated_at.replace(year=2020)})
    sink.write([newest])
    sink.write([older])
    assert sink.read_contact(newest.contact_id)["stage"] == newest.stage


def test_redis_down_then_up_the_sink_catches_up(own_redis: dict, decisions: list) -> None:
    from infra import redis as redis_server

    sink = RedisStateSink(own_redis["endpoint"])
    redis_server.halt(own_redis)
    with pytest.raises(RetryableError):
        sink.write(decisions)
    comeback = threading.Timer(2.0, redis_server.resume, args=(own_redis,))
    comeback.start()
    retry(lambda: sink.write(decisions), RetryPolicy(initial_s=0.2, max_backoff_s=1.0, max_elapsed_s=30))
    comeback.join()
    for state in _states(decisions):
        assert sink.read_contact(state.contact_id)["stage"] == state.stage
