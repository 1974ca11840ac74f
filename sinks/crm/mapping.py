"""From output records to CRM contact properties, newest update per contact wins."""

from __future__ import annotations

from collections.abc import Iterable

from schemas import models
from sinks.crm.base import ContactUpdate, PropertySpec

# leadstream stage -> HubSpot's standard lifecyclestage (our own stage goes to leadstream_stage)
HUBSPOT_LIFECYCLE = {
    "lead": "lead",
    "mql": "marketingqualifiedlead",
    "sal": "salesqualifiedlead",
    "sql": "salesqualifiedlead",
    "opportunity": "opportunity",
    "won": "customer",
}


# The custom contact properties the mapping writes (``lifecyclestage`` is HubSpot's own).
PROPERTIES = (
    PropertySpec("leadstream_stage", "leadstream stage", "string"),
    PropertySpec("leadstream_score", "leadstream score", "number"),
    PropertySpec("leadstream_fit", "leadstream fit score", "number"),
    PropertySpec("leadstream_intent", "leadstream intent score", "number"),
    PropertySpec("leadstream_updated_at", "leadstream updated at", "datetime"),
    PropertySpec("leadstream_sla_status", "leadstream SLA status", "string"),
    PropertySpec("leadstream_mql_at", "leadstream MQL at", "datetime"),
    PropertySpec("leadstream_mql_priority", "leadstream MQL priority", "string"),
    PropertySpec("leadstream_mql_reason", "leadstream MQL reason (top signals)", "text"),
)


def _ms(at) -> int:  # noqa: ANN001 - a datetime
    return int(at.timestamp() * 1000)


def contact_properties(record: models.Record) -> tuple[str, int, dict[str, str]] | None:
    """(email, event time ms, CRM properties) for a record that says something about a contact."""
    if isinstance(record, models.ContactState) and record.email:
        props = {
            "leadstream_stage": record.stage,
            "leadstream_score": f"{record.total_score:.1f}",
            "leadstream_fit": f"{record.fit_score:.1f}",
            "leadstream_intent": f"{record.intent_score:.1f}",
            "leadstream_updated_at": record.updated_at.isoformat(),
        }
        if record.stage in HUBSPOT_LIFECYCLE:
            props["lifecyclestage"] = HUBSPOT_LIFECYCLE[record.stage]
        if record.sla_status:
            props["leadstream_sla_status"] = record.sla_status
        if record.last_mql_at:
            props["leadstream_mql_at"] = record.last_mql_at.isoformat()
        return record.email, _ms(record.updated_at), props
    if isinstance(record, models.Mql) and record.kind.value == "contact" and record.email:
        top = sorted((x for x in record.reasons if not x.signal.startswith("fit:")), key=lambda x: -x.points)[:3]
        return (
            record.email,
            _ms(record.occurred_at),
            {
                "leadstream_mql_at": record.occurred_at.isoformat(),
                "leadstream_mql_priority": record.priority.value,
                "leadstream_mql_reason": ", ".join(f"{x.signal} ({x.points:.0f})" for x in top),
            },
        )
    return None


def updates_for(records: Iterable[models.Record]) -> list[ContactUpdate]:
    """One update per email, merging what the batch says about it; per property, older never wins."""
    merged: dict[str, ContactUpdate] = {}
    for record in records:
        found = contact_properties(record)
        if found is None:
            continue
        email, version, props = found
        update = merged.setdefault(email, ContactUpdate(email))
        for name, value in props.items():
            update.set(name, value, version)
    return list(merged.values())
