"""Closed-loop outcomes for backtests: what sales later decided, joined to the MQL decisions.

Pure: the CRM events of the replayed history go in (``observe``), the decisions of each rule set
go in (``summarise``), metrics come out. Nothing here reads a clock or a file.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from processors.clock import DAY_MS, to_ms
from schemas.models import CrmChange, InputEvent, Mql

FUNNEL = ("sal", "sql", "opportunity", "won")


@dataclass
class Outcome:
    stages: dict[str, int] = field(default_factory=dict)  # stage -> first time reached (ms)
    pipeline: float = 0.0  # opportunity amounts
    won: bool = False

    def reached_after(self, stage: str, at_ms: int) -> bool:
        t = self.stages.get(stage)
        return t is not None and t >= at_ms


class OutcomeBook:
    """CRM outcomes per contact, plus the email and account links needed to join MQLs to them."""

    def __init__(self) -> None:
        self.by_contact: dict[str, Outcome] = {}
        self.email_to_contact: dict[str, str] = {}
        self.contact_account: dict[str, str] = {}
        self._account_index: dict[str, list[Outcome]] | None = None

    def observe(self, event: InputEvent) -> None:
        if not isinstance(event, CrmChange) or event.contact_id is None:
            return
        self._account_index = None
        cid = event.contact_id
        kind = event.change_type.value
        email = event.email or event.fields.get("email")
        if isinstance(email, str):
            self.email_to_contact[email.strip().lower()] = cid
        if event.account_id:
            self.contact_account[cid] = event.account_id
        if kind == "stage_changed":
            stage = str(event.fields["stage"])
            outcome = self.by_contact.setdefault(cid, Outcome())
            outcome.stages.setdefault(stage, to_ms(event.occurred_at))
            outcome.won = outcome.won or stage == "won"
        elif kind == "opportunity_upserted":
            amount = event.fields.get("amount")
            if isinstance(amount, int | float) and not isinstance(amount, bool):
                outcome = self.by_contact.setdefault(cid, Outcome())
                outcome.pipeline = max(outcome.pipeline, float(amount))
                outcome.stages.setdefault("opportunity", to_ms(event.occurred_at))

    def contact_of(self, mql: Mql) -> str | None:
        if mql.contact_id in self.by_contact or mql.contact_id in self.contact_account:
            return mql.contact_id
        if mql.email:
            return self.email_to_contact.get(mql.email.lower())
        return None

    def outcomes_of(self, mql: Mql) -> list[Outcome]:
        """The contact's outcome, or for an account MQL those of every contact of the account."""
        if mql.kind.value == "account":
            return self._by_account().get(mql.account_id or "", [])
        cid = self.contact_of(mql)
        outcome = self.by_contact.get(cid) if cid else None
        return [outcome] if outcome else []

    def _by_account(self) -> dict[str, list[Outcome]]:
        """Outcomes grouped by account, built once after the history was observed."""
        if self._account_index is None:
            index: dict[str, list[Outcome]] = {}
            for contact_id, outcome in self.by_contact.items():
                account_id = self.contact_account.get(contact_id)
                if account_id:
                    index.setdefault(account_id, []).append(outcome)
            self._account_index = index
        return self._account_index

    def sql_contacts(self, start_ms: int, end_ms: int) -> set[str]:
        return {c for c, o in self.by_contact.items() if start_ms <= o.stages.get("sql", -1) <= end_ms}


def mql_key(mql: Mql) -> str:
    """Who qualified, stable across rule sets: a contact's id can change once the CRM links it,
    its email does not."""
    if mql.kind.value == "account":
        return f"account:{mql.account_id}"
    return f"contact:{mql.email or mql.contact_id}"


def _week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def _first_touch_hours(mql: Mql) -> float | None:
    touches = [r.at for r in mql.reasons if not r.signal.startswith(("fit:", "committee_member"))]
    if not touches:
        return None
    return (mql.occurred_at - min(touches)).total_seconds() / 3600


