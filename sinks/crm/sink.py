"""The CRM sink: records → contact updates → adapter batches, retried, never regressing a contact."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import partial

from cachetools import LRUCache

from schemas import models
from sinks.base import PermanentError, RetryableError, RetryPolicy, mask_email, mask_emails, retry
from sinks.crm.base import BatchOutcome, ContactUpdate, CrmAdapter
from sinks.crm.mapping import PROPERTIES, updates_for

log = logging.getLogger("leadstream.sinks.crm")


def _log_rejected(updates: list[ContactUpdate], error: str) -> None:
    who = ", ".join(str(mask_email(u.email)) for u in updates[:5])
    log.error(
        "CRM refused %d contact updates (%s%s): %s",
        len(updates),
        who,
        ", …" if len(updates) > 5 else "",
        mask_emails(error),
    )


class CrmSink:
    name = "crm"

    def __init__(
        self,
        adapter: CrmAdapter,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], object] | None = None,
        on_rejected: Callable[[list[ContactUpdate], str], None] | None = None,
        written_cache: int = 1_000_000,
    ) -> None:
        self.adapter = adapter
        # Without a callback a refused chunk raises PermanentError once the rest of the batch is
        # written, so the runner finds the refused records one by one and dead-letters them.
        self.on_rejected = on_rejected
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        # (email, property) -> event time of the value last written: redeliveries and older
        # records are no-ops. Bounded; a forgotten entry only costs one idempotent re-send.
        self._written: LRUCache[tuple[str, str], int] = LRUCache(maxsize=written_cache)

    def _unwritten(self, update: ContactUpdate) -> ContactUpdate | None:
        """Only the properties newer than what this sink already wrote for the contact."""
        fresh = ContactUpdate(update.email)
        for name, value in update.properties.items():
            version = update.versions[name]
            if version > self._written.get((update.email, name), -1):
                fresh.set(name, value, version)
        return fresh if fresh.properties else None

    def prepare(self) -> None:
        """Before the first batch: the CRM must know our properties, or every upsert is refused."""
        retry(partial(self.adapter.prepare, PROPERTIES), self.policy, self._sleep or time.sleep)

    def _remember(self, update: ContactUpdate) -> None:
        for name, version in update.versions.items():
            self._written[(update.email, name)] = version

    def _deliver(self, chunk: list[ContactUpdate]) -> list[tuple[ContactUpdate, str]]:
        """Send the chunk until every input is confirmed or refused for good; inputs HubSpot asks
        to retry (or says nothing about) go round again, alone, the confirmed ones never twice."""
        settled: set[str] = set()
        rejected: list[tuple[ContactUpdate, str]] = []

        def send(updates: list[ContactUpdate]) -> list[tuple[ContactUpdate, str]]:
            """One request; a batch refused as a whole is halved until the refused contacts are
            found (about 2·log2(n) requests per bad contact, not one request per contact)."""
            try:
                outcome = self.adapter.upsert_contacts(updates)
            except PermanentError as exc:
                if len(updates) == 1:
                    outcome = BatchOutcome(rejected=[(updates[0], str(exc))])
                else:
                    half = len(updates) // 2
                    return send(updates[:half]) + send(updates[half:])
            for update in outcome.written:
                self._remember(update)
                settled.add(update.email)
            for update, error in outcome.rejected:
                rejected.append((update, error))
                settled.add(update.email)
            return outcome.retry

        def attempt() -> None:
            again = send([u for u in chunk if u.email not in settled])
            if again:
                raise RetryableError(f"CRM asked to retry {len(again)} contacts: {again[0][1]}")

        retry(attempt, self.policy, self._sleep or time.sleep)
        return rejected

    def write(self, batch: Sequence[models.Record]) -> None:
        updates = [u for u in map(self._unwritten, updates_for(batch)) if u is not None]
        step = self.adapter.max_batch
        refused: list[str] = []
        for i in range(0, len(updates), step):
            chunk = updates[i : i + step]
            try:
                rejected = self._deliver(chunk)
            except PermanentError as exc:  # this chunk goes to the dead-letter path; the rest goes on
                rejected = [(u, str(exc)) for u in chunk if not self._confirmed(u)]
            for error, group in _by_error(rejected).items():
                if self.on_rejected is None:
                    _log_rejected(group, error)
                    refused.append(error)
                else:
                    self.on_rejected(group, error)
        if refused:
            raise PermanentError("; ".join(refused))

    def _confirmed(self, update: ContactUpdate) -> bool:
        return all(self._written.get((update.email, n), -1) >= v for n, v in update.versions.items())


def _by_error(rejected: list[tuple[ContactUpdate, str]]) -> dict[str, list[ContactUpdate]]:
    """Refused updates grouped by HubSpot's error text, so each distinct reason is reported once."""
    groups: dict[str, list[ContactUpdate]] = {}
    for update, error in rejected:
        groups.setdefault(error, []).append(update)
    return groups
