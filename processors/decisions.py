"""The decisions of SPEC §4: contact MQLs, buying committees, expansion, lifecycle and SLA.

Functions take a ``DecisionContext`` (the rules, contact and account lookups, and ``schedule`` for
SLA timers; never the engine) and return the output records; every output id is derived from its
inputs, so a replay reproduces the live run exactly.
"""

from __future__ import annotations

from processors import fit, intent, sla
from processors.clock import DAY_MS, from_ms
from processors.context import DecisionContext
from processors.fit import FitReason
from processors.ids import stable_id
from processors.rules.model import ThresholdOverride
from processors.state import AccountState, ContactState, Member, Signal
from schemas.models import (
    Alert,
    AlertKind,
    Committee,
    CrmChange,
    Lifecycle,
    Mql,
    MqlKind,
    Priority,
    Reason,
    Record,
    Sla,
    SlaStatus,
    Stage,
    Thresholds,
)

# --- contact MQL --------------------------------------------------------------------------------


def qualify_contact(
    ctx: DecisionContext,
    contact: ContactState,
    account: AccountState | None,
    at: int,
    trigger: Signal | None,
    form_type: str | None,
    intent_score: float | None,
) -> list[Record]:
    """Fit AND intent, or a fast-track form from a fit contact; once per lifecycle cycle.

    Fit is scored here, after the stage gate, and ``intent_score`` is None when the caller has not
    needed it yet: each is computed only once the cheaper gates before it pass.
    """
    rules = ctx.rules
    if contact.stage not in rules.lifecycle.requalify_stages or contact.qualified_cycle == contact.cycle:
        return []
    fit_score, fit_reasons = fit.score_fit(contact, account, rules)
    if fit_score < rules.min_fit_threshold:
        return []  # below every segment's fit threshold, whatever the segment
    employees = _employees(contact, account)
    thresholds = rules.thresholds_for(employees, contact.source)
    if fit_score < thresholds.fit:
        return []
    fast = form_type is not None and form_type in rules.priority.fast_track_forms and trigger is not None
    if intent_score is None:
        intent_score = intent.scored(contact.window, at, contact.cycle_start_ms, rules, breakdown=False)[0]
    if not fast and intent_score < thresholds.intent:
        return []
    _, counted = intent.scored(contact.window, at, contact.cycle_start_ms, rules)
    event_id = trigger[3] if trigger else _last_event(contact)
    mql_id = stable_id("mql", contact.key, contact.cycle, event_id)
    total = fit_score + intent_score
    p2 = total >= rules.priority.p2_min_total
    priority = Priority.P1 if fast else (Priority.P2 if p2 else Priority.P3)
    mql = Mql(
        mql_id=mql_id,
        kind=MqlKind.contact,
        occurred_at=from_ms(at),
        contact_id=contact.contact_id,
        account_id=account.account_id if account else contact.account_id,
        email=contact.email,
        priority=priority,
        fast_track=fast,
        fit_score=round(fit_score, 3),
        intent_score=round(intent_score, 3),
        total_score=round(total, 3),
        reasons=_reasons(fit_reasons, counted, at),
        thresholds=_thresholds(thresholds, rules.window_days),
        rules_version=rules.version,
        source=contact.source,
        campaign=contact.campaign,
    )
    out: list[Record] = [mql]
    out.append(_transition(ctx, contact, account, "mql", at, event_id, "fast_track" if fast else "score", None))
    contact.qualified_cycle = contact.cycle
    contact.last_mql_id, contact.last_mql_ms = mql_id, at
    owner = contact.owner_id or (account.owner_id if account else None)
    contact.sla = sla.start(mql_id, priority.value, at, owner, rules)
    ctx.schedule_sla(contact)
    out.append(_sla_record(contact, account, "started", at))
    if fast:
        out.append(
            _alert(
                ctx,
                AlertKind.fast_track,
                account,
                contact,
                at,
                f"fast_track:{mql_id}",
                f"Fast-track {form_type} from {contact.email or contact.contact_id}"
                f" ({_company(contact, account)}): P1, respond within"
                f" {rules.sla.tiers[Priority.P1]:g} min",
            )
        )
    return out


def _employees(contact: ContactState, account: AccountState | None) -> int | None:
    value = (account.value("employee_count") if account else None) or contact.value("employee_count")
    return int(value) if value is not None else None


def _last_event(contact: ContactState) -> str:
    return contact.window[-1][3] if contact.window else "profile"


def _reasons(fit_reasons: list[FitReason], counted: list[tuple[Signal, float]], at: int) -> list[Reason]:
    when = from_ms(at)
    reasons = [Reason(signal=s, points=p, event_id=eid, at=when) for s, p, eid in fit_reasons]
    reasons.extend(
        Reason(signal=sig[1], points=round(pts, 3), event_id=sig[3], at=from_ms(sig[0])) for sig, pts in counted
    )
    return reasons


def _thresholds(t: ThresholdOverride, window_days: int) -> Thresholds:
    segment = None if t.segment == "default" else t.segment
    return Thresholds(fit=t.fit, intent=t.intent, window_days=window_days, segment=segment)


