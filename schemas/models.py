"""Pydantic models of the wire contract.

The Avro files in ``schemas/avro`` are the contract; these models are the one Python view of it.
``tests/schemas/test_models_match_avro.py`` fails when a field, its type or its optionality drifts
from the ``.avsc`` files, so the two cannot diverge silently.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, StringConstraints, model_validator


def _not_a_number(value: object) -> object:
    """SPEC §2: times are ISO-8601 with an offset in JSON (Avro decodes to datetime); an epoch
    number would silently be read as seconds or milliseconds, so it is refused."""
    if isinstance(value, int | float):
        raise ValueError("time must be ISO-8601 with an offset, not a number")
    return value


EventTime = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]

# Checked in pydantic-core (no Python call per field): this is on the hot path of every event.
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]


class FormType(StrEnum):
    demo_request = "demo_request"
    contact_sales = "contact_sales"
    pricing_request = "pricing_request"
    trial_signup = "trial_signup"
    content_download = "content_download"
    webinar_registration = "webinar_registration"
    newsletter = "newsletter"
    other = "other"


class ChangeType(StrEnum):
    contact_upserted = "contact_upserted"
    account_upserted = "account_upserted"
    activity_logged = "activity_logged"
    stage_changed = "stage_changed"
    opportunity_upserted = "opportunity_upserted"


class Stage(StrEnum):
    lead = "lead"
    mql = "mql"
    sal = "sal"
    sql = "sql"
    opportunity = "opportunity"
    won = "won"
    lost = "lost"
    recycled = "recycled"
    nurture = "nurture"
    disqualified = "disqualified"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class MqlKind(StrEnum):
    contact = "contact"
    account = "account"


class SlaStatus(StrEnum):
    started = "started"
    warning = "warning"
    met = "met"
    breached = "breached"
    escalated = "escalated"
    cancelled = "cancelled"


class AlertKind(StrEnum):
    buying_committee = "buying_committee"
    fast_track = "fast_track"
    sla_breach = "sla_breach"
    expansion = "expansion"


STAGES_NEEDING_REASON = frozenset({Stage.disqualified, Stage.recycled, Stage.lost})
DISQUALIFICATION_REASONS = frozenset(
    {
        "wrong_persona",
        "wrong_company_size",
        "invalid_data",
        "no_response",
        "existing_customer",
        "duplicate",
        "competitor",
        "no_current_need",
        "outside_territory",
        "other",
    }
)


class Record(BaseModel):
    """Base of every contract record: immutable, unknown extra fields ignored (SPEC §2)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    avro_name: ClassVar[str]


# --- inputs -----------------------------------------------------------------------------------


class InputEvent(Record):
    event_id: NonEmptyStr
    occurred_at: EventTime


class WebVisit(InputEvent):
    avro_name: ClassVar[str] = "web_visit"
    visitor_id: NonEmptyStr
    contact_id: str | None = None
    url: NonEmptyStr
    referrer: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    session_id: str | None = None
    duration_seconds: int | None = None
    company_domain: str | None = None


class FormFill(InputEvent):
    avro_name: ClassVar[str] = "form_fill"
    visitor_id: NonEmptyStr
    email: NonEmptyStr
    form_type: FormType
    asset: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    industry: str | None = None
    country: str | None = None
    employee_count: int | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None


FieldValue = bool | int | float | str | None


class CrmChange(InputEvent):
    avro_name: ClassVar[str] = "crm_change"
    change_type: ChangeType
    contact_id: str | None = None
    account_id: str | None = None
    email: str | None = None
    actor_id: str | None = None
    fields: dict[str, FieldValue] = {}

    @model_validator(mode="after")
    def _fields_match_change_type(self) -> CrmChange:
        """Reject changes whose fields break SPEC §2, so they dead-letter instead of misleading."""
        if self.change_type is ChangeType.stage_changed:
            stage = self.fields.get("stage")
            try:
                parsed = Stage(stage)
            except ValueError:
                allowed = [s.value for s in Stage]
                raise ValueError(f"fields.stage: {stage!r} is not one of {allowed}") from None
            if parsed in STAGES_NEEDING_REASON and not self.fields.get("reason"):
                raise ValueError(f"fields.reason is required when stage is {parsed.value}")
            if self.contact_id is None:
                raise ValueError("contact_id is required for stage_changed")
        elif self.change_type is ChangeType.contact_upserted and self.contact_id is None:
            raise ValueError("contact_id is required for contact_upserted")
        elif self.change_type is ChangeType.account_upserted and self.account_id is None:
            raise ValueError("account_id is required for account_upserted")
        return self


