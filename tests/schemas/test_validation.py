"""Input validation without a broker: every kind of bad value becomes a dead letter that says why."""

from __future__ import annotations

import pytest

from schemas import models
from schemas.catalog import BY_NAME
from schemas.serde import ValueFormat
from schemas.validation import accept

VISITS = BY_NAME["web_visits"]
OK = b'{"event_id": "e1", "occurred_at": "2026-03-02T09:00:00+01:00", "visitor_id": "v", "url": "https://x.io/"}'


def _accept(raw: bytes | None, spec=VISITS) -> models.Record:
    return accept(spec, "web.visits", "3:17", raw, ValueFormat.json, None, b"key")


def test_valid_json_is_accepted_and_unknown_fields_ignored() -> None:
    record = _accept(OK[:-1] + b', "brand_new_field": 1}')
    assert isinstance(record, models.WebVisit) and record.occurred_at.utcoffset().total_seconds() == 3600


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b'{"event_id": "e", "visitor_id": "v", "url": "/"}', "occurred_at: required field is missing"),
        (b'{"event_id": "e", "occurred_at": 1767600000000, "visitor_id": "v", "url": "/"}', "not a number"),
        (b'{"event_id": "e", "occurred_at": "2026-03-02T09:00:00", "visitor_id": "v", "url": "/"}', "timezone"),
        (b'{"event_id": "", "occurred_at": "2026-03-02T09:00:00Z", "visitor_id": "v", "url": "/"}', "event_id"),
        (b"[1, 2]", "must be an object"),
        (None, "tombstone"),
    ],
)
def test_bad_values_become_dead_letters_with_position_and_reason(raw: bytes | None, needle: str) -> None:
    record = _accept(raw)
    assert isinstance(record, models.DeadLetter)
    assert needle in record.error and record.position == "3:17" and record.source_topic == "web.visits"
    assert record.raw == (raw or b"") and record.key == b"key"


def test_stage_change_needs_a_reason_where_the_taxonomy_requires_one() -> None:
    raw = (
        b'{"event_id": "e", "occurred_at": "2026-03-02T09:00:00Z", "change_type": "stage_changed",'
        b' "contact_id": "c", "fields": {"stage": "disqualified"}}'
    )
    record = accept(BY_NAME["crm_changes"], "crm.changes", "0:1", raw, ValueFormat.json, None)
    assert isinstance(record, models.DeadLetter) and "fields.reason is required" in record.error


def test_auto_format_reads_json_or_wire_format_avro() -> None:
    assert isinstance(accept(VISITS, "web.visits", "0:0", OK, ValueFormat.auto, None), models.WebVisit)
    avro = accept(VISITS, "web.visits", "0:1", b"\x00\x00\x00\x00\x01avro", ValueFormat.auto, None)
    assert isinstance(avro, models.DeadLetter) and "no schema registry" in avro.error
