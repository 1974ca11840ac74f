"""The seeded workload: deterministic, ordered, valid against the contract, realistic mix."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from schemas.catalog import BY_NAME
from schemas.models import STAGES_NEEDING_REASON, CrmChange
from tools.workload import MIX, WorkloadConfig, bad_values, generate, write_jsonl

SMALL = WorkloadConfig(events=20_000, accounts=150, contacts=1_200, days=30)
PERSONAL = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com")


@pytest.fixture(scope="module")
def events() -> list[tuple[str, dict]]:
    return list(generate(SMALL))


def test_same_seed_same_events_and_another_seed_differs() -> None:
    first = list(islice(generate(SMALL), 3_000))
    assert first == list(islice(generate(SMALL), 3_000))
    other = WorkloadConfig(**{**SMALL.__dict__, "seed": SMALL.seed + 1})
    assert first != list(islice(generate(other), 3_000))


def test_count_order_and_unique_ids(events: list[tuple[str, dict]]) -> None:
    assert abs(len(events) - SMALL.events) < SMALL.events * 0.02
    times = [v["occurred_at"] for _, v in events]
    assert times == sorted(times), "non-decreasing event time"
    first, last = datetime.fromisoformat(times[0]), datetime.fromisoformat(times[-1])
    assert SMALL.start <= first and last <= SMALL.start + timedelta(days=SMALL.days)
    assert last >= SMALL.start + timedelta(days=SMALL.days - 2), "the timeline is filled to its end"
    ids = [v["event_id"] for _, v in events]
    assert len(ids) == len(set(ids)), "event ids are unique across the three streams"


def test_every_sampled_event_validates_against_its_model(events: list[tuple[str, dict]]) -> None:
    step = max(1, len(events) // 5_000)
    for stream, value in events[::step]:
        BY_NAME[stream].model.model_validate(value)
    for stream, value in events:  # every CRM change: their validator carries the cross-field rules
        if stream == "crm_changes":
            CrmChange.model_validate(value)


def test_mix_is_mostly_web_visits(events: list[tuple[str, dict]]) -> None:
    mix = Counter(stream for stream, _ in events)
    share = {s: mix[s] / len(events) for s in MIX}
    assert 0.78 <= share["web_visits"] <= 0.9, share
    assert 0.05 <= share["form_fills"] <= 0.09, share
    assert 0.06 <= share["crm_changes"] <= 0.14, share


def test_crm_history_has_the_cases_the_rules_care_about(events: list[tuple[str, dict]]) -> None:
    crm = [v for s, v in events if s == "crm_changes"]
    kinds = Counter(v["change_type"] for v in crm)
    assert kinds["account_upserted"] >= SMALL.accounts
    assert 0.5 * SMALL.contacts <= kinds["contact_upserted"]
    assert kinds["opportunity_upserted"] > 0
    stages = [v for v in crm if v["change_type"] == "stage_changed"]
    assert {v["fields"]["stage"] for v in stages} >= {"sal", "sql", "opportunity", "won", "lost", "disqualified"}
    for v in stages:
        if v["fields"]["stage"] in STAGES_NEEDING_REASON:
            assert v["fields"].get("reason"), v
        assert v["contact_id"] and v["actor_id"]
    activities = Counter(
        (v["fields"]["activity_type"], v["fields"]["direction"]) for v in crm if v["change_type"] == "activity_logged"
    )
    assert activities[("webinar_attended", "inbound")] > 0
    assert sum(n for (_, d), n in activities.items() if d == "outbound") > 0
    accounts = [v["fields"] for v in crm if v["change_type"] == "account_upserted"]
    assert any(a["is_customer"] for a in accounts) and any(a["employee_count"] < 50 for a in accounts)
    assert any(a["employee_count"] > 5000 for a in accounts) or SMALL.accounts < 200


def test_hand_raisers_get_reps_both_within_and_after_the_sla(events: list[tuple[str, dict]]) -> None:
    raised: dict[str, datetime] = {}
    delays = []
    for s, v in events:
        if s == "form_fills" and v["form_type"] in ("demo_request", "contact_sales", "pricing_request"):
            raised.setdefault(v["email"], datetime.fromisoformat(v["occurred_at"]))
        elif (
            s == "crm_changes"
            and v["change_type"] == "activity_logged"
            and v["fields"]["direction"] == "outbound"
            and v.get("email") in raised
        ):
            delays.append((datetime.fromisoformat(v["occurred_at"]) - raised.pop(v["email"])).total_seconds())
    assert any(d <= 15 * 60 for d in delays) and any(d > 3600 for d in delays)


def test_forms_include_junk_and_visitors_browse_anonymously_first(events: list[tuple[str, dict]]) -> None:
    forms = [v for s, v in events if s == "form_fills"]
    personal = sum(v["email"].rsplit("@", 1)[1] in PERSONAL for v in forms)
    assert 0.03 < personal / len(forms) < 0.2
    assert Counter(v["form_type"] for v in forms).most_common(1)[0][0] == "content_download"
    first_form: dict[str, str] = {}
    for s, v in events:
        if s == "form_fills":
            first_form.setdefault(v["visitor_id"], v["occurred_at"])
    anonymous_before = [
        v
        for s, v in events
        if s == "web_visits"
        and v["visitor_id"] in first_form
        and v["occurred_at"] < first_form[v["visitor_id"]]
        and "contact_id" not in v
    ]
    assert anonymous_before, "some identified visitors browsed anonymously first"
    visits = [v for s, v in events if s == "web_visits"]
    assert any("contact_id" in v for v in visits) and any(v["visitor_id"].startswith("anon-") for v in visits)


def test_write_jsonl_uses_default_topics(tmp_path: Path) -> None:
    cfg = WorkloadConfig(events=2_000, accounts=20, contacts=200, days=5)
    path = tmp_path / "w.jsonl"
    n = write_jsonl(cfg, path)
    lines = path.read_bytes().splitlines()
    assert n == len(lines) > 0
    topics = {"web.visits": "web_visits", "form.fills": "form_fills", "crm.changes": "crm_changes"}
    for line, (stream, value) in zip(lines, generate(cfg), strict=True):
        record = orjson.loads(line)
        assert topics[record["topic"]] == stream and record["value"] == value


def test_bad_values_never_validate_and_leave_the_good_ones_alone() -> None:
    rng = random.Random(1)
    for stream in ("web_visits", "form_fills", "crm_changes"):
        for _ in range(50):
            with pytest.raises(ValidationError):
                BY_NAME[stream].model.model_validate(bad_values(rng, stream))
    cfg = WorkloadConfig(events=3_000, accounts=20, contacts=200, days=5)
    mixed = list(generate(WorkloadConfig(**{**cfg.__dict__, "inject_bad": 0.05})))
    bad = [(s, v) for s, v in mixed if v["event_id"].startswith("bad-")]
    assert 0 < len(bad) < 0.1 * len(mixed)
    assert [e for e in mixed if not e[1]["event_id"].startswith("bad-")] == list(generate(cfg))
