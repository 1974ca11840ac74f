"""The CRM sink: records → contact updates → adapter batches, retried, never regressing a contact."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import partial

from cachetools import LRUCache

from schemas import models
from sinks.base import PermanentError, RetryPolicy, mask_email, mask_emails, retry
from sinks.crm.base import ContactUpdate, CrmAdapter
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

    def write(self, batch: Sequence[models.Record]) -> None:
        updates = [u for u in map(self._unwritten, updates_for(batch)) if u is not None]
        step = self.adapter.max_batch
        refused: list[str] = []
        for i in range(0, len(updates), step):
            chunk = updates[i : i + step]
            try:
                retry(partial(self.adapter.upsert_contacts, chunk), self.policy, self._sleep or time.sleep)
            except PermanentError as exc:  # this chunk goes to the dead-letter path; the rest goes on
                if self.on_rejected is None:
                    _log_rejected(chunk, str(exc))
                    refused.append(str(exc))
                else:
                    self.on_rejected(chunk, str(exc))
                continue
            for u in chunk:
                for name, version in u.versions.items():
                    self._written[(u.email, name)] = version
        if refused:
            raise PermanentError("; ".join(refused))
