"""From output records to CRM contact properties, newest update per contact wins."""

from __future__ import annotations

from collections.abc import Iterable

from schemas import models
from sinks.crm.base import ContactUpdate

# leadstream stage -> HubSpot's standard lifecyclestage (our own stage goes to leadstream_stage)
HUBSPOT_LIFECYCLE = {
    "lead": "lead",
    "mql": "marketingqualifiedlead",
    "sal": "salesqualifiedlead",
    "sql": "salesqualifiedlead",
    "opportunity": "opportunity",
    "won": "customer",
}


def _ms(at) -> int:  # noqa: ANN001 - a datetime
    return int(at.timestamp() * 1000)


def updates_for(records: Iterable[models.Record]) -> list[ContactUpdate]:
    """One update per email, merging what the batch says about it; older facts never win."""
    merged: dict[str, ContactUpdate] = {}

    def put(email: str | None, version: int, props: dict[str, str]) -> None:
        if not email:
            return
        current = merged.get(email)
        if current is None:
            merged[email] = ContactUpdate(email, version, dict(props))
        elif version >= current.version_ms:
            current.properties.update(props)
            current.version_ms = version
        else:
            for k, v in props.items():
                current.properties.setdefault(k, v)

    for r in records:
        if isinstance(r, models.ContactState):
            props = {
                "leadstream_stage": r.stage,
                "leadstream_score": f"{r.total_score:.1f}",
                "leadstream_fit": f"{r.fit_score:.1f}",
                "leadstream_intent": f"{r.intent_score:.1f}",
                "leadstream_updated_at": r.updated_at.isoformat(),
            }
            if r.stage in HUBSPOT_LIFECYCLE:
                props["lifecyclestage"] = HUBSPOT_LIFECYCLE[r.stage]
            if r.sla_status:
                props["leadstream_sla_status"] = r.sla_status
            put(r.email, _ms(r.updated_at), props)
        elif isinstance(r, models.Mql) and r.kind.value == "contact":
            top = sorted((x for x in r.reasons if not x.signal.startswith("fit:")), key=lambda x: -x.points)[:3]
            put(
                r.email,
                _ms(r.occurred_at),
                {
                    "leadstream_mql_at": r.occurred_at.isoformat(),
                    "leadstream_mql_priority": r.priority.value,
                    "leadstream_mql_reason": ", ".join(f"{x.signal} ({x.points:.0f})" for x in top),
                },
            )
    return list(merged.values())
