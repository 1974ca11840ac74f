"""The CRM adapter boundary: a new CRM (Salesforce, …) is a new adapter file, not a rewrite."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class ContactUpdate:
    """Properties to set on one CRM contact, identified by email; ``version_ms`` orders updates."""

    email: str
    version_ms: int
    properties: dict[str, str] = field(default_factory=dict)


class CrmAdapter(Protocol):
    max_batch: int

    def upsert_contacts(self, updates: Sequence[ContactUpdate]) -> None:
        """Write one batch (≤ max_batch); raise RetryableError or PermanentError (sinks.base)."""
        ...
