"""The CRM sink: records → contact updates → adapter batches, retried, never regressing a contact."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from schemas import models
from sinks.base import PermanentError, RetryPolicy, retry
from sinks.crm.base import ContactUpdate, CrmAdapter
from sinks.crm.mapping import updates_for


class CrmSink:
    name = "crm"

    def __init__(
        self,
        adapter: CrmAdapter,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        on_rejected: Callable[[list[ContactUpdate], str], None] | None = None,
    ) -> None:
        self.adapter = adapter
        self.on_rejected = on_rejected or (lambda updates, error: None)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._sent: dict[str, int] = {}  # email -> newest version written: redeliveries are no-ops

    def write(self, batch: Sequence[models.Record]) -> None:
        updates = [u for u in updates_for(batch) if u.version_ms > self._sent.get(u.email, -1)]
        step = self.adapter.max_batch
        for i in range(0, len(updates), step):
            chunk = updates[i : i + step]
            kwargs = {"sleep": self._sleep} if self._sleep else {}
            try:
                retry(lambda chunk=chunk: self.adapter.upsert_contacts(chunk), self.policy, **kwargs)
            except PermanentError as exc:  # this chunk goes to the dead-letter path; the rest goes on
                self.on_rejected(chunk, str(exc))
                continue
            for u in chunk:
                self._sent[u.email] = u.version_ms
