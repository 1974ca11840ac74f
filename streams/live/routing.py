"""Which engine partition an event belongs to: its identity cluster, decided once, then sticky.

The engine joins a contact to its account by account_id or by email domain, and detects
buying committees across an account's contacts, so everything of one account must be decided
in one partition. The router sees every event in event-time order and keeps just enough
identity to place it: visitor, email, CRM contact id, account id and domain → cluster.
Anonymous visits wait here until a form fill identifies the visitor, then travel just before
that form fill to its cluster, where the engine stitches them exactly as replay does.
Account profile changes go to every partition (every contact's fit needs them); the partition
of the account's cluster owns its ``account.state``.

Every mapping is decided at first sight and never changed. That is what makes a restart safe:
after a crash the router may see events again that it had already routed, with newer state,
and because no mapping ever changes they go to the partition they went to the first time,
where the engine recognises their event ids. The price, and the known limits: a visitor who
later fills a form with another email keeps its first cluster (its visits keep counting for
the first contact), and a cluster is decided at first sight. If a CRM contact was first seen under one
cluster (say an account id whose account was not yet upserted) and later turns out to belong
to another, it stays where it is; its fit is still right (account profiles are everywhere) but
its engagement counts toward that account's buying committee only in single-partition runs.
"""

from __future__ import annotations

import zlib
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from processors.identity import normalise_email
from streams.live.envelope import Item

MAX_WAITING = 1000  # anonymous visits kept per visitor (the engine keeps 200 of their signals)


def partition_of(cluster: str, partitions: int) -> int:
    return zlib.crc32(cluster.encode()) % partitions


@dataclass
class Routed:
    """Where an item goes: one partition, or every partition (``broadcast``)."""

    items: list[Item]
    cluster: str | None
    broadcast: bool = False


class Router:
    """Identity clusters in a key → value map (a changelogged table live, a dict in tests).

        Keys: ``v|visitor``, ``e|email``, ``c|crm id``, ``a|account id``, ``d|domain`` → cluster;
        ``w|visitor`` → anonymous visits waiting for the visitor to be identified;
        Identified visitors, emails and CRM ids stay (one short entry per contact); anonymous
    visitors are forgotten when idle (``forget_idle``).
    """

    def __init__(self, state: MutableMapping[str, Any], personal_domains: frozenset[str]) -> None:
        self.state = state
        self.personal = personal_domains

    def route(self, item: Item) -> Routed:
        stream, value = item[3], item[4]
        if stream == "web_visits":
            return self._visit(item, value)
        if stream == "form_fills":
            return self._form(item, value)
        return self._crm(item, value)

    # --- inputs -----------------------------------------------------------------------------------

    def _visit(self, item: Item, value: dict[str, Any]) -> Routed:
        visitor = value["visitor_id"]
        cluster = self.state.get(f"v|{visitor}")
        if cluster is None and value.get("contact_id"):  # a known contact's tracked visit identifies it
            cluster = self._crm_cluster(value["contact_id"], None, None)
            return Routed(self._identify(visitor, cluster, item), cluster)
        if cluster is not None:
            return Routed([item], cluster)
        waiting = list(self.state.get(f"w|{visitor}") or [])
        if all(w[4]["event_id"] != value["event_id"] for w in waiting):  # a redelivered visit waits once
            waiting.append(item)
            if len(waiting) > MAX_WAITING:
                del waiting[0]
            self.state[f"w|{visitor}"] = waiting
        return Routed([], None)

    def _form(self, item: Item, value: dict[str, Any]) -> Routed:
        cluster = self._email_cluster(normalise_email(value["email"]), None)
        return Routed(self._identify(value["visitor_id"], cluster, item), cluster)

    def _identify(self, visitor: str, cluster: str, item: Item) -> list[Item]:
        """The visitor now belongs to ``cluster``: its waiting visits go there, just before ``item``.

        All of them, even those older than the window: the engine decides what still counts
        (and takes the first touch's utm_source from the oldest).
        """
        self.state.setdefault(f"v|{visitor}", cluster)
        waiting = self.state.pop(f"w|{visitor}", None) or []
        return [*(tuple(w) for w in waiting), item]  # type: ignore[list-item]

    def _crm(self, item: Item, value: dict[str, Any]) -> Routed:
        kind = value["change_type"]
        fields = value.get("fields") or {}
        if kind == "account_upserted":
            return Routed([item], self._account_cluster(value.get("account_id") or "", fields.get("domain")), True)
        email = value.get("email") or fields.get("email")
        email = normalise_email(str(email)) if email else None
        contact_id = value.get("contact_id")
        account_id = value.get("account_id")
        if contact_id:
            return Routed([item], self._crm_cluster(contact_id, email, account_id))
        if email:
            return Routed([item], self._email_cluster(email, account_id))
        if account_id:
            return Routed([item], self._account_cluster(account_id, None))
        return Routed([item], "unrouted")

    # --- clusters ---------------------------------------------------------------------------------

    def _crm_cluster(self, contact_id: str, email: str | None, account_id: str | None) -> str:
        key = f"c|{contact_id}"
        cluster = self.state.get(key)
        if cluster is None:
            if email and f"e|{email}" in self.state:
                cluster = self.state[f"e|{email}"]
            elif account_id:
                cluster = self._account_cluster(account_id, None)
            elif email:
                cluster = self._email_cluster(email, None)
            else:
                cluster = f"c:{contact_id}"
            self.state[key] = cluster
        if email and f"e|{email}" not in self.state:
            self.state[f"e|{email}"] = cluster
        return cluster

    def _email_cluster(self, email: str, account_id: str | None) -> str:
        key = f"e|{email}"
        cluster = self.state.get(key)
        if cluster is None:
            domain = email.rsplit("@", 1)[1] if "@" in email else ""
            if account_id:
                cluster = self._account_cluster(account_id, None)
            elif domain and domain not in self.personal:
                cluster = self._domain_cluster(domain)
            else:
                cluster = f"e:{email}"
            self.state[key] = cluster
        return cluster

    def _domain_cluster(self, domain: str) -> str:
        key = f"d|{domain.lower()}"
        cluster = self.state.get(key)
        if cluster is None:
            cluster = self.state[key] = f"d:{domain.lower()}"
        return cluster

    def _account_cluster(self, account_id: str, domain: Any) -> str:
        key = f"a|{account_id}"
        cluster = self.state.get(key)
        if cluster is None:
            if domain and str(domain).lower() not in self.personal:
                cluster = self._domain_cluster(str(domain))
            else:
                cluster = f"a:{account_id}"
            self.state[key] = cluster
        elif domain and f"d|{str(domain).lower()}" not in self.state:
            self.state[f"d|{str(domain).lower()}"] = cluster
        return cluster

    def forget_idle(self, now_ms: int, idle_ms: int) -> None:
        """Event-time expiry of anonymous visitors, so router memory follows recent traffic."""
        stale = []
        for key, value in self.state.items():
            if key.startswith("w|") and value and value[-1][0] < now_ms - idle_ms:
                stale.append(key)
        for key in stale:
            del self.state[key]