def _company(contact: ContactState, account: AccountState | None) -> str:
    if account is not None and account.name:
        return account.name
    return str(contact.value("company_name") or contact.email_domain or "unknown company")


# --- accounts: buying committee and expansion ---------------------------------------------------


def engage_account(
    ctx: DecisionContext,
    account: AccountState,
    contact: ContactState,
    at: int,
    trigger: Signal,
    intent_score: float,
) -> list[Record]:
    rules = ctx.rules
    if intent_score < rules.committee.min_contact_intent or account.is_competitor:
        return []
    # Re-inserted on every engagement, so members stay in engagement order and pruning stops at
    # the first recent one.
    member = account.members.pop(contact.key, None)
    department = fit.department_of(contact, rules)
    if member is None:
        member = Member(at_ms=at, department=department, intent=round(intent_score, 3), event_id=trigger[3])
    else:
        member.at_ms, member.intent, member.event_id = at, round(intent_score, 3), trigger[3]
        member.department = department
    account.members[contact.key] = member
    if at > account.updated_ms:
        account.updated_ms = at
    prune_members(ctx, account, at)
    return _committee(ctx, account, at)


def prune_members(ctx: DecisionContext, account: AccountState, now: int) -> None:
    horizon = now - ctx.rules.committee.window_days * DAY_MS
    members = account.members
    while members:
        key = next(iter(members))
        if members[key].at_ms > horizon:
            break
        del members[key]


def _cooling_down(last_ms: int | None, at: int, days: int) -> bool:
    return last_ms is not None and at - last_ms < days * DAY_MS


def _committee(ctx: DecisionContext, account: AccountState, at: int) -> list[Record]:
    rules = ctx.rules
    cm = rules.committee
    if len(account.members) < cm.min_contacts:
        return []
    if account.is_customer:
        if _cooling_down(account.last_expansion_ms, at, rules.expansion.cooldown_days):
            return []
    elif _cooling_down(account.last_mql_ms, at, cm.cooldown_days):
        return []
    # prune_members left only engagements inside the committee window (members are kept in
    # engagement order); stop counting departments as soon as there are enough.
    members = account.members
    seen: set[str] = set()
    for m in members.values():
        if m.department:
            seen.add(m.department)
            if len(seen) >= cm.min_departments:
                break
    if len(seen) < cm.min_departments:
        return []
    departments = sorted({m.department for m in members.values() if m.department})
    contacts = ctx.contacts
    contact_ids = sorted((contacts[k].contact_id if k in contacts else k) for k in members)
    if account.is_customer:
        return _expansion_alert(ctx, account, None, at, f"buying committee of {len(members)}")
    account_fit, fit_reasons = fit.score_fit(ContactState(key=account.account_id), account, rules)
    if account_fit < cm.min_account_fit:
        return []
    mql_id = stable_id("mql", "account", account.account_id, at, *sorted(m.event_id for m in members.values()))
    account.last_mql_id, account.last_mql_ms = mql_id, at
    intent_total = round(sum(m.intent for m in members.values()), 3)
    when = from_ms(at)
    reasons = [Reason(signal=s, points=p, event_id=eid, at=when) for s, p, eid in fit_reasons]
    reasons.extend(
        Reason(
            signal=f"committee_member:{m.department or 'unknown'}",
            points=m.intent,
            event_id=m.event_id,
            at=from_ms(m.at_ms),
        )
        for _, m in sorted(members.items())
    )
    thresholds = rules.thresholds_for(account.value("employee_count"), None)
    mql = Mql(
        mql_id=mql_id,
        kind=MqlKind.account,
        occurred_at=when,
        account_id=account.account_id,
        priority=Priority.P2,
        fast_track=False,
        fit_score=round(account_fit, 3),
        intent_score=intent_total,
        total_score=round(account_fit + intent_total, 3),
        reasons=reasons,
        thresholds=_thresholds(thresholds, rules.window_days),
        rules_version=rules.version,
        committee=Committee(contacts=contact_ids, departments=departments),
    )
    alert = _alert(
        ctx,
        AlertKind.buying_committee,
        account,
        None,
        at,
        f"buying_committee:{mql_id}",
        f"Buying committee at {account.name or account.account_id}: {len(members)} contacts"
        f" from {', '.join(departments)} engaged in the last {cm.window_days} days",
    )
    return [mql, alert]


def expansion(
    ctx: DecisionContext, account: AccountState, contact: ContactState, at: int, trigger: Signal
) -> list[Record]:
    """Existing customers never become new-business MQLs; their buying signals alert the owner."""
    return _expansion_alert(ctx, account, contact, at, f"{trigger[1]} by {contact.email or contact.contact_id}")


