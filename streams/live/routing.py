"""The identity stage: which engine key (and so engine partition) an event belongs to.

The engine joins a contact to its account by account_id or by email domain, and detects buying
committees across an account's contacts, so a contact, its visitors and the other contacts of
its account must be decided in one engine partition. The engine key that makes them meet is
the business email domain (``d:acme.com``; ``e:<email>`` for a personal address), computed from
the event alone, so no stage needs a global directory:

- a form fill goes to its email's key, and its visitor is remembered under that key;
- a web visit goes to its visitor's key; an anonymous visit waits here until a form fill
  identifies the visitor, then travels just before that form fill (the engine stitches it
  exactly as replay does). Web visits and form fills are both keyed by ``visitor_id``, so a
  visitor's whole story is in one input partition, and so in one task of this stage;
- a CRM change about a contact goes to the key of the contact's email at first sight, and the
  contact stays there (CRM changes are keyed by ``contact_id``: one task sees all of a contact's);
- an account profile goes to every engine partition (every contact's fit needs it); the one of
  the account's domain key owns its ``account.state``;
- a tracked visit naming a CRM ``contact_id`` of a visitor that never filled a form goes to every
  partition and is decided only where that CRM contact lives (``Role.IF_KNOWN``).

Every mapping is decided at first sight and never changed, so a restart that routes an event
again sends it where it went the first time, and the engine there recognises its event id. The
known limits, all outside what the shipped workload does: a CRM contact whose email domain is
not its account's domain is decided apart from that account's other contacts; a contact first
seen without any email stays under its CRM id; a tracked visit naming a contact the CRM has not
sent yet counts nowhere (``unknown_contact`` in the stats).
"""

from __future__ import annotations

import zlib
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from processors.identity import normalise_email
from streams.live.envelope import Event, Role

MAX_WAITING = 1000  # anonymous visits kept per visitor (the engine keeps 200 of their signals)


def partition_of(key: str, partitions: int) -> int:
    return zlib.crc32(key.encode()) % partitions


@dataclass
class Route:
    """Where events go: under one engine key, or to every partition (``everywhere``)."""

    events: list[Event]
    key: str | None
    everywhere: bool = False
    contact_id: str | None = None  # a tracked visit's CRM contact: decided where it lives


class Router:
    """One identity task's mappings, in a key → value map (a changelogged table live, a dict in tests).

    Keys: ``v|visitor`` → engine key (set by the visitor's first form fill); ``k|visitor`` → the
    CRM contact id a tracked visit named; ``w|visitor`` → anonymous visits waiting for the visitor
    to be identified; ``c|contact id`` and ``a|account id`` → engine key. Identified visitors and
    CRM ids stay (one short entry each); anonymous visitors are forgotten when idle.
    """

    def __init__(self, state: MutableMapping[str, Any], personal_domains: frozenset[str]) -> None:
        self.state = state
        self.personal = personal_domains

    def route(self, event: Event) -> Route:
        stream, value = event[3], event[4]
        if stream == "web_visits":
            return self._visit(event, value)
        if stream == "form_fills":
            return self._form(event, value)
        return self._crm(event, value)

    def email_key(self, email: str) -> str:
        domain = email.rsplit("@", 1)[1] if "@" in email else ""
        return f"d:{domain}" if domain and domain not in self.personal else f"e:{email}"

    # --- inputs -----------------------------------------------------------------------------------

    def _visit(self, event: Event, value: dict[str, Any]) -> Route:
        visitor = value["visitor_id"]
        key = self.state.get(f"v|{visitor}")
        if key is not None:
            return Route([event], key)
        contact_id = value.get("contact_id") or self.state.get(f"k|{visitor}")
        if contact_id:
            self.state.setdefault(f"k|{visitor}", contact_id)
            waiting = self.state.pop(f"w|{visitor}", None) or []
            return Route([*waiting, event], None, everywhere=True, contact_id=contact_id)
        waiting = list(self.state.get(f"w|{visitor}") or [])
        if all(w[4]["event_id"] != value["event_id"] for w in waiting):  # a redelivered visit waits once
            waiting.append(event)
            if len(waiting) > MAX_WAITING:
                del waiting[0]
            self.state[f"w|{visitor}"] = waiting
        return Route([], None)

    def _form(self, event: Event, value: dict[str, Any]) -> Route:
        """The visitor now belongs to the form's key: its waiting visits go there, just before it.

        All of them, even those older than the window: the engine decides what still counts
        (and takes the first touch's utm_source from the oldest).
        """
        key = self.email_key(normalise_email(value["email"]))
        self.state.setdefault(f"v|{value['visitor_id']}", key)
        waiting = self.state.pop(f"w|{value['visitor_id']}", None) or []
        return Route([*waiting, event], key)

    def _crm(self, event: Event, value: dict[str, Any]) -> Route:
        fields = value.get("fields") or {}
        account_id = value.get("account_id")
        if value["change_type"] == "account_upserted":
            return Route([event], self._account_key(account_id or "", fields.get("domain")), everywhere=True)
        email = value.get("email") or fields.get("email")
        email = normalise_email(str(email)) if email else None
        contact_id = value.get("contact_id")
        if contact_id:
            key = self.state.get(f"c|{contact_id}")
            if key is None:
                key = self.state[f"c|{contact_id}"] = self.email_key(email) if email else f"c:{contact_id}"
            return Route([event], key)
        if email:
            return Route([event], self.email_key(email))
        if account_id:
            return Route([event], self._account_key(account_id, None))
        return Route([event], "unrouted")

    def _account_key(self, account_id: str, domain: Any) -> str:
        key = self.state.get(f"a|{account_id}")
        if key is None:
            domain = str(domain).lower() if domain else ""
            key = f"d:{domain}" if domain and domain not in self.personal else f"a:{account_id}"
            self.state[f"a|{account_id}"] = key
        return key

    def forget_idle(self, now_ms: int, idle_ms: int) -> None:
        """Event-time expiry of anonymous visitors, so this stage's memory follows recent traffic."""
        stale = [k for k, v in self.state.items() if k.startswith("w|") and v and v[-1][0] < now_ms - idle_ms]
        for key in stale:
            del self.state[key]


def roles(route: Route, partitions: int) -> dict[int, str]:
    """Engine partition → role for a route's events."""
    if not route.events:
        return {}
    if not route.everywhere:
        return {partition_of(route.key or "", partitions): Role.DECIDE}
    if route.contact_id is not None:  # a tracked visit: decided where its CRM contact lives
        return dict.fromkeys(range(partitions), Role.IF_KNOWN + route.contact_id)
    owner = partition_of(route.key or "", partitions)
    return {p: Role.OWN if p == owner else Role.REPLICA for p in range(partitions)}
