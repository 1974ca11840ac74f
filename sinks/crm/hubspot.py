"""HubSpot-compatible contacts batch upsert, rate limited to the published 100 requests / 10 s."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

import httpx

from sinks.base import PermanentError, RetryableError
from sinks.crm.base import ContactUpdate

UPSERT_PATH = "/crm/v3/objects/contacts/batch/upsert"


class RateLimiter:
    """At most ``limit`` calls in any ``window_s`` sliding window (clock and sleep injectable)."""

    def __init__(
        self,
        limit: int = 100,
        window_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit, self.window_s = limit, window_s
        self.clock, self.sleep = clock, sleep
        self.calls: deque[float] = deque()

    def acquire(self) -> None:
        while True:
            now = self.clock()
            while self.calls and now - self.calls[0] >= self.window_s:
                self.calls.popleft()
            if len(self.calls) < self.limit:
                self.calls.append(now)
                return
            self.sleep(self.window_s - (now - self.calls[0]))


class HubSpotAdapter:
    max_batch = 100

    def __init__(self, base_url: str, token: str, timeout_s: float = 10.0, limiter: RateLimiter | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s, headers={"Authorization": f"Bearer {token}"})
        self.limiter = limiter or RateLimiter()

    def upsert_contacts(self, updates: Sequence[ContactUpdate]) -> None:
        body = {"inputs": [{"idProperty": "email", "id": u.email, "properties": u.properties} for u in updates]}
        self.limiter.acquire()
        try:
            response = self.http.post(UPSERT_PATH, json=body)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise RetryableError(f"CRM unreachable: {exc.__class__.__name__}") from None
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            raise RetryableError("CRM rate limit (429)", float(retry_after) if retry_after else None)
        if response.status_code >= 500:
            raise RetryableError(f"CRM error {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(f"CRM refused the batch ({response.status_code}): {response.text[:200]}")
