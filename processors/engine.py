"""The decision engine: validated input events + state in, decisions out, all in event time.

``Engine.process`` is the single code path behind the live worker, ``leadstream replay`` and the
backtest. It never reads a clock or does I/O: time is the event's ``occurred_at``, and
``Engine.advance`` moves the clock forward (at the end of a replay, or from the live ticker) so
pending SLA deadlines fire.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from processors import decisions, intent, views
from processors.clock import DAY_MS, to_ms
from processors.context import DecisionContext
from processors.identity import Identity
from processors.rules import Rules
from processors.state import ContactState, Signal, Store  # Store: also processors.engine.Store
from schemas.models import CrmChange, FormFill, InputEvent, Record, WebVisit

Output = Record
SWEEP_EVERY_MS = 7 * DAY_MS  # expiry is lazy elsewhere; the sweep only bounds memory
# Known visitors and idle CRM-less leads are forgotten this many windows after their last event.
IDLE_WINDOWS = 3
MAX_PENDING = 200


class Engine:
    def __init__(self, rules: Rules, store: Store | None = None) -> None:
        self.rules = rules
        self.store = store if store is not None else Store()
        self.identity = Identity(self.store, rules)
        # All a decision sees of the engine (processors.decisions never gets the engine itself).
        self.context = DecisionContext(rules, self.store, self.identity)
        self._window_ms = rules.window_days * DAY_MS
        self._horizon_ms = rules.dedupe.horizon_days * DAY_MS
        # Contacts and accounts changed since the last drain_changes() / discard_changes(): the
        # live runtime turns them into compacted state records once per batch, not once per
        # event; replay and backtest, which publish no state records, discard them after every
        # event. Both go through processors.driver.Driver (drain / discard_changes).
        self.changed_contacts: set[str] = set()
        self.changed_accounts: set[str] = set()
        self._handlers: dict[type[InputEvent], Callable[[Any, int], list[Output]]] = {}
        # Events dropped without effect, so no drop is silent (replay summary, live stats).
        self.repeats = 0  # an event_id already decided
        self.too_old = 0  # older than the dedupe memory behind the newest event time

    # --- entry points ---------------------------------------------------------------------------

    def process(self, event: InputEvent, at_ms: int | None = None) -> list[Output]:
        """Apply one validated input event; a repeated event_id has no effect.

        ``at_ms`` is ``event.occurred_at`` in epoch ms when the caller already computed it.
        """
        st = self.store
        at = to_ms(event.occurred_at) if at_ms is None else at_ms
        event_id = event.event_id
        seen = st.seen
        watermark = st.watermark_ms
        if event_id in seen:
            self.repeats += 1
            return []
        if at < watermark - self._horizon_ms:
            # Older than the dedupe memory: it could be a repeat we no longer remember, and it
            # is outside every window, so it is dropped rather than risk counting it twice.
            self.too_old += 1
            return []
        if at > watermark:
            st.watermark_ms = at
        seen[event_id] = at
        fired: list[Output] | None = None
        if at > st.clock_ms:
            timers = st.timers
            if timers and timers[0][0] < at:
                fired = self._fire_timers(at, inclusive=False)
            st.clock_ms = at
            if at - st.last_sweep_ms >= SWEEP_EVERY_MS:
                self._sweep(at)
        handler = self._handlers.get(type(event))
        if handler is None:
            handler = self._handlers[type(event)] = self._handler_of(type(event))
        out = handler(event, at)
        if fired:
            fired.extend(out)  # timers that came due before this event decide first
            return fired
        return out

    def _handler_of(self, kind: type[InputEvent]) -> Callable[[Any, int], list[Output]]:
        """The input method for an event class (looked up once per class, not per event)."""
        for base, handler in ((WebVisit, self._web_visit), (FormFill, self._form_fill), (CrmChange, self._crm_change)):
            if issubclass(kind, base):
                return handler
        return lambda _event, _at: []

    def advance(self, now_ms: int) -> list[Output]:
        """Move the clock to ``now_ms`` and fire every SLA timer due by then."""
        out = self._fire_timers(now_ms, inclusive=True)
        self.store.clock_ms = max(self.store.clock_ms, now_ms)
        if now_ms - self.store.last_sweep_ms >= SWEEP_EVERY_MS:  # live: the ticker drives expiry too
            self._sweep(now_ms)
        return out

    def run(self, events: Iterable[InputEvent]) -> list[Output]:
        out: list[Output] = []
        for e in events:
            out.extend(self.process(e))
        return out

    # --- inputs ---------------------------------------------------------------------------------

    def _web_visit(self, e: WebVisit, at: int) -> list[Output]:
        identity = self.identity
        visitor = identity.visitor(e.visitor_id, at)
        if visitor.source is None and e.utm_source:
            visitor.source, visitor.campaign = e.utm_source, e.utm_campaign
        if e.contact_id:
            contact = identity.contact_by_crm_id(e.contact_id, at)
        elif visitor.contact_key is None:
            contact = None  # an anonymous visitor, the most common visit: no lookup to make
        else:
            contact = identity.contact_of_visitor(visitor)
        if contact is not None:
            identity.link_visitor(visitor, contact, at, self._window_ms)
        rules = self.rules
        hit = intent.url_signal(e.url, rules)
        if hit is None:
            return []
        signal: Signal = (at, hit[0], hit[1], e.event_id)
        if contact is None:
            pending = visitor.pending
            intent.add_signal(pending, signal, rules)
            if len(pending) > MAX_PENDING:
                del pending[0]
            return []
        if not intent.add_signal(contact.window, signal, rules):
            return []
        return self._evaluate(contact, at, signal)

    def _form_fill(self, e: FormFill, at: int) -> list[Output]:
        contact = self.identity.contact_by_email(e.email, at, e.event_id)
        visitor = self.identity.visitor(e.visitor_id, at)
        if visitor.source is None and e.utm_source:
            visitor.source, visitor.campaign = e.utm_source, e.utm_campaign
        self.identity.link_visitor(visitor, contact, at, self._window_ms)
        if contact.source is None:
            contact.source, contact.campaign = visitor.source, visitor.campaign
        for attr in ("job_title", "company_name", "industry", "country", "employee_count"):
            contact.set_profile(attr, getattr(e, attr), e.event_id)
        if e.company_domain:
            contact.set_profile("company_domain", e.company_domain.lower(), e.event_id)
        form = self.rules.intent.forms[e.form_type]
        signal: Signal = (at, e.form_type.value, form.points, e.event_id)
        added = intent.add_signal(contact.window, signal, self.rules)
        return self._evaluate(contact, at, signal if added else None, e.form_type.value)

    def _crm_change(self, e: CrmChange, at: int) -> list[Output]:
        kind = e.change_type.value
        if kind == "account_upserted":
            self.changed_accounts.add(self.identity.upsert_account(e, at).account_id)
            return []
        if kind == "opportunity_upserted":
            return []  # outcomes are read by the backtest from the history itself
        contact = self.identity.contact_of_change(e, at)
        if contact is None:
            return []
        self.changed_contacts.add(contact.key)
        if kind == "contact_upserted":
            self.identity.apply_contact_fields(contact, e)
            return self._evaluate(contact, at, None)
        if kind == "stage_changed":
            return decisions.stage_change(self.context, contact, e, at)
        return self._activity(contact, e, at)

    def _activity(self, contact: ContactState, e: CrmChange, at: int) -> list[Output]:
        f = e.fields
        activity = str(f.get("activity_type") or "")
        direction = str(f.get("direction") or "").lower()
        outbound = direction == "outbound" or (not direction and e.actor_id is not None)
        out: list[Output] = []
        if outbound and activity in self.rules.sla.response_activities:
            out.extend(decisions.sla_response(self.context, contact, at, e.actor_id))
            return out
        name = activity if activity in ("webinar_attended", "email_click") else f"inbound_{activity}"
        rule = self.rules.intent.activities.get(name)
        if rule is None:
            return out
        minutes = f.get("duration_minutes")
        points = rule.points_for(float(minutes) if isinstance(minutes, int | float) else None)
        signal: Signal = (at, name, points, e.event_id)
        if intent.add_signal(contact.window, signal, self.rules):
            out.extend(self._evaluate(contact, at, signal))
        return out

    # --- decisions ------------------------------------------------------------------------------

    def _evaluate(
        self, contact: ContactState, at: int, trigger: Signal | None, form_type: str | None = None
    ) -> list[Output]:
        if at > contact.updated_ms:
            contact.updated_ms = at
        intent.prune(contact.window, at, self._window_ms)
        account = self.identity.account_of(contact)
        self.changed_contacts.add(contact.key)
        rules = self.rules
        # Fit and intent are scored only when a decision reads them (most evaluations stop at a
        # cheaper gate: a customer, a contact already qualified in this cycle).
        intent_score: float | None = None
        out: list[Output] = []
        if account is not None:
            self.changed_accounts.add(account.account_id)
            if trigger is not None and trigger[2] > 0 and not account.is_competitor:
                intent_score = self._intent(contact, at)
                out.extend(decisions.engage_account(self.context, account, contact, at, trigger, intent_score))
            if account.is_customer:
                if trigger is not None and trigger[1] in rules.expansion.signals:
                    out.extend(decisions.expansion(self.context, account, contact, at, trigger))
                return out
        out.extend(
            decisions.qualify_contact(
                self.context,
                contact,
                account,
                at,
                trigger,
                form_type,
                intent_score,
            )
        )
        return out

    def _intent(self, contact: ContactState, at: int) -> float:
        return intent.scored(contact.window, at, contact.cycle_start_ms, self.rules, breakdown=False)[0]

    # --- time -----------------------------------------------------------------------------------

    def push_timers(self, contact: ContactState) -> None:
        self.context.schedule_sla(contact)

    def _fire_timers(self, until_ms: int, inclusive: bool) -> list[Output]:
        timers = self.store.timers
        out: list[Output] = []
        while timers and (timers[0][0] < until_ms or (inclusive and timers[0][0] == until_ms)):
            due, key, sla_id, phase = heapq.heappop(timers)
            contact = self.store.contacts.get(key)
            if contact is None or contact.sla is None or contact.sla.sla_id != sla_id:
                continue
            self.changed_contacts.add(key)
            out.extend(decisions.sla_timer(self.context, contact, phase, due))
        return out

    def drain_changes(self) -> list[Output]:
        """State records of what changed since the last call, for the compacted state topics."""
        contacts, accounts = self.store.contacts, self.store.accounts
        out: list[Output] = []
        for key in sorted(self.changed_contacts):
            contact = contacts.get(key)
            if contact is not None:
                out.append(views.contact_view(contact, self.identity.account_of(contact), self.rules))
        for account_id in sorted(self.changed_accounts):
            account = accounts.get(account_id)
            if account is not None:
                out.append(views.account_view(account, contacts, self.rules))
        self.changed_contacts.clear()
        self.changed_accounts.clear()
        return out

    def discard_changes(self) -> None:
        """Forget what changed since the last drain, for a caller that publishes no state records."""
        self.changed_contacts.clear()
        self.changed_accounts.clear()

    def _sweep(self, now: int) -> None:
        """Event-time expiry, so memory stays bounded by recent activity, not by history."""
        st = self.store
        st.last_sweep_ms = now
        horizon = now - self._horizon_ms
        # ``seen`` is in arrival order, which is event-time order up to lateness: drop from the
        # front until the first recent id instead of scanning everything.
        expired = []
        for event_id, t in st.seen.items():
            if t >= horizon:
                break
            expired.append(event_id)
        for event_id in expired:
            del st.seen[event_id]
        idle = now - IDLE_WINDOWS * self._window_ms
        if st.visitors_floor_ms < idle:
            self._forget_visitors(idle, now)
        window_ms = self._window_ms
        window_horizon = now - window_ms
        forget = []
        for key, c in st.contacts.items():
            # Every window is pruned (that is part of the expiry), then the idle leads go that the
            # CRM never confirmed: CRM-less ones, and those only web visits' contact_id named
            # (anyone can send one; kept, a million distinct ids would be kept forever).
            window = c.window
            if window and window[0][0] <= window_horizon:  # prune's own early exit, without the call
                intent.prune(window, now, window_ms)
            if (
                c.updated_ms < idle  # the rarest condition first
                and (c.crm_id is None or not c.crm_confirmed)
                and not window
                and c.stage == "lead"
                and (c.sla is None or not c.sla.open)
            ):
                forget.append(key)
        for key in forget:
            contact = st.contacts.pop(key)
            if contact.email and st.emails.get(contact.email) == key:
                del st.emails[contact.email]
            crm_id = contact.crm_id
            if crm_id is not None and st.crm_ids.get(crm_id) == key:
                del st.crm_ids[crm_id]  # a visitor still pointing at ``key`` finds no contact: fine
        for account in st.accounts.values():
            decisions.prune_members(self.context, account, now)

    def _forget_visitors(self, idle: int, now: int) -> None:
        """Drop the visitors last seen before ``idle``; the oldest survivor is the new floor."""
        st = self.store
        visitors = st.visitors
        expired = []
        floor = now
        for vid, v in visitors.items():
            seen = v.last_seen_ms
            if seen < idle:
                expired.append(vid)
            elif seen < floor:
                floor = seen
        for vid in expired:
            del visitors[vid]
        st.visitors_floor_ms = floor
