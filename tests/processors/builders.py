"""Event builders for scenario tests: terse, explicit, and valid by construction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from schemas.models import CrmChange, FormFill, WebVisit

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
_ids = count(1)


def at(minutes: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(days=days, minutes=minutes)


def _eid(prefix: str, event_id: str | None) -> str:
    return event_id or f"{prefix}-{next(_ids)}"


def visit(when: datetime, visitor: str, path: str, event_id: str | None = None, **kw: Any) -> WebVisit:
    return WebVisit(
        event_id=_eid("w", event_id),
        occurred_at=when,
        visitor_id=visitor,
        url=f"https://www.example-vendor.com{path}",
        **kw,
    )


def form(
    when: datetime,
    visitor: str,
    email: str,
    form_type: str = "content_download",
    event_id: str | None = None,
    **kw: Any,
) -> FormFill:
    return FormFill(
        event_id=_eid("f", event_id),
        occurred_at=when,
        visitor_id=visitor,
        email=email,
        form_type=form_type,
        **kw,
    )


def crm(when: datetime, change_type: str, event_id: str | None = None, **kw: Any) -> CrmChange:
    return CrmChange(event_id=_eid("c", event_id), occurred_at=when, change_type=change_type, **kw)


def account(when: datetime, account_id: str, domain: str, **fields: Any) -> CrmChange:
    defaults = {
        "name": account_id.title(),
        "employee_count": 400,
        "industry": "software",
        "country": "US",
        "owner_id": "rep-1",
    }
    return crm(when, "account_upserted", account_id=account_id, fields={"domain": domain, **defaults, **fields})


def contact(when: datetime, contact_id: str, email: str, account_id: str | None = None, **fields: Any) -> CrmChange:
    defaults = {
        "job_title": "Marketing Manager",
        "department": "marketing",
        "seniority": "manager",
        "country": "US",
        "owner_id": "rep-1",
    }
    return crm(
        when,
        "contact_upserted",
        contact_id=contact_id,
        account_id=account_id,
        email=email,
        fields={"email": email, **defaults, **fields},
    )


def activity(
    when: datetime,
    contact_id: str,
    activity_type: str,
    direction: str = "outbound",
    actor: str | None = "rep-1",
    **fields: Any,
) -> CrmChange:
    return crm(
        when,
        "activity_logged",
        contact_id=contact_id,
        actor_id=actor,
        fields={"activity_type": activity_type, "direction": direction, **fields},
    )


def stage(when: datetime, contact_id: str, to: str, reason: str | None = None, actor: str = "rep-1") -> CrmChange:
    fields: dict[str, Any] = {"stage": to}
    if reason:
        fields["reason"] = reason
    return crm(when, "stage_changed", contact_id=contact_id, actor_id=actor, fields=fields)


FIT = {
    "job_title": "Director of Marketing",
    "company_name": "Acme",
    "company_domain": "acme.io",
    "industry": "software",
    "country": "US",
    "employee_count": 400,
}


def of(kind: type, records: list) -> list:
    """The records of one output type, in emission order."""
    return [r for r in records if isinstance(r, kind)]


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)
