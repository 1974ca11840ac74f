"""The one retry helper and the one masking helper every sink shares."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from sinks.base import (
    PermanentError,
    RetryableError,
    RetryPolicy,
    mask_email,
    mask_emails,
    retry,
    retry_after_seconds,
)


class FakeTime:
    """A clock that only moves when the code under test sleeps: no real waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(times: int, exc: Exception, result: str = "ok"):
    calls = {"n": 0}

    def call() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise exc
        return result

    return call, calls


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    t = FakeTime()
    call, calls = failing(8, RetryableError("down"))
    policy = RetryPolicy(initial_s=1.0, max_backoff_s=8.0, max_elapsed_s=None)
    assert retry(call, policy, sleep=t.sleep, clock=t.clock, rng=random.Random(7)) == "ok"
    assert calls["n"] == 9
    ceilings = [1, 2, 4, 8, 8, 8, 8, 8]
    assert all(0 <= s <= c for s, c in zip(t.sleeps, ceilings, strict=True))
    assert len(set(t.sleeps)) == len(t.sleeps), "jittered, not a fixed schedule"


def test_retry_after_hint_is_honoured_exactly() -> None:
    t = FakeTime()
    call, _ = failing(2, RetryableError("429", retry_after=3.5))
    retry(call, RetryPolicy(initial_s=0.01), sleep=t.sleep, clock=t.clock)
    assert t.sleeps == [3.5, 3.5]


def test_gives_up_after_max_elapsed_with_the_last_error() -> None:
    t = FakeTime()
    call, calls = failing(10_000, RetryableError("still down"))
    with pytest.raises(RetryableError, match="still down"):
        retry(call, RetryPolicy(initial_s=1.0, max_backoff_s=4.0, max_elapsed_s=30.0), sleep=t.sleep, clock=t.clock)
    assert t.now <= 30.0 and calls["n"] > 5


def test_permanent_and_unexpected_errors_are_not_retried() -> None:
    t = FakeTime()
    call, calls = failing(1, PermanentError("400"))
    with pytest.raises(PermanentError):
        retry(call, RetryPolicy(), sleep=t.sleep, clock=t.clock)
    call, calls2 = failing(1, KeyError("bug"))
    with pytest.raises(KeyError):
        retry(call, RetryPolicy(), sleep=t.sleep, clock=t.clock)
    assert calls["n"] == calls2["n"] == 1 and t.sleeps == []


def test_on_retry_sees_each_attempt_and_its_delay() -> None:
    t = FakeTime()
    seen: list[tuple[int, float]] = []
    call, _ = failing(3, RetryableError("x", retry_after=1.0))
    retry(call, RetryPolicy(), sleep=t.sleep, clock=t.clock, on_retry=lambda n, exc, d: seen.append((n, d)))
    assert seen == [(1, 1.0), (2, 1.0), (3, 1.0)]


def test_retry_after_header_as_seconds_or_http_date() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("0.25") == 0.25
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("-3") == 0.0
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= retry_after_seconds(in_a_minute) <= 61


def test_masking_keeps_the_domain_and_hides_the_person() -> None:
    assert mask_email("jane.doe@acme.com") == "j***@acme.com"
    assert mask_email(None) is None and mask_email("no-at-sign") == "no-at-sign"
    text = "CRM refused jane.doe@acme.com and bob+x@sub.acme.co.uk (400)"
    assert mask_emails(text) == "CRM refused j***@acme.com and b***@sub.acme.co.uk (400)"
