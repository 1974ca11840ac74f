"""Pydantic models of the wire contract.

The Avro files in ``schemas/avro`` are the contract; these models are the one Python view of it.
``tests/schemas/test_models_match_avro.py`` fails when a field, its type or its optionality drifts
from the ``.avsc`` files, so the two cannot diverge silently.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, field_serializer, model_validator

from schemas import policy

# Every input time goes through the edge's one time rule (``schemas.policy.event_time``).
EventTime = Annotated[datetime, BeforeValidator(policy.event_time)]

# Checked in pydantic-core (no Python call per field): this is on the hot path of every event.
NonEmptyStr = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
# Optional values with an edge rule; the validator runs only when the field is present.
OptionalText = Annotated[str | None, BeforeValidator(policy.text)]
Domain = Annotated[str | None, BeforeValidator(policy.domain)]
Count = Annotated[int | None, BeforeValidator(policy.count)]
Email = Annotated[str, BeforeValidator(policy.required_email)]
OptionalEmail = Annotated[str | None, BeforeValidator(policy.email)]


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


STAGES_NEEDING_REASON = frozenset(Stage(s) for s in policy.STAGES_NEEDING_REASON)


class Record(BaseModel):
    """Base of every contract record: immutable, unknown extra fields ignored (SPEC §2)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    avro_name: ClassVar[str]


# --- inputs -----------------------------------------------------------------------------------


class InputEvent(Record):
    """An input event. Values with an edge rule follow ``schemas.policy``, so live, replay and
    backtest read every record the same way; other strings are trimmed in pydantic-core."""

    event_id: NonEmptyStr
    occurred_at: EventTime


class WebVisit(InputEvent):
    avro_name: ClassVar[str] = "web_visit"
    visitor_id: NonEmptyStr
    contact_id: OptionalText = None
    url: NonEmptyStr
    # The most frequent record: referrer and session are never read by a decision, so they are
    # kept as sent (no Python call per visit for them).
    referrer: str | None = None
    utm_source: OptionalText = None
    utm_medium: OptionalText = None
    utm_campaign: OptionalText = None
    session_id: str | None = None
    duration_seconds: Count = None
    company_domain: Domain = None


class FormFill(InputEvent):
    avro_name: ClassVar[str] = "form_fill"
    visitor_id: NonEmptyStr
    email: Email
    form_type: Annotated[FormType, BeforeValidator(policy.required_member(tuple(FormType)))]
    asset: OptionalText = None
    first_name: OptionalText = None
    last_name: OptionalText = None
    job_title: OptionalText = None
    company_name: OptionalText = None
    company_domain: Domain = None
    industry: OptionalText = None
    country: OptionalText = None
    employee_count: Count = None
    utm_source: OptionalText = None
    utm_medium: OptionalText = None
    utm_campaign: OptionalText = None


FieldValue = bool | int | float | str | None


class CrmChange(InputEvent):
    avro_name: ClassVar[str] = "crm_change"
    change_type: Annotated[ChangeType, BeforeValidator(policy.required_member(tuple(ChangeType)))]
    contact_id: OptionalText = None
    account_id: OptionalText = None
    email: OptionalEmail = None
    actor_id: OptionalText = None
    fields: dict[str, FieldValue] = {}

    @model_validator(mode="before")
    @classmethod
    def _normalise_fields(cls, data: Any) -> Any:
        """``fields`` by the edge's policy (numbers, flags, enums, emails), before type checks."""
        if isinstance(data, dict) and isinstance(data.get("fields"), dict):
            change_type = data.get("change_type")
            kind = policy.enum_word(change_type) if isinstance(change_type, str) else change_type
            data = {**data, "fields": policy.crm_fields(kind, data["fields"])}
        return data

    @model_validator(mode="after")
    def _fields_match_change_type(self) -> CrmChange:
        """Reject changes whose fields break SPEC §2, so they dead-letter instead of misleading."""
        kind = self.change_type
        fields = self.fields
        if kind is ChangeType.stage_changed:
            stage = fields.get("stage")
            if stage is None:
                raise ValueError(f"fields.stage is required for stage_changed (one of {list(policy.LEAD_STAGES)})")
            if stage in policy.STAGES_NEEDING_REASON and not fields.get("reason"):
                raise ValueError(f"fields.reason is required when stage is {stage}")
            if self.contact_id is None:
                raise ValueError("contact_id is required for stage_changed")
        elif kind is ChangeType.contact_upserted and self.contact_id is None:
            raise ValueError("contact_id is required for contact_upserted")
        elif kind is ChangeType.account_upserted and self.account_id is None:
            raise ValueError("account_id is required for account_upserted")
        elif kind is ChangeType.activity_logged:
            if fields.get("activity_type") is None:
                allowed = list(policy.ACTIVITY_TYPES)
                raise ValueError(f"fields.activity_type is required for activity_logged (one of {allowed})")
            if self.contact_id is None and self.email is None and fields.get("email") is None:
                raise ValueError("contact_id or email is required for activity_logged")
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

    @field_serializer("raw", "key", when_used="json")
    def _as_text(self, value: bytes | None) -> str | None:
        """JSON has no bytes: the payload as text, bytes that are not UTF-8 as escapes, so a
        broken line is still written (and readable) instead of failing the run."""
        return value.decode("utf-8", "backslashreplace") if value is not None else None


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
