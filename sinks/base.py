"""What every sink shares: the Sink interface, its errors, and one retry policy.

A sink writes batches of output records idempotently (a redelivered batch changes nothing), so
the runner can retry and redeliver freely: at-least-once in, exactly-once in effect.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from schemas import models

T = TypeVar("T")


class RetryableError(Exception):
    """The target is unavailable or throttling; try again later (``retry_after`` seconds, if known)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (delta-seconds or an HTTP-date, RFC 9110) as seconds from now."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class PermanentError(Exception):
    """The target refuses this batch for good; it goes to the dead-letter path, not round again."""


class ConfigurationError(Exception):
    """The sink itself is misconfigured (a rejected token, a missing scope): no record is at fault,
    so nothing is dead-lettered; the runner stops without committing and the operator fixes it."""


class Sink(Protocol):
    """May also have ``prepare()``: one-time setup the runner calls (retried) before the first batch."""

    name: str

    def write(self, batch: Sequence[models.Record]) -> None:
        """Apply the batch idempotently; raise RetryableError, PermanentError or ConfigurationError."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    initial_s: float = 0.2
    max_backoff_s: float = 30.0
    max_elapsed_s: float | None = 600.0  # None: keep trying (a sink outage never loses data)


DEFAULT_POLICY = RetryPolicy()


def retry(
    call: Callable[[], T],
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], object] = time.sleep,  # e.g. threading.Event.wait, to stop early
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_retry: Callable[[int, Exception, float], None] | None = None,
) -> T:
    """``call()`` until it succeeds: exponential backoff with full jitter, honouring Retry-After."""
    rng = rng or random.Random()
    started = clock()
    attempt = 0
    while True:
        try:
            return call()
        except RetryableError as exc:
            attempt += 1
            ceiling = min(policy.max_backoff_s, policy.initial_s * 2 ** (attempt - 1))
            delay = exc.retry_after if exc.retry_after is not None else rng.uniform(0, ceiling)
            if policy.max_elapsed_s is not None and clock() - started + delay > policy.max_elapsed_s:
                raise
            if on_retry:
                on_retry(attempt, exc, delay)
            sleep(delay)


def mask_email(email: str | None) -> str | None:
    """``j***@acme.com``: enough to recognise a lead in a log line, not enough to leak it."""
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_emails(text: str) -> str:
    """Every address inside free text (an error body, a log message) masked as ``mask_email`` does."""
    return _EMAIL.sub(lambda m: mask_email(m.group(0)) or "", text)
