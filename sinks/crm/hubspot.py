"""HubSpot-compatible contacts batch upsert, rate limited to the published 100 requests / 10 s."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

import httpx

from schemas.redaction import clip, redact
from sinks.base import ConfigurationError, PermanentError, RetryableError, retry_after_seconds
from sinks.crm.base import BatchOutcome, ContactUpdate, PropertySpec
from sinks.crm.multistatus import read_outcome, trace_id

UPSERT_PATH = "/crm/v3/objects/contacts/batch/upsert"
PROPERTIES_PATH = "/crm/v3/properties/contacts"
GROUP = "leadstream"
_KINDS = {  # PropertySpec.kind -> HubSpot property type and field type
    "number": {"type": "number", "fieldType": "number"},
    "string": {"type": "string", "fieldType": "text"},
    "text": {"type": "string", "fieldType": "textarea"},
    "datetime": {"type": "datetime", "fieldType": "date"},
}


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

    def _send(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        """One rate-limited request; HubSpot's answer mapped to the sink errors."""
        self.limiter.acquire()
        try:
            response = self.http.request(method, path, json=body)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise RetryableError(f"CRM unreachable: {exc.__class__.__name__}") from None
        if response.status_code == 429:
            raise RetryableError("CRM rate limit (429)", retry_after_seconds(response.headers.get("Retry-After")))
        if response.status_code in (401, 403):  # every record would fail the same way: not theirs to carry
            raise ConfigurationError(
                f"CRM rejected the credentials ({response.status_code}): check LEADSTREAM_CRM_TOKEN and its scopes"
            )
        if response.status_code >= 500:
            raise RetryableError(f"CRM error {response.status_code}")
        return response

    def upsert_contacts(self, updates: Sequence[ContactUpdate]) -> BatchOutcome:
        """One batch upsert; each input carries an ``objectWriteTraceId`` so HubSpot's 207 can say
        which inputs failed and why."""
        inputs = [
            {"idProperty": "email", "id": u.email, "objectWriteTraceId": trace_id(u.email), "properties": u.properties}
            for u in updates
        ]
        response = self._send("POST", UPSERT_PATH, {"inputs": inputs})
        if response.status_code >= 400:
            raise PermanentError(f"CRM refused the batch ({response.status_code}): {_body(response)}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return read_outcome(response.status_code, answer if isinstance(answer, dict) else {}, updates)

    def prepare(self, properties: Sequence[PropertySpec]) -> None:
        """Create the ``leadstream`` property group and whichever properties are missing."""
        listed = self._send("GET", PROPERTIES_PATH)
        if listed.status_code >= 400:
            raise ConfigurationError(f"CRM property list refused ({listed.status_code}): {_body(listed)}")
        existing = {p.get("name") for p in listed.json().get("results", [])}
        missing = [p for p in properties if p.name not in existing]
        if not missing:
            return
        group = self._send("POST", f"{PROPERTIES_PATH}/groups", {"name": GROUP, "label": "leadstream"})
        if group.status_code >= 400 and group.status_code != 409:  # 409: the group exists already
            raise ConfigurationError(f"CRM property group refused ({group.status_code}): {_body(group)}")
        inputs = [{"name": p.name, "label": p.label, "groupName": GROUP, **_KINDS[p.kind]} for p in missing]
        created = self._send("POST", f"{PROPERTIES_PATH}/batch/create", {"inputs": inputs})
        if created.status_code == 409:  # another sink created them meanwhile: fine if all exist now
            listed = self._send("GET", PROPERTIES_PATH)
            existing = {p.get("name") for p in listed.json().get("results", [])} if listed.status_code < 400 else set()
            still = sorted(p.name for p in properties if p.name not in existing)
            if not still:
                return
            raise RetryableError(f"CRM property creation conflicted (409); still missing {still}")
        if created.status_code >= 400:
            raise ConfigurationError(f"CRM refused to create properties ({created.status_code}): {_body(created)}")


def _body(response: httpx.Response) -> str:
    """A CRM error body for a message: its errors quote the contacts' emails, so they are masked
    before the body is cut (a cut address would escape the mask)."""
    return clip(redact(response.text), 200)