# --- outputs ----------------------------------------------------------------------------------


class Reason(BaseModel):
    model_config = ConfigDict(frozen=True)
    signal: str
    points: float
    event_id: str
    at: datetime


class Thresholds(BaseModel):
    model_config = ConfigDict(frozen=True)
    fit: float
    intent: float
    window_days: int
    segment: str | None = None


class Committee(BaseModel):
    model_config = ConfigDict(frozen=True)
    contacts: list[str]
    departments: list[str]


class Mql(Record):
    avro_name: ClassVar[str] = "mql"
    mql_id: str
    kind: MqlKind
    occurred_at: datetime
    contact_id: str | None = None
    account_id: str | None = None
    email: str | None = None
    priority: Priority
    fast_track: bool
    fit_score: float
    intent_score: float
    total_score: float
    reasons: list[Reason]
    thresholds: Thresholds
    rules_version: str
    source: str | None = None
    campaign: str | None = None
    committee: Committee | None = None


class Sla(Record):
    avro_name: ClassVar[str] = "sla"
    sla_id: str
    status: SlaStatus
    contact_id: str
    account_id: str | None = None
    mql_id: str | None = None
    priority: Priority
    started_at: datetime
    deadline: datetime
    occurred_at: datetime
    response_seconds: int | None = None
    owner_id: str | None = None
    escalation_level: int


class Lifecycle(Record):
    avro_name: ClassVar[str] = "lifecycle"
    transition_id: str
    contact_id: str
    account_id: str | None = None
    from_stage: Stage
    to_stage: Stage
    occurred_at: datetime
    reason: str | None = None
    actor_id: str | None = None
    rules_version: str


class Alert(Record):
    avro_name: ClassVar[str] = "alert"
    alert_id: str
    kind: AlertKind
    account_id: str | None = None
    contact_id: str | None = None
    channel: str | None = None
    text: str
    dedupe_key: str
    occurred_at: datetime


class DeadLetter(Record):
    avro_name: ClassVar[str] = "dead_letter"
    source_topic: str
    position: str
    error: str
    raw: bytes
    key: bytes | None = None


class WindowSignal(BaseModel):
    model_config = ConfigDict(frozen=True)
    signal: str
    points: float
    event_id: str
    at: datetime


class ContactState(Record):
    avro_name: ClassVar[str] = "contact_state"
    contact_id: str
    account_id: str | None = None
    email: str | None = None
    stage: str
    fit_score: float
    intent_score: float
    total_score: float
    last_mql_id: str | None = None
    last_mql_at: datetime | None = None
    sla_status: str | None = None
    owner_id: str | None = None
    window: list[WindowSignal]
    updated_at: datetime
    rules_version: str


class AccountState(Record):
    avro_name: ClassVar[str] = "account_state"
    account_id: str
    domain: str | None = None
    name: str | None = None
    is_customer: bool
    engaged_contacts: list[str]
    departments: list[str]
    last_mql_id: str | None = None
    last_mql_at: datetime | None = None
    owner_id: str | None = None
    updated_at: datetime
    rules_version: str


INPUT_MODELS: tuple[type[InputEvent], ...] = (WebVisit, FormFill, CrmChange)
OUTPUT_MODELS: tuple[type[Record], ...] = (
    Mql,
    Sla,
    Lifecycle,
    Alert,
    DeadLetter,
    ContactState,
    AccountState,
)
ALL_MODELS: tuple[type[Record], ...] = INPUT_MODELS + OUTPUT_MODELS