def _expansion_alert(
    ctx: DecisionContext, account: AccountState, contact: ContactState | None, at: int, what: str
) -> list[Record]:
    cooldown = ctx.rules.expansion.cooldown_days * DAY_MS
    if account.last_expansion_ms is not None and at - account.last_expansion_ms < cooldown:
        return []
    account.last_expansion_ms = at
    return [
        _alert(
            ctx,
            AlertKind.expansion,
            account,
            contact,
            at,
            f"expansion:{account.account_id}:{at}",
            f"Expansion signal at customer {account.name or account.account_id}: {what}"
            + (f" (owner {account.owner_id})" if account.owner_id else ""),
        )
    ]


# --- lifecycle ----------------------------------------------------------------------------------


def stage_change(ctx: DecisionContext, contact: ContactState, e: CrmChange, at: int) -> list[Record]:
    """Mirror the CRM's stage; cancel the SLA on disqualify / recycle / nurture; open a new cycle."""
    rules = ctx.rules
    to_stage = str(e.fields["stage"])
    if to_stage == contact.stage:
        return []
    account = ctx.account_of(contact)
    reason = e.fields.get("reason")
    out: list[Record] = [
        _transition(ctx, contact, account, to_stage, at, e.event_id, str(reason) if reason else None, e.actor_id)
    ]
    if to_stage in rules.sla.cancel_stages and contact.sla is not None and sla.cancel(contact.sla):
        out.append(_sla_record(contact, account, "cancelled", at))
    if to_stage in ("recycled", "nurture"):
        contact.cycle += 1
        contact.cycle_start_ms = at
    return out


def _transition(
    ctx: DecisionContext,
    contact: ContactState,
    account: AccountState | None,
    to_stage: str,
    at: int,
    event_id: str,
    reason: str | None,
    actor_id: str | None,
) -> Lifecycle:
    record = Lifecycle(
        transition_id=stable_id("lc", contact.key, event_id, to_stage),
        contact_id=contact.contact_id,
        account_id=account.account_id if account else contact.account_id,
        from_stage=Stage(contact.stage),
        to_stage=Stage(to_stage),
        occurred_at=from_ms(at),
        reason=reason,
        actor_id=actor_id,
        rules_version=ctx.rules.version,
    )
    contact.stage = to_stage
    contact.stage_at[to_stage] = at
    return record


# --- SLA ----------------------------------------------------------------------------------------


def sla_response(ctx: DecisionContext, contact: ContactState, at: int, actor_id: str | None) -> list[Record]:
    clock = contact.sla
    if clock is None:
        return []
    seconds = sla.respond(clock, at)
    if seconds is None:
        return []
    record = _sla_record(contact, ctx.account_of(contact), "met", at)
    return [record.model_copy(update={"response_seconds": seconds, "owner_id": actor_id or clock.owner_id})]


def sla_timer(ctx: DecisionContext, contact: ContactState, phase: str, due: int) -> list[Record]:
    clock = contact.sla
    assert clock is not None
    status = sla.fire(clock, phase, due, ctx.rules)
    if status is None:
        return []
    account = ctx.account_of(contact)
    out: list[Record] = [_sla_record(contact, account, status, due)]
    if status == "breached":
        out.append(
            _alert(
                ctx,
                AlertKind.sla_breach,
                account,
                contact,
                due,
                f"sla_breach:{clock.sla_id}",
                f"SLA breached: {clock.priority} lead {contact.email or contact.contact_id}"
                f" ({_company(contact, account)}) had no response in"
                f" {clock.tier_ms // 60000} min" + (f"; owner {clock.owner_id}" if clock.owner_id else ""),
            )
        )
    if status in ("breached", "escalated"):
        ctx.schedule_sla(contact)
    return out


def _sla_record(contact: ContactState, account: AccountState | None, status: str, at: int) -> Sla:
    clock = contact.sla
    assert clock is not None
    return Sla(
        sla_id=clock.sla_id,
        status=SlaStatus(status),
        contact_id=contact.contact_id,
        account_id=account.account_id if account else contact.account_id,
        mql_id=clock.mql_id,
        priority=Priority(clock.priority),
        started_at=from_ms(clock.started_ms),
        deadline=from_ms(clock.deadline_ms),
        occurred_at=from_ms(at),
        owner_id=clock.owner_id,
        escalation_level=clock.escalation_level,
    )


# --- alerts -------------------------------------------------------------------------------------


def _alert(
    ctx: DecisionContext,
    kind: AlertKind,
    account: AccountState | None,
    contact: ContactState | None,
    at: int,
    dedupe_key: str,
    text: str,
) -> Alert:
    alerts = ctx.rules.alerts
    owner = (contact.owner_id if contact else None) or (account.owner_id if account else None)
    territory = account.territory if account else None
    # An owner's own channel beats the territory's; the default catches the rest.
    channel = alerts.channels_by_owner.get(owner or "") or alerts.channels_by_territory.get(
        territory or "", alerts.default_channel
    )
    return Alert(
        alert_id=stable_id("alert", dedupe_key),
        kind=kind,
        account_id=account.account_id if account else (contact.account_id if contact else None),
        contact_id=contact.contact_id if contact else None,
        channel=channel,
        text=text,
        dedupe_key=dedupe_key,
        occurred_at=from_ms(at),
    )
