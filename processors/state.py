"""Explicit, serialisable state per contact, visitor and account, and the ``Store`` of all of it.

The live worker keeps these in changelogged tables, replay in dicts; the processors only ever
receive them as arguments. A window entry is a tuple ``(at_ms, signal, points, event_id)`` kept in
event-time order: small, and cheap to prune. This module imports no other engine module (only the
rules), so every part of the engine can depend on it.
"""

from __future__ import annotations

import heapq
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from processors.rules import Rules

Signal = tuple[int, str, float, str]  # (at_ms, signal, points, event_id)
Timer = tuple[int, str, str, str]  # (due_ms, contact key, sla_id, phase): an entry of Store.timers

# The phases of an SLA clock's timers.
WARNING, DEADLINE, ESCALATE = "warning", "deadline", "escalate"


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

    def timers(self, rules: Rules) -> list[tuple[int, str]]:
        """The ``(due_ms, phase)`` timers the clock in its current status still waits for."""
        if self.status == "started":
            return [(self.warning_ms, WARNING), (self.deadline_ms, DEADLINE)]
        if self.status == "warning":
            return [(self.deadline_ms, DEADLINE)]
        if self.status in ("breached", "escalated") and (self.escalation_level < rules.sla.max_escalation_level):
            return [(self.next_escalation_ms(rules), ESCALATE)]
        return []

    def next_escalation_ms(self, rules: Rules) -> int:
        step = round(self.tier_ms * rules.sla.escalation_every)
        return self.deadline_ms + step * (self.escalation_level + 1)


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


@dataclass
class Store:
    """All engine state. Dicts in replay; the live worker hands in its tables."""

    contacts: MutableMapping[str, ContactState] = field(default_factory=dict)
    visitors: MutableMapping[str, VisitorState] = field(default_factory=dict)
    accounts: MutableMapping[str, AccountState] = field(default_factory=dict)
    emails: MutableMapping[str, str] = field(default_factory=dict)  # email -> contact key
    crm_ids: MutableMapping[str, str] = field(default_factory=dict)  # CRM contact_id -> key
    domains: MutableMapping[str, str] = field(default_factory=dict)  # domain -> account_id
    aliases: MutableMapping[str, str] = field(default_factory=dict)  # merged contact key -> survivor
    seen: MutableMapping[str, int] = field(default_factory=dict)  # event_id -> at_ms
    timers: list[Timer] = field(default_factory=list)  # heap
    clock_ms: int = 0  # event time, moved on by the live ticker too (SLA timers)
    watermark_ms: int = 0  # the newest event time processed (lateness is judged against it)
    last_sweep_ms: int = 0
    # No visitor was last seen before this (0: unknown, as after a restore). Visitors only move it
    # down when created; the sweep skips the scan of all visitors while none can be idle.
    visitors_floor_ms: int = 0

    def rebuild_timers(self, rules: Rules) -> None:
        """Timers are derived from the SLA clocks; rebuild them after restoring contacts."""
        self.timers = [
            (due, key, c.sla.sla_id, phase)
            for key, c in self.contacts.items()
            if c.sla is not None
            for due, phase in c.sla.timers(rules)
        ]
        heapq.heapify(self.timers)