def summarise(mqls: Iterable[Mql], breaches: int, book: OutcomeBook, start_ms: int, end_ms: int) -> dict:
    """The metrics of one rule set over its MQLs inside [start, end]."""
    mqls = [m for m in mqls if start_ms <= to_ms(m.occurred_at) <= end_ms]
    contact_mqls = [m for m in mqls if m.kind.value == "contact"]
    reached: Counter[str] = Counter()
    pipeline = revenue = 0.0
    converted_sql: set[str] = set()
    for m in mqls:
        at = to_ms(m.occurred_at)
        outcomes = book.outcomes_of(m)
        for stage in FUNNEL:
            if any(o.reached_after(stage, at) for o in outcomes):
                reached[stage] += 1
        pipeline += sum(o.pipeline for o in outcomes if o.reached_after("opportunity", at))
        revenue += sum(o.pipeline for o in outcomes if o.won and o.reached_after("won", at))
        if m.kind.value == "contact" and any(o.reached_after("sql", at) for o in outcomes):
            cid = book.contact_of(m)
            if cid:
                converted_sql.add(cid)
    sql_all = book.sql_contacts(start_ms, end_ms)
    mql_contacts = {book.contact_of(m) for m in contact_mqls} - {None}
    hours = [h for h in (_first_touch_hours(m) for m in contact_mqls) if h is not None]
    total = len(mqls)
    return {
        "mql_count": total,
        "mql_contact_count": len(contact_mqls),
        "mql_account_count": total - len(contact_mqls),
        "by_source": dict(sorted(Counter(m.source or "(none)" for m in contact_mqls).items())),
        "by_week": dict(sorted(Counter(_week(m.occurred_at) for m in mqls).items())),
        "funnel": {"mql": total, **{s: reached[s] for s in FUNNEL}},
        "conversion": {f"mql_to_{s}": round(reached[s] / total, 4) if total else 0.0 for s in ("sal", "sql", "won")},
        "pipeline": round(pipeline, 2),
        "revenue": round(revenue, 2),
        "sla_breaches": breaches,
        "median_hours_to_mql": round(statistics.median(hours), 2) if hours else None,
        "precision_sql": round(len(converted_sql) / len(mql_contacts), 4) if mql_contacts else None,
        "recall_sql": round(len(converted_sql & sql_all) / len(sql_all), 4) if sql_all else None,
    }


def _describe(m: Mql, book: OutcomeBook) -> dict:
    at = to_ms(m.occurred_at)
    outcomes = book.outcomes_of(m)
    furthest = next((s for s in reversed(FUNNEL) if any(o.reached_after(s, at) for o in outcomes)), None)
    return {
        "id": m.account_id if m.kind.value == "account" else m.contact_id,
        "kind": m.kind.value,
        "email": m.email,
        "mql_at": m.occurred_at.isoformat(),
        "priority": m.priority.value,
        "fit_score": m.fit_score,
        "intent_score": m.intent_score,
        "outcome": furthest or "none",
        "pipeline": sum(o.pipeline for o in outcomes if o.reached_after("opportunity", at)),
        "evidence": [f"{r.signal} {r.points:g}" for r in m.reasons],
        "thresholds": m.thresholds.model_dump(),
    }


def diff(baseline: list[Mql], candidate: list[Mql], book: OutcomeBook, start_ms: int, end_ms: int) -> dict:
    """MQLs the candidate adds and removes (by contact / account), with outcomes and evidence."""

    def first(mqls: list[Mql]) -> dict[str, Mql]:
        out: dict[str, Mql] = {}
        for m in mqls:
            if start_ms <= to_ms(m.occurred_at) <= end_ms:
                out.setdefault(mql_key(m), m)
        return out

    base, cand = first(baseline), first(candidate)
    added = sorted(set(cand) - set(base))
    removed = sorted(set(base) - set(cand))
    shifts = [(to_ms(cand[k].occurred_at) - to_ms(base[k].occurred_at)) / (DAY_MS / 24) for k in set(base) & set(cand)]
    return {
        "added": [_describe(cand[k], book)["id"] for k in added],
        "removed": [_describe(base[k], book)["id"] for k in removed],
        "added_details": [_describe(cand[k], book) for k in added],
        "removed_details": [_describe(base[k], book) for k in removed],
        "unchanged": len(set(base) & set(cand)),
        "median_time_to_mql_change_hours": round(statistics.median(shifts), 2) if shifts else 0.0,
    }
