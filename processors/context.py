"""What a decision may see and do: the narrow view of the engine that ``processors.decisions`` gets.

Kafka Streams' ``ProcessorContext`` is the model: a processor reads its state stores and schedules
punctuations through the context, never through the runtime that drives it. Here a decision reads
the rules and the contact / account lookups, and schedules SLA timers; it returns its output
records (the engine forwards them), so the context needs no ``forward``.

Nothing here imports the engine: ``engine`` -> ``decisions`` -> ``context`` -> ``identity`` ->
``state`` is a chain, not a circle.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from processors.identity import Identity
from processors.rules import Rules
from processors.state import AccountState, ContactState, Store, Timer


class DecisionContext:
    """The rules, read access to contacts and accounts, and ``schedule`` for SLA timers."""

    def __init__(self, rules: Rules, store: Store, identity: Identity) -> None:
        self.rules = rules
        self._store = store
        self._identity = identity

    @property
    def contacts(self) -> Mapping[str, ContactState]:
        """Every contact by key (read only: decisions change a contact they are handed)."""
        return self._store.contacts

    def account_of(self, contact: ContactState) -> AccountState | None:
        """The contact's account: by the CRM's account_id, else by its email domain."""
        return self._identity.account_of(contact)

    def schedule(self, timer: Timer) -> None:
        """Fire ``timer`` once event time (or, live, the ticker) passes its due time."""
        heapq.heappush(self._store.timers, timer)

    def schedule_sla(self, contact: ContactState) -> None:
        """Schedule every timer the contact's SLA clock still waits for."""
        clock = contact.sla
        if clock is None:
            return
        for due, phase in clock.timers(self.rules):
            self.schedule((due, contact.key, clock.sla_id, phase))
