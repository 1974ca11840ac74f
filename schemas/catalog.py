"""The topics of the contract (SPEC §2–3): logical name, default topic, record model, key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas import models


class Role(StrEnum):
    input = "input"
    output = "output"
    state = "state"
    dead_letter = "dead_letter"


@dataclass(frozen=True)
class StreamSpec:
    """One stream of the contract; the topic name itself is configurable (see settings)."""

    name: str
    default_topic: str
    model: type[models.Record]
    role: Role
    key_fields: tuple[str, ...]

    @property
    def avro_name(self) -> str:
        return self.model.avro_name


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("web_visits", "web.visits", models.WebVisit, Role.input, ("visitor_id",)),
    StreamSpec("form_fills", "form.fills", models.FormFill, Role.input, ("visitor_id",)),
    StreamSpec("crm_changes", "crm.changes", models.CrmChange, Role.input, ("contact_id", "account_id")),
    StreamSpec("mql", "lead.mql", models.Mql, Role.output, ("contact_id", "account_id")),
    StreamSpec("sla", "lead.sla", models.Sla, Role.output, ("contact_id",)),
    StreamSpec("lifecycle", "lead.lifecycle", models.Lifecycle, Role.output, ("contact_id",)),
    StreamSpec("alerts", "lead.alerts", models.Alert, Role.output, ("account_id", "contact_id")),
    StreamSpec("deadletter", "lead.deadletter", models.DeadLetter, Role.dead_letter, ()),
    StreamSpec("contact_state", "contact.state", models.ContactState, Role.state, ("contact_id",)),
    StreamSpec("account_state", "account.state", models.AccountState, Role.state, ("account_id",)),
)

BY_NAME: dict[str, StreamSpec] = {s.name: s for s in STREAMS}
BY_MODEL: dict[type[models.Record], StreamSpec] = {s.model: s for s in STREAMS}
INPUTS: tuple[StreamSpec, ...] = tuple(s for s in STREAMS if s.role is Role.input)


def record_key(spec: StreamSpec, record: models.Record) -> str | None:
    """The Kafka key of a record: the first of the stream's key fields that is set."""
    for field in spec.key_fields:
        value = getattr(record, field, None)
        if value:
            return str(value)
    return None
