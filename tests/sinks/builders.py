"""Output-record builders shared by the sink tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import models

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def contact_state(
    contact_id: str = "c-1",
    email: str | None = "p1@acme.io",
    stage: str = "mql",
    minutes: float = 0,
    fit: float = 40.0,
    intent: float = 30.0,
    sla_status: str | None = None,
    last_mql_at: datetime | None = None,
) -> models.ContactState:
    return models.ContactState(
        contact_id=contact_id, email=email, stage=stage, fit_score=fit, intent_score=intent,
        total_score=fit + intent, sla_status=sla_status, last_mql_at=last_mql_at, window=[],
        updated_at=T0 + timedelta(minutes=minutes), rules_version="v1",
    )  # fmt: skip
