"""Explicit, serialisable state per contact, visitor and account.

The live worker keeps these in Faust tables, replay in dicts; the processors only ever receive
them as arguments. A window entry is a tuple ``(at_ms, signal, points, event_id)`` kept in
event-time order: small, and cheap to prune.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Signal = tuple[int, str, float, str]  # (at_ms, signal, points, event_id)


@dataclass(slots=True)
class SlaClock:
    sla_id: str
    mql_id: str
    priority: str
    started_ms: int
    warning_ms: int
    deadline_ms: int
    tier_ms: int
    status: str = "started"
    escalation_level: int = 0
    owner_id: str | None = None

    @property
    def open(self) -> bool:
        """Still waiting for a first response (escalations continue after a breach)."""
        return self.status in ("started", "warning", "breached", "escalated")


@dataclass(slots=True)
class ContactState:
    key: str
    crm_id: str | None = None
    email: str | None = None
    account_id: str | None = None
    # attribute -> (value, event_id that supplied it): the fit evidence
    profile: dict[str, tuple[Any, str]] = field(default_factory=dict)
    source: str | None = None  # first-touch utm_source
    campaign: str | None = None
    window: list[Signal] = field(default_factory=list)
    stage: str = "lead"
    stage_at: dict[str, int] = field(default_factory=dict)
    cycle: int = 0
    qualified_cycle: int = -1
    cycle_start_ms: int = 0  # signals before this do not count in the current cycle
    last_mql_id: str | None = None
    last_mql_ms: int | None = None
    owner_id: str | None = None
    sla: SlaClock | None = None
    updated_ms: int = 0
    fit_cache: tuple[Any, ...] | None = None  # (account_version, score, reasons, department); derived
    # False while ``crm_id`` is only what web visits claimed (anyone can send a contact_id): such a
    # contact expires when idle, like a CRM-less lead. True once a CRM change names it, and for a
    # contact without ``crm_id`` (nothing to confirm).
    crm_confirmed: bool = True

    @property
    def contact_id(self) -> str:
        """The id written to outputs: the CRM id once known, else the stable lead key."""
        return self.crm_id or self.key

    @property
    def email_domain(self) -> str | None:
        if not self.email or "@" not in self.email:
            return None
        return self.email.rsplit("@", 1)[1]

    def set_profile(self, attr: str, value: Any, event_id: str) -> None:
        if value is None or value == "":
            return
        current = self.profile.get(attr)
        if current is None or current[0] != value:
            self.profile[attr] = (value, event_id)
            self.fit_cache = None

    def value(self, attr: str) -> Any:
        entry = self.profile.get(attr)
        return entry[0] if entry else None


@dataclass(slots=True)
class VisitorState:
    visitor_id: str
    contact_key: str | None = None
    pending: list[Signal] = field(default_factory=list)  # anonymous signals, stitched later
    source: str | None = None
    campaign: str | None = None
    last_seen_ms: int = 0


@dataclass(slots=True)
class Member:
    """A contact's latest engagement with its account, for buying-committee detection."""

    at_ms: int
    department: str | None
    intent: float
    event_id: str


@dataclass(slots=True)
class AccountState:
    account_id: str
    domain: str | None = None
    name: str | None = None
    profile: dict[str, tuple[Any, str]] = field(default_factory=dict)
    is_customer: bool = False
    is_competitor: bool = False
    owner_id: str | None = None
    territory: str | None = None
    version: int = 0  # bumped on every profile change; invalidates contacts' cached fit
    members: dict[str, Member] = field(default_factory=dict)
    last_mql_id: str | None = None
    last_mql_ms: int | None = None
    last_expansion_ms: int | None = None
    updated_ms: int = 0

    def value(self, attr: str) -> Any:
        entry = self.profile.get(attr)
        return entry[0] if entry else None
