"""The CRM adapter boundary: a new CRM (Salesforce, …) is a new adapter file, not a rewrite."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class ContactUpdate:
    """Properties to set on one CRM contact, identified by email.

    ``versions`` holds the event time (ms) each value is from, per property: a contact's score
    and its MQL reason come from different records that may arrive in any order, so ordering is
    per property, not per contact.
    """

    email: str
    properties: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def set(self, name: str, value: str, version_ms: int) -> None:
        """Last write wins by event time; a tie goes to the later record (arrival order)."""
        if version_ms >= self.versions.get(name, -1):
            self.properties[name] = value
            self.versions[name] = version_ms


@dataclass
class BatchOutcome:
    """What the CRM said about each input of one batch. Only ``written`` is confirmed: the sink
    remembers nothing else as written, retries ``retry`` and dead-letters ``rejected``."""

    written: list[ContactUpdate] = field(default_factory=list)
    retry: list[tuple[ContactUpdate, str]] = field(default_factory=list)
    rejected: list[tuple[ContactUpdate, str]] = field(default_factory=list)


@dataclass(frozen=True)
class PropertySpec:
    """A contact property leadstream writes; ``kind`` is number, string, text or datetime."""

    name: str
    label: str
    kind: str


class CrmAdapter(Protocol):
    max_batch: int

    def prepare(self, properties: Sequence[PropertySpec]) -> None:
        """Make sure the CRM can take these properties (create what is missing); idempotent."""
        ...

    def upsert_contacts(self, updates: Sequence[ContactUpdate]) -> BatchOutcome:
        """Write one batch (≤ max_batch) and say per input what landed; raise RetryableError or
        PermanentError (sinks.base) when the batch as a whole failed."""
        ...
