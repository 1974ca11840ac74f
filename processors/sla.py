"""First-response SLA clocks in event time: start, warning, met, breached, escalations, cancel.

Timers are ``(due_ms, phase)`` pairs derived from the clock; the engine keeps them in a heap and
fires them as event time (or, live, the wall clock) passes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from processors.clock import MINUTE_MS, from_ms, to_ms
from processors.ids import stable_id
from processors.rules import Rules
from processors.rules.model import BusinessHours
from processors.state import DEADLINE, ESCALATE, WARNING, SlaClock


def add_business_minutes(start_ms: int, minutes: float, hours: BusinessHours) -> int:
    """``start`` plus ``minutes`` counted only inside the business-hours calendar."""
    tz = ZoneInfo(hours.timezone)
    t = from_ms(start_ms).astimezone(tz)
    remaining = timedelta(minutes=minutes)
    while remaining > timedelta(0):
        day_start = t.replace(hour=0, minute=0, second=0, microsecond=0)
        open_at = day_start + timedelta(minutes=hours.start_minute)
        close_at = day_start + timedelta(minutes=hours.end_minute)
        if t.weekday() not in hours.days or t >= close_at:
            t = _next_day(day_start, tz)
            continue
        t = max(t, open_at)
        available = close_at - t
        if remaining <= available:
            t += remaining
            remaining = timedelta(0)
        else:
            remaining -= available
            t = _next_day(day_start, tz)
    return to_ms(t)


def _next_day(day_start: datetime, tz: ZoneInfo) -> datetime:
    nxt = (day_start + timedelta(days=1, hours=3)).replace(tzinfo=None)
    return nxt.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=tz)


def _after(start_ms: int, minutes: float, rules: Rules) -> int:
    hours = rules.sla.business_hours
    if hours is None:
        return start_ms + round(minutes * MINUTE_MS)
    return add_business_minutes(start_ms, minutes, hours)


def start(mql_id: str, priority: str, at_ms: int, owner_id: str | None, rules: Rules) -> SlaClock:
    tier = rules.sla.tiers[priority]  # type: ignore[index]
    return SlaClock(
        sla_id=stable_id("sla", mql_id),
        mql_id=mql_id,
        priority=priority,
        started_ms=at_ms,
        warning_ms=_after(at_ms, tier * rules.sla.warning_at, rules),
        deadline_ms=_after(at_ms, tier, rules),
        tier_ms=round(tier * MINUTE_MS),
        owner_id=owner_id,
    )


def timers(clock: SlaClock, rules: Rules) -> list[tuple[int, str]]:
    """The timers a clock in its current status still waits for (``SlaClock.timers``)."""
    return clock.timers(rules)


def next_escalation_ms(clock: SlaClock, rules: Rules) -> int:
    return clock.next_escalation_ms(rules)


def fire(clock: SlaClock, phase: str, due_ms: int, rules: Rules) -> str | None:
    """Apply a due timer; returns the new status to emit, or None when it no longer applies."""
    if phase == WARNING and clock.status == "started" and due_ms == clock.warning_ms:
        clock.status = "warning"
        return "warning"
    if phase == DEADLINE and clock.status in ("started", "warning") and due_ms == clock.deadline_ms:
        clock.status = "breached"
        return "breached"
    if (
        phase == ESCALATE
        and clock.status in ("breached", "escalated")
        and due_ms == clock.next_escalation_ms(rules)
        and clock.escalation_level < rules.sla.max_escalation_level
    ):
        clock.escalation_level += 1
        clock.status = "escalated"
        return "escalated"
    return None


def respond(clock: SlaClock, at_ms: int) -> int | None:
    """A rep's first response; returns response seconds, or None if the clock is not open."""
    if not clock.open or at_ms < clock.started_ms:
        return None
    clock.status = "met"
    return (at_ms - clock.started_ms) // 1000


def cancel(clock: SlaClock) -> bool:
    if not clock.open:
        return False
    clock.status = "cancelled"
    return True
