"""The hostile-input matrix (issue 11 item 8): every kind of bad or odd input the edge must survive.

Each case is one line inserted in the middle of a small valid history (a few accounts, contacts
and visitors giving MQLs, SLA clocks and alerts) and replayed (``streams.replay.replay``). The
policy (``docs/input-policy.md``) says what each case must come to:

- ``dead-lettered``: the run returns normally and its outputs are exactly the clean run's plus one
  ``lead.deadletter`` record whose ``position`` is the line's number and whose ``error`` names the
  field (and the value, where the policy says so);
- ``decided as``: the line is accepted and decided exactly as the same history with the canonical
  value in its place (identical outputs), and where the case says so, the decision is checked too.

The same value through the live edge (``schemas.validation.accept``) gives the same verdict, so
replay and live cannot disagree, and the file backtest (``streams.backtest.from_file``) sees the
same events. ``tests/schemas/test_hostile_property.py`` reuses the history and helpers below.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from processors.rules import load_rules
from schemas import models
from schemas.catalog import BY_NAME
from schemas.serde import ValueFormat
from schemas.validation import accept
from streams import backtest as bt
from streams.replay import replay
from tools.workload import SITE, WorkloadConfig, generate

RULES = load_rules()
# The hostile event's instant: mid-history (the workload runs 2026-03-01 .. 03-11).
T = "2026-03-05T10:00:00Z"
T_MS = int(datetime(2026, 3, 5, 10, tzinfo=UTC).timestamp() * 1000)
WORKLOAD = WorkloadConfig(seed=3, events=800, accounts=12, contacts=80, days=10, start=datetime(2026, 3, 1, tzinfo=UTC))
UNTIL = datetime(2026, 3, 11, 12, tzinfo=UTC)
TOPIC_OF = {"web_visits": "web.visits", "form_fills": "form.fills", "crm_changes": "crm.changes"}
SPEC_OF = {BY_NAME[name].default_topic: BY_NAME[name] for name in TOPIC_OF}


def _iso(day: int, hour: int, minute: int = 0) -> str:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC).isoformat()


def _crm(event_id: str, when: str, change_type: str, **kw: Any) -> tuple[str, dict]:
    return "crm.changes", {"event_id": event_id, "occurred_at": when, "change_type": change_type, **kw}


def _visit(event_id: str, when: str, visitor: str, path: str, **kw: Any) -> tuple[str, dict]:
    return "web.visits", {"event_id": event_id, "occurred_at": when, "visitor_id": visitor, "url": SITE + path, **kw}


def _form(event_id: str, when: str, visitor: str, email: str, form_type: str, **kw: Any) -> tuple[str, dict]:
    value = {"event_id": event_id, "occurred_at": when, "visitor_id": visitor, "email": email, "form_type": form_type}
    return "form.fills", {**value, **kw}


# People the hostile templates act on, each one event short of a visible decision:
# - pat (crm-h1, account acc-h1): a fit contact with intent just under the threshold;
# - kim (kim@hostile-corp.io): strong intent but an intern title, so no fit until the CRM says otherwise;
# - sky (sky@hostile-two.io): intent, but no account for hostile-two.io until one is upserted,
#   then a pricing visit after the hostile instant decides.
PREFIX = [
    _crm(
        "hp-1",
        _iso(1, 0),
        "account_upserted",
        account_id="acc-h1",
        fields={
            "domain": "hostile-corp.io",
            "name": "Hostile Corp",
            "employee_count": 400,
            "industry": "software",
            "country": "US",
            "owner_id": "rep-h",
        },
    ),
    _crm(
        "hp-2",
        _iso(1, 0, 5),
        "contact_upserted",
        contact_id="crm-h1",
        account_id="acc-h1",
        email="pat@hostile-corp.io",
        fields={
            "email": "pat@hostile-corp.io",
            "job_title": "Marketing Manager",
            "department": "marketing",
            "seniority": "manager",
            "country": "US",
            "owner_id": "rep-h",
        },
    ),
    _visit("hp-3", _iso(4, 9), "hv-1", "/compare/vs-acme", contact_id="crm-h1"),
    _visit("hp-4", _iso(4, 9, 5), "hv-1", "/integrations/hubspot", contact_id="crm-h1"),
    _form("hp-5", _iso(4, 9, 10), "hv-1", "pat@hostile-corp.io", "content_download", country="US"),
    _visit("hp-6", _iso(4, 11), "hk-1", "/pricing"),
    _visit("hp-7", _iso(4, 11, 2), "hk-1", "/compare/vs-legacy-scoring"),
    _visit("hp-8", _iso(4, 11, 4), "hk-1", "/demo"),
    _form("hp-9", _iso(4, 11, 6), "hk-1", "kim@hostile-corp.io", "content_download", job_title="Marketing Intern"),
    _form(
        "hp-10",
        _iso(4, 12),
        "hs-1",
        "sky@hostile-two.io",
        "content_download",
        job_title="Director of Operations",
        country="US",
    ),
    _visit("hp-11", _iso(4, 12, 5), "hs-1", "/compare/vs-acme"),
    _visit("hp-12", _iso(4, 12, 10), "hs-1", "/integrations/salesforce"),
    _visit("hp-13", _iso(5, 12), "hs-1", "/pricing"),  # after the hostile instant: sky decides here
    _visit("hp-14", _iso(5, 12, 30), "hs-1", "/customers/case-study-x"),
]

# The valid value each template case starts from (at T, mid-history).
TEMPLATES: dict[str, tuple[str, dict]] = {
    "web": _visit(
        "h-1",
        T,
        "hv-9",
        "/pricing",
        contact_id="crm-h1",
        referrer="https://www.google.com/",
        utm_source="google",
        utm_medium="cpc",
        utm_campaign="spring",
        session_id="s-9",
        duration_seconds=42,
        company_domain="hostile-corp.io",
    ),
    "form": _form(
        "h-1",
        T,
        "hf-1",
        "pat@hostile-corp.io",
        "demo_request",
        asset="The MQL playbook",
        first_name="Pat",
        last_name="Lee",
        job_title="Director of Marketing",
        company_name="Hostile Corp",
        company_domain="hostile-corp.io",
        industry="software",
        country="US",
        employee_count=400,
        utm_source="linkedin",
        utm_medium="paid",
        utm_campaign="q1",
    ),
    "contact": _crm(
        "h-1",
        T,
        "contact_upserted",
        contact_id="crm-h3",
        account_id="acc-h1",
        email="kim@hostile-corp.io",
        actor_id="rep-h",
        fields={
            "email": "kim@hostile-corp.io",
            "job_title": "VP Marketing",
            "department": "marketing",
            "seniority": "vp",
            "country": "US",
            "owner_id": "rep-h",
        },
    ),
    "account": _crm(
        "h-1",
        T,
        "account_upserted",
        account_id="acc-h2",
        fields={
            "domain": "hostile-two.io",
            "name": "Hostile Two",
            "employee_count": 400,
            "industry": "software",
            "country": "US",
            "territory": "na",
            "is_customer": False,
            "is_competitor": False,
            "owner_id": "rep-h2",
        },
    ),
    "activity": _crm(
        "h-1",
        T,
        "activity_logged",
        contact_id="crm-h1",
        actor_id="rep-h",
        fields={"activity_type": "meeting", "duration_minutes": 30, "direction": "inbound"},
    ),
    "stage": _crm(
        "h-1",
        T,
        "stage_changed",
        contact_id="crm-h1",
        actor_id="rep-h",
        fields={"stage": "disqualified", "reason": "wrong_persona"},
    ),
    "opportunity": _crm(
        "h-1",
        T,
        "opportunity_upserted",
        contact_id="crm-h1",
        account_id="acc-h1",
        actor_id="rep-h",
        fields={"opportunity_id": "o-h1", "amount": 50000, "currency": "USD", "stage": "Proposal"},
    ),
}


def envelope_line(topic: str, value: dict) -> bytes:
    return orjson.dumps({"topic": topic, "value": value})


def raw_line(topic: str, value: bytes) -> bytes:
    """An envelope around value bytes exactly as given (for values that are not valid JSON)."""
    return b'{"topic":' + orjson.dumps(topic) + b',"value":' + value + b"}"


@cache
def history_lines() -> tuple[bytes, ...]:
    """The clean history: the hand-made people above, then the small seeded workload, in file order."""
    lines = [envelope_line(topic, value) for topic, value in PREFIX]
    lines += [envelope_line(TOPIC_OF[stream], value) for stream, value in generate(WORKLOAD)]
    return tuple(lines)


MIDDLE = len(history_lines()) // 2  # the inserted line's 0-based index; it is line MIDDLE + 1


def write_history(path: Path, inserted: list[bytes] | None = None, at: int = MIDDLE) -> Path:
    lines = list(history_lines())
    lines[at:at] = inserted or []
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


@dataclass
class Run:
    lines: list[bytes]  # every output line, in order
    summary: Any

    def records(self, topic: str | None = None) -> list[dict]:
        parsed = [orjson.loads(line) for line in self.lines]
        return [p["value"] for p in parsed if topic is None or p["topic"] == topic]

    def without_dead_letters(self) -> list[bytes]:
        return [line for line in self.lines if not line.startswith(b'{"topic":"lead.deadletter"')]

    def dead_letters(self) -> list[dict]:
        return self.records("lead.deadletter")


def run_replay(path: Path) -> Run:
    out = io.BytesIO()
    summary = replay(path, out, RULES, until=UNTIL)
    return Run(out.getvalue().splitlines(), summary)


@cache
def clean_run() -> Run:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        run = run_replay(write_history(Path(tmp) / "clean.jsonl"))
    assert not run.dead_letters(), "the clean history must be clean"
    return run


def edge_verdict(topic: str, value: bytes | None, position: str = "0:0") -> models.Record:
    """The live worker's verdict on a value (JSON topic, no registry)."""
    return accept(SPEC_OF[topic], topic, position, value, ValueFormat.json, None)


_JSON_POSITION = re.compile(r"line \d+ column \d+ \(char \d+\)")


def same_error(live: str, replayed: str) -> bool:
    """Equal reasons. A JSON decode error points into the bytes it read: the Kafka value in one
    case, the file line (the value inside an envelope) in the other, so only its place may differ."""
    return _JSON_POSITION.sub("…", live) == _JSON_POSITION.sub("…", replayed)


def normalised_model(record: models.Record) -> dict:
    """A model for comparison; ``occurred_at`` at millisecond precision (what decisions use)."""
    dumped = record.model_dump()
    at = dumped.get("occurred_at")
    if isinstance(at, datetime):
        dumped["occurred_at"] = int(at.timestamp() * 1000) if at.tzinfo else at
    return dumped


# --- the cases ------------------------------------------------------------------------------------

DELETE = object()


def _apply(value: dict, changes: dict[str, object]) -> dict:
    out = copy.deepcopy(value)
    for path, new in changes.items():
        target = out
        *parents, leaf = path.split(".")
        for p in parents:
            target = target[p]
        if new is DELETE:
            target.pop(leaf, None)
        else:
            target[leaf] = new
    return out


@dataclass
class Case:
    id: str
    line: bytes
    topic: str | None  # the input topic the value goes to live (None: an envelope fault, file only)
    value: bytes | None  # the Kafka value bytes for the live edge (None: the case has no live form)
    expect: str  # "dead" | "decided" | "skipped"
    needles: tuple[str, ...] = ()  # dead: what the reason must mention
    canonical: bytes | None = None  # decided: the line with the canonical value in its place
    check: Callable[[Run], None] | None = None  # decided: the decision the value must give
    live: bool = True  # False: the live edge words or decides this differently on purpose (see case)
    extra: dict = field(default_factory=dict)


CASES: list[Case] = []


def dead(case_id: str, template: str, changes: dict[str, object], *needles: str) -> None:
    topic, value = TEMPLATES[template]
    mutated = _apply(value, changes)
    CASES.append(Case(case_id, envelope_line(topic, mutated), topic, orjson.dumps(mutated), "dead", needles))


def decided(
    case_id: str,
    template: str,
    changes: dict[str, object],
    canonical: dict[str, object],
    check: Callable[[Run], None] | None = None,
) -> None:
    topic, value = TEMPLATES[template]
    mutated = _apply(value, changes)
    expected = _apply(value, canonical)
    CASES.append(
        Case(
            case_id,
            envelope_line(topic, mutated),
            topic,
            orjson.dumps(mutated),
            "decided",
            canonical=envelope_line(topic, expected),
            check=check,
        )
    )


def dead_raw(case_id: str, line: bytes, *needles: str, topic: str | None = None, value: bytes | None = None) -> None:
    CASES.append(Case(case_id, line, topic, value, "dead", needles))


def decided_raw(
    case_id: str,
    line: bytes,
    canonical: bytes,
    topic: str | None = None,
    value: bytes | None = None,
    check: Callable[[Run], None] | None = None,
) -> None:
    CASES.append(Case(case_id, line, topic, value, "decided", canonical=canonical, check=check))


# Checks of what the canonical value decides (not only "same as canonical").


def _mql_of(run: Run, email: str) -> list[dict]:
    return [m for m in run.records("lead.mql") if m.get("email") == email and m["kind"] == "contact"]


def mql_at_t(email: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        [mql] = _mql_of(run, email)
        at = datetime.fromisoformat(mql["occurred_at"])
        assert int(at.timestamp() * 1000) == T_MS, f"decided at {mql['occurred_at']}, not at {T}"

    return check


def pat_qualifies(run: Run) -> None:
    assert _mql_of(run, "pat@hostile-corp.io"), "the event should qualify pat"


def pat_does_not_qualify(run: Run) -> None:
    assert not _mql_of(run, "pat@hostile-corp.io")


def sky_qualifies(segment: str | None = None) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        [mql] = _mql_of(run, "sky@hostile-two.io")
        assert mql["thresholds"].get("segment") == segment

    return check


def sky_is_an_expansion(run: Run) -> None:
    assert not _mql_of(run, "sky@hostile-two.io"), "a customer never becomes a new-business MQL"
    assert [a for a in run.records("lead.alerts") if a["kind"] == "expansion" and a["account_id"] == "acc-h2"]


def sky_does_not_qualify(run: Run) -> None:
    assert not _mql_of(run, "sky@hostile-two.io")


def kim_qualifies(run: Run) -> None:
    assert _mql_of(run, "kim@hostile-corp.io"), "the CRM title should make kim fit"


def pat_lifecycle(to_stage: str, reason: str | None) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        moves = [
            r for r in run.records("lead.lifecycle") if r["contact_id"] in ("crm-h1",) and r["to_stage"] == to_stage
        ]
        assert moves and moves[0]["reason"] == reason, moves

    return check


def no_mql_for(email: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        assert not _mql_of(run, email), f"{email} must not qualify (personal-email negative)"

    return check


# --- occurred_at (every topic) ----------------------------------------------------------------------

decided("time/lowercase-t-and-z", "form", {"occurred_at": "2026-03-05t10:00:00z"}, {}, mql_at_t("pat@hostile-corp.io"))
decided("time/space-separator", "form", {"occurred_at": "2026-03-05 10:00:00Z"}, {}, mql_at_t("pat@hostile-corp.io"))
decided(
    "time/positive-offset-same-instant",
    "form",
    {"occurred_at": "2026-03-05T12:00:00+02:00"},
    {},
    mql_at_t("pat@hostile-corp.io"),
)
decided("time/negative-offset-same-instant", "web", {"occurred_at": "2026-03-05T05:00:00-05:00"}, {})
decided("time/lowercase-z-on-crm", "activity", {"occurred_at": "2026-03-05t10:00:00z"}, {}, pat_qualifies)
decided(
    "time/nine-digit-fraction-truncated-to-ms",
    "form",
    {"occurred_at": "2026-03-05T10:00:00.123456789Z"},
    {"occurred_at": "2026-03-05T10:00:00.123Z"},
)
decided(
    "time/one-digit-fraction",
    "web",
    {"occurred_at": "2026-03-05T10:00:00.5Z"},
    {"occurred_at": "2026-03-05T10:00:00.500Z"},
)
decided(
    "time/surrounding-whitespace",
    "form",
    {"occurred_at": "  2026-03-05T10:00:00Z \n"},
    {},
    mql_at_t("pat@hostile-corp.io"),
)
decided("time/offset-23-59-in-range", "web", {"occurred_at": "2026-03-06T09:59:00+23:59"}, {})
decided(
    "time/epoch-start-inclusive",
    "web",
    {"occurred_at": "1970-01-01T00:00:00Z"},
    {"occurred_at": "1970-01-01T00:00:00+00:00"},
)
dead("time/epoch-seconds-int", "web", {"occurred_at": 1772704800}, "occurred_at", "1772704800")
dead("time/epoch-millis-int", "form", {"occurred_at": 1772704800000}, "occurred_at", "1772704800000")
dead("time/epoch-float", "activity", {"occurred_at": 1772704800.5}, "occurred_at", "1772704800.5")
dead("time/bool", "web", {"occurred_at": True}, "occurred_at", "True")
dead("time/numeric-string", "web", {"occurred_at": "1772704800"}, "occurred_at", "1772704800")
dead("time/numeric-string-on-crm", "stage", {"occurred_at": "1772704800000"}, "occurred_at", "1772704800000")
dead("time/no-offset", "web", {"occurred_at": "2026-03-05T10:00:00"}, "occurred_at", "2026-03-05T10:00:00")
dead("time/no-offset-on-form", "form", {"occurred_at": "2026-03-05T10:00:00"}, "occurred_at", "2026-03-05T10:00:00")
dead("time/date-only", "web", {"occurred_at": "2026-03-05"}, "occurred_at", "2026-03-05")
dead("time/iso-week-date", "web", {"occurred_at": "2026-W10-4T10:00:00Z"}, "occurred_at", "2026-W10-4")
dead("time/iso-ordinal-date", "web", {"occurred_at": "2026-064T10:00:00Z"}, "occurred_at", "2026-064")
dead("time/iso-basic-format", "web", {"occurred_at": "20260305T100000Z"}, "occurred_at", "20260305T100000Z")
dead("time/offset-without-colon", "web", {"occurred_at": "2026-03-05T10:00:00+0200"}, "occurred_at", "+0200")
dead("time/hour-only-offset", "web", {"occurred_at": "2026-03-05T10:00:00+02"}, "occurred_at", "+02")
dead("time/month-13", "form", {"occurred_at": "2026-13-05T10:00:00Z"}, "occurred_at", "2026-13-05")
dead("time/february-30", "web", {"occurred_at": "2026-02-30T10:00:00Z"}, "occurred_at", "2026-02-30")
dead("time/hour-24", "web", {"occurred_at": "2026-03-05T24:00:00Z"}, "occurred_at", "24:00:00")
dead("time/minute-60", "web", {"occurred_at": "2026-03-05T10:60:00Z"}, "occurred_at", "10:60:00")
dead("time/leap-second", "web", {"occurred_at": "2026-03-05T23:59:60Z"}, "occurred_at", "23:59:60")
dead("time/offset-beyond-23-59", "web", {"occurred_at": "2026-03-05T10:00:00+24:00"}, "occurred_at", "+24:00")
dead("time/null", "web", {"occurred_at": None}, "occurred_at")
dead("time/missing", "form", {"occurred_at": DELETE}, "occurred_at", "missing")
dead("time/missing-on-crm", "account", {"occurred_at": DELETE}, "occurred_at", "missing")
dead("time/empty-string", "web", {"occurred_at": ""}, "occurred_at")
dead("time/words", "web", {"occurred_at": "yesterday"}, "occurred_at", "yesterday")
dead("time/trailing-garbage", "web", {"occurred_at": "2026-03-05T10:00:00Zabc"}, "occurred_at", "Zabc")
dead("time/fullwidth-digits", "web", {"occurred_at": "２０２６-03-05T10:00:00Z"}, "occurred_at", "２０２６")
dead("time/signed-year", "web", {"occurred_at": "+2026-03-05T10:00:00Z"}, "occurred_at", "+2026")
dead("time/before-1970", "web", {"occurred_at": "1969-12-31T23:59:59Z"}, "occurred_at", "1969-12-31")
dead("time/year-0001", "web", {"occurred_at": "0001-01-01T00:00:00Z"}, "occurred_at", "0001-01-01")
dead("time/year-9999-out-of-range", "web", {"occurred_at": "9999-06-01T00:00:00Z"}, "occurred_at", "9999-06-01")
dead("time/list", "web", {"occurred_at": [T]}, "occurred_at")
dead("time/object", "stage", {"occurred_at": {"millis": 1772704800000}}, "occurred_at")
# Far ahead of the clock (the run's wall clock, December 2026 or later): refused, never moves a clock.
dead("time/far-future-2099-form", "form", {"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at", "ahead")
dead("time/far-future-2099-account", "account", {"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at", "ahead")
dead("time/far-future-2099-visit", "web", {"occurred_at": "2099-06-30T23:59:59.999Z"}, "occurred_at", "ahead")

# --- web.visits --------------------------------------------------------------------------------------

dead("web/event_id-missing", "web", {"event_id": DELETE}, "event_id", "missing")
dead("web/event_id-empty", "web", {"event_id": ""}, "event_id")
dead("web/event_id-blank", "web", {"event_id": "   "}, "event_id")
dead("web/event_id-null", "web", {"event_id": None}, "event_id")
dead("web/event_id-list", "web", {"event_id": ["h-1"]}, "event_id")
dead("web/event_id-bool", "web", {"event_id": True}, "event_id")
dead("web/visitor_id-missing", "web", {"visitor_id": DELETE}, "visitor_id", "missing")
dead("web/visitor_id-blank", "web", {"visitor_id": " \t "}, "visitor_id")
dead("web/visitor_id-list", "web", {"visitor_id": ["v-1"]}, "visitor_id")
dead("web/visitor_id-object", "web", {"visitor_id": {"id": "v-1"}}, "visitor_id")
dead("web/url-missing", "web", {"url": DELETE}, "url", "missing")
dead("web/url-empty", "web", {"url": ""}, "url")
dead("web/url-blank", "web", {"url": "    "}, "url")
dead("web/url-number", "web", {"url": 404}, "url", "404")
dead("web/url-null", "web", {"url": None}, "url")
decided("web/contact_id-padded", "web", {"contact_id": "  crm-h1 "}, {}, pat_qualifies)
decided("web/contact_id-empty-means-anonymous", "web", {"contact_id": ""}, {"contact_id": DELETE}, pat_does_not_qualify)
decided("web/contact_id-blank-means-anonymous", "web", {"contact_id": "   "}, {"contact_id": DELETE})
dead("web/contact_id-bool", "web", {"contact_id": True}, "contact_id", "True")
dead("web/contact_id-list", "web", {"contact_id": ["crm-h1"]}, "contact_id")
decided("web/utm_source-padded", "web", {"utm_source": "  google  "}, {})
decided("web/utm_source-empty", "web", {"utm_source": ""}, {"utm_source": DELETE})
decided("web/utm_medium-blank", "web", {"utm_medium": " \n "}, {"utm_medium": DELETE})
decided("web/referrer-null", "web", {"referrer": None}, {"referrer": DELETE})
decided("web/company_domain-blank", "web", {"company_domain": "  "}, {"company_domain": DELETE})
decided("web/company_domain-case-and-trailing-dot", "web", {"company_domain": " Hostile-Corp.IO. "}, {})
dead("web/utm_campaign-list", "web", {"utm_campaign": ["spring"]}, "utm_campaign")
dead("web/referrer-object", "web", {"referrer": {"href": "x"}}, "referrer")
dead("web/session_id-bool", "web", {"session_id": False}, "session_id", "False")
decided("web/duration_seconds-numeric-string", "web", {"duration_seconds": "42"}, {})
decided("web/duration_seconds-thousands", "web", {"duration_seconds": "1,200"}, {"duration_seconds": 1200})
decided("web/duration_seconds-whole-float", "web", {"duration_seconds": 42.0}, {})
decided("web/duration_seconds-padded", "web", {"duration_seconds": " 42 "}, {})
decided("web/duration_seconds-exponent-json-number", "web", {"duration_seconds": 1e3}, {"duration_seconds": 1000})
decided("web/duration_seconds-blank", "web", {"duration_seconds": ""}, {"duration_seconds": DELETE})
dead("web/duration_seconds-fraction", "web", {"duration_seconds": 12.5}, "duration_seconds", "12.5")
dead("web/duration_seconds-negative", "web", {"duration_seconds": -1}, "duration_seconds", "-1")
dead("web/duration_seconds-negative-string", "web", {"duration_seconds": "-1"}, "duration_seconds", "-1")
dead("web/duration_seconds-10k", "web", {"duration_seconds": "10k"}, "duration_seconds", "10k")
dead("web/duration_seconds-exponent-string", "web", {"duration_seconds": "1e3"}, "duration_seconds", "1e3")
dead("web/duration_seconds-bool", "web", {"duration_seconds": True}, "duration_seconds", "True")
dead("web/duration_seconds-nan-string", "web", {"duration_seconds": "NaN"}, "duration_seconds", "NaN")
dead("web/duration_seconds-list", "web", {"duration_seconds": [42]}, "duration_seconds")
dead("web/duration_seconds-words", "web", {"duration_seconds": "long"}, "duration_seconds", "long")
decided("web/unknown-field-ignored", "web", {"brand_new_field": {"nested": [1, 2, {"x": None}]}}, {})
decided(
    "web/nul-escape-in-referrer-kept",
    "web",
    {"referrer": "https://evil.example/\u0000x"},
    {"referrer": "https://evil.example/\u0000x"},
)

# --- form.fills --------------------------------------------------------------------------------------

decided("form/email-padded-mixed-case", "form", {"email": " PAT@Hostile-Corp.IO "}, {}, pat_qualifies)
decided("form/email-trailing-dot", "form", {"email": "pat@hostile-corp.io."}, {}, pat_qualifies)
decided(
    "form/email-personal-normalised",
    "form",
    {"email": " Bob@Gmail.com. "},
    {"email": "bob@gmail.com"},
    no_mql_for("bob@gmail.com"),
)
decided("form/email-idn-domain", "form", {"email": "Jörg@Bücher.DE"}, {"email": "jörg@bücher.de"})
decided("form/email-newline-padding", "form", {"email": "pat@hostile-corp.io\n"}, {}, pat_qualifies)
dead("form/email-missing", "form", {"email": DELETE}, "email", "missing")
dead("form/email-empty", "form", {"email": ""}, "email")
dead("form/email-blank", "form", {"email": "   "}, "email")
dead("form/email-no-at", "form", {"email": "bob"}, "email", "bob")
dead("form/email-no-domain", "form", {"email": "bob@"}, "email", "bob@")
dead("form/email-no-local-part", "form", {"email": "@gmail.com"}, "email", "@gmail.com")
dead("form/email-two-ats", "form", {"email": "bob@@gmail.com"}, "email", "bob@@gmail.com")
dead("form/email-domain-without-dot", "form", {"email": "bob@localhost"}, "email", "bob@localhost")
dead("form/email-inner-space", "form", {"email": "bob smith@gmail.com"}, "email", "bob smith@gmail.com")
dead("form/email-empty-label", "form", {"email": "bob@gmail..com"}, "email", "bob@gmail..com")
dead("form/email-underscore-in-domain", "form", {"email": "bob@gma_il.com"}, "email", "bob@gma_il.com")
dead("form/email-two-addresses", "form", {"email": "a@x.io, b@y.io"}, "email", "a@x.io, b@y.io")
dead("form/email-number", "form", {"email": 12345}, "email", "12345")
dead("form/email-null", "form", {"email": None}, "email")
dead("form/email-list", "form", {"email": ["pat@hostile-corp.io"]}, "email")
decided("form/form_type-title-case-with-space", "form", {"form_type": "Demo Request"}, {}, pat_qualifies)
decided("form/form_type-upper-hyphen-padded", "form", {"form_type": " DEMO-REQUEST "}, {}, pat_qualifies)
decided("form/form_type-contact-sales", "form", {"form_type": "Contact Sales"}, {"form_type": "contact_sales"})
dead("form/form_type-unknown", "form", {"form_type": "webinar"}, "form_type", "webinar")
dead("form/form_type-double-space", "form", {"form_type": "Demo  Request"}, "form_type", "Demo  Request")
dead("form/form_type-empty", "form", {"form_type": ""}, "form_type")
dead("form/form_type-null", "form", {"form_type": None}, "form_type")
dead("form/form_type-missing", "form", {"form_type": DELETE}, "form_type", "missing")
dead("form/form_type-number", "form", {"form_type": 1}, "form_type")
dead("form/form_type-list", "form", {"form_type": ["demo_request"]}, "form_type")
decided("form/employee_count-thousands", "form", {"employee_count": "1,000"}, {"employee_count": 1000})
decided("form/employee_count-millions", "form", {"employee_count": "12,345,678"}, {"employee_count": 12345678})
# A count as text has no decimal point ("1.000" is one thousand in much of Europe): refused, not guessed.
dead("form/employee_count-whole-float-string", "form", {"employee_count": "400.0"}, "employee_count", "400.0")
decided("form/employee_count-whole-float", "form", {"employee_count": 400.0}, {"employee_count": 400})
decided("form/employee_count-padded", "form", {"employee_count": " 400 "}, {"employee_count": 400})
decided("form/employee_count-plus-sign", "form", {"employee_count": "+400"}, {"employee_count": 400})
decided("form/employee_count-zero", "form", {"employee_count": "0"}, {"employee_count": 0})
decided("form/employee_count-blank", "form", {"employee_count": "  "}, {"employee_count": DELETE})
decided("form/employee_count-null", "form", {"employee_count": None}, {"employee_count": DELETE})
dead("form/employee_count-500-plus", "form", {"employee_count": "500+"}, "employee_count", "500+")
dead("form/employee_count-dot-as-thousands", "form", {"employee_count": "1.000"}, "employee_count", "1.000")
dead("form/employee_count-bad-grouping", "form", {"employee_count": "1,00"}, "employee_count", "1,00")
dead("form/employee_count-10k", "form", {"employee_count": "10k"}, "employee_count", "10k")
dead("form/employee_count-tilde", "form", {"employee_count": "~50"}, "employee_count", "~50")
dead("form/employee_count-exponent", "form", {"employee_count": "1e3"}, "employee_count", "1e3")
dead("form/employee_count-fraction-string", "form", {"employee_count": "12.5"}, "employee_count", "12.5")
dead("form/employee_count-negative", "form", {"employee_count": -5}, "employee_count", "-5")
dead("form/employee_count-bool", "form", {"employee_count": True}, "employee_count", "True")
dead("form/employee_count-list", "form", {"employee_count": [400]}, "employee_count")
dead("form/employee_count-object", "form", {"employee_count": {"n": 400}}, "employee_count")
dead("form/employee_count-infinity-string", "form", {"employee_count": "Infinity"}, "employee_count", "Infinity")
decided("form/job_title-padded", "form", {"job_title": "  Director of Marketing  "}, {}, pat_qualifies)
decided("form/first_name-blank", "form", {"first_name": "   "}, {"first_name": DELETE})
decided("form/company_domain-case-and-dot", "form", {"company_domain": " Hostile-Corp.IO. "}, {})
decided("form/asset-null", "form", {"asset": None}, {"asset": DELETE})
dead("form/company_name-bool", "form", {"company_name": True}, "company_name", "True")
dead("form/country-list", "form", {"country": ["US"]}, "country")
dead("form/industry-object", "form", {"industry": {"name": "software"}}, "industry")
dead("form/visitor_id-missing", "form", {"visitor_id": DELETE}, "visitor_id", "missing")
dead(
    "form/visit-value-on-form-topic",
    "form",
    {"email": DELETE, "form_type": DELETE, "url": SITE + "/pricing"},
    "email",
    "form_type",
)

# --- crm.changes: envelope of a change ----------------------------------------------------------------

decided("crm/change_type-title-case", "contact", {"change_type": "Contact Upserted"}, {}, kim_qualifies)
decided("crm/change_type-upper-hyphen", "account", {"change_type": "ACCOUNT-UPSERTED"}, {}, sky_qualifies())
decided(
    "crm/change_type-padded",
    "stage",
    {"change_type": "  stage_changed "},
    {},
    pat_lifecycle("disqualified", "wrong_persona"),
)
dead("crm/change_type-unknown", "contact", {"change_type": "contact_deleted"}, "change_type", "contact_deleted")
dead("crm/change_type-empty", "contact", {"change_type": ""}, "change_type")
dead("crm/change_type-null", "contact", {"change_type": None}, "change_type")
dead("crm/change_type-missing", "activity", {"change_type": DELETE}, "change_type", "missing")
dead("crm/change_type-number", "activity", {"change_type": 3}, "change_type")
dead("crm/fields-list", "stage", {"fields": ["stage", "sql"]}, "fields")
dead("crm/fields-string", "stage", {"fields": "stage=sql"}, "fields")
dead("crm/fields-null", "contact", {"fields": None}, "fields")
decided("crm/fields-unknown-key-ignored", "contact", {"fields.hubspot_score": 77}, {}, kim_qualifies)
decided("crm/email-top-level-padded", "contact", {"email": " Kim@Hostile-Corp.IO "}, {})
decided("crm/email-top-level-blank", "activity", {"email": "  "}, {})
dead("crm/email-top-level-invalid", "contact", {"email": "kim(at)hostile-corp.io"}, "email", "kim(at)hostile-corp.io")
dead("crm/email-top-level-number", "activity", {"email": 5}, "email", "5")
decided("crm/actor_id-padded", "stage", {"actor_id": " rep-h "}, {})
dead("crm/actor_id-bool", "stage", {"actor_id": True}, "actor_id", "True")
dead("crm/account_id-list", "account", {"account_id": ["acc-h2"]}, "account_id")

# --- crm.changes contact_upserted -------------------------------------------------------------------

decided("contact/fields.email-normalised", "contact", {"fields.email": " Kim@Hostile-Corp.IO. "}, {}, kim_qualifies)
dead(
    "contact/fields.email-invalid",
    "contact",
    {"fields.email": "kim at hostile-corp"},
    "fields.email",
    "kim at hostile-corp",
)
dead("contact/fields.email-bool", "contact", {"fields.email": False}, "fields.email", "False")
decided("contact/fields.job_title-padded", "contact", {"fields.job_title": "  VP Marketing "}, {}, kim_qualifies)
decided("contact/fields.job_title-number-as-text", "contact", {"fields.job_title": 42}, {"fields.job_title": "42"})
dead("contact/fields.job_title-bool", "contact", {"fields.job_title": True}, "fields.job_title", "True")
dead("contact/fields.job_title-list", "contact", {"fields.job_title": ["VP"]}, "fields.job_title")
dead(
    "contact/fields.job_title-deeply-nested",
    "contact",
    {"fields.job_title": [[[[[[[[[["VP"]]]]]]]]]]},
    "fields.job_title",
)
decided(
    "contact/fields.department-padded-case",
    "contact",
    {"fields.department": "  Marketing "},
    {"fields.department": "Marketing"},
    kim_qualifies,
)
dead("contact/fields.department-object", "contact", {"fields.department": {"name": "sales"}}, "fields.department")
decided("contact/fields.seniority-blank", "contact", {"fields.seniority": ""}, {"fields.seniority": DELETE})
dead("contact/fields.seniority-bool", "contact", {"fields.seniority": False}, "fields.seniority", "False")
decided("contact/fields.country-padded", "contact", {"fields.country": " US "}, {})
dead("contact/fields.country-list", "contact", {"fields.country": ["US"]}, "fields.country")
decided("contact/fields.owner_id-number", "contact", {"fields.owner_id": 12345}, {"fields.owner_id": "12345"})
decided("contact/fields.owner_id-null", "contact", {"fields.owner_id": None}, {"fields.owner_id": DELETE})
dead("contact/fields.owner_id-bool", "contact", {"fields.owner_id": True}, "fields.owner_id", "True")
dead("contact/contact_id-missing", "contact", {"contact_id": DELETE}, "contact_id")
dead("contact/contact_id-blank", "contact", {"contact_id": "  "}, "contact_id")

# --- crm.changes account_upserted -------------------------------------------------------------------

decided("account/fields.domain-case-and-dot", "account", {"fields.domain": " Hostile-Two.IO. "}, {}, sky_qualifies())
decided(
    "account/fields.domain-blank", "account", {"fields.domain": "   "}, {"fields.domain": DELETE}, sky_does_not_qualify
)
dead("account/fields.domain-bool", "account", {"fields.domain": True}, "fields.domain", "True")
decided("account/fields.name-number", "account", {"fields.name": 123}, {"fields.name": "123"})
dead("account/fields.name-list", "account", {"fields.name": ["Hostile"]}, "fields.name")
decided(
    "account/fields.employee_count-thousands",
    "account",
    {"fields.employee_count": "1,000"},
    {"fields.employee_count": 1000},
    sky_qualifies("enterprise"),
)
decided(
    "account/fields.employee_count-small-string",
    "account",
    {"fields.employee_count": "30"},
    {"fields.employee_count": 30},
    sky_does_not_qualify,
)
decided(
    "account/fields.employee_count-blank", "account", {"fields.employee_count": ""}, {"fields.employee_count": DELETE}
)
dead(
    "account/fields.employee_count-500-plus",
    "account",
    {"fields.employee_count": "500+"},
    "fields.employee_count",
    "500+",
)
dead(
    "account/fields.employee_count-fraction",
    "account",
    {"fields.employee_count": 12.5},
    "fields.employee_count",
    "12.5",
)
dead("account/fields.employee_count-negative", "account", {"fields.employee_count": -3}, "fields.employee_count", "-3")
dead("account/fields.employee_count-bool", "account", {"fields.employee_count": True}, "fields.employee_count", "True")
dead(
    "account/fields.employee_count-bad-grouping",
    "account",
    {"fields.employee_count": "1,00"},
    "fields.employee_count",
    "1,00",
)
decided(
    "account/fields.industry-padded",
    "account",
    {"fields.industry": " Software "},
    {"fields.industry": "Software"},
    sky_qualifies(),
)
dead("account/fields.industry-object", "account", {"fields.industry": {}}, "fields.industry")
dead("account/fields.country-bool", "account", {"fields.country": False}, "fields.country", "False")
decided("account/fields.territory-blank", "account", {"fields.territory": ""}, {"fields.territory": DELETE})
decided(
    "account/fields.is_customer-FALSE",
    "account",
    {"fields.is_customer": "FALSE"},
    {"fields.is_customer": False},
    sky_qualifies(),
)
decided(
    "account/fields.is_customer-true-string",
    "account",
    {"fields.is_customer": " True "},
    {"fields.is_customer": True},
    sky_is_an_expansion,
)
decided("account/fields.is_customer-blank", "account", {"fields.is_customer": ""}, {"fields.is_customer": DELETE})
decided("account/fields.is_customer-null", "account", {"fields.is_customer": None}, {"fields.is_customer": DELETE})
dead("account/fields.is_customer-yes", "account", {"fields.is_customer": "yes"}, "fields.is_customer", "yes")
dead("account/fields.is_customer-no", "account", {"fields.is_customer": "no"}, "fields.is_customer", "no")
dead("account/fields.is_customer-one-string", "account", {"fields.is_customer": "1"}, "fields.is_customer", "1")
dead("account/fields.is_customer-zero-string", "account", {"fields.is_customer": "0"}, "fields.is_customer", "0")
dead("account/fields.is_customer-one", "account", {"fields.is_customer": 1}, "fields.is_customer", "1")
dead("account/fields.is_customer-zero", "account", {"fields.is_customer": 0}, "fields.is_customer", "0")
dead("account/fields.is_customer-t", "account", {"fields.is_customer": "t"}, "fields.is_customer", "t")
dead("account/fields.is_customer-list", "account", {"fields.is_customer": [True]}, "fields.is_customer")
decided(
    "account/fields.is_competitor-TRUE",
    "account",
    {"fields.is_competitor": "TRUE"},
    {"fields.is_competitor": True},
    sky_does_not_qualify,
)
dead("account/fields.is_competitor-y", "account", {"fields.is_competitor": "y"}, "fields.is_competitor", "y")
dead("account/fields.is_competitor-float", "account", {"fields.is_competitor": 1.0}, "fields.is_competitor", "1.0")
decided("account/fields.owner_id-number", "account", {"fields.owner_id": 12345}, {"fields.owner_id": "12345"})
dead("account/account_id-missing", "account", {"account_id": DELETE}, "account_id")
dead("account/account_id-empty", "account", {"account_id": ""}, "account_id")

# --- crm.changes activity_logged -------------------------------------------------------------------

decided(
    "activity/fields.activity_type-Call",
    "activity",
    {"fields.activity_type": "Call"},
    {"fields.activity_type": "call"},
    pat_qualifies,
)
decided(
    "activity/fields.activity_type-Webinar-Attended",
    "activity",
    {"fields.activity_type": "Webinar Attended"},
    {"fields.activity_type": "webinar_attended"},
)
decided(
    "activity/fields.activity_type-EMAIL-CLICK",
    "activity",
    {"fields.activity_type": "EMAIL-CLICK"},
    {"fields.activity_type": "email_click"},
)
decided("activity/fields.activity_type-padded", "activity", {"fields.activity_type": "  meeting  "}, {}, pat_qualifies)
dead(
    "activity/fields.activity_type-unknown", "activity", {"fields.activity_type": "fax"}, "fields.activity_type", "fax"
)
dead("activity/fields.activity_type-empty", "activity", {"fields.activity_type": ""}, "activity_type")
dead("activity/fields.activity_type-missing", "activity", {"fields.activity_type": DELETE}, "activity_type")
dead("activity/fields.activity_type-null", "activity", {"fields.activity_type": None}, "activity_type")
dead("activity/fields.activity_type-number", "activity", {"fields.activity_type": 1}, "fields.activity_type", "1")
dead("activity/fields.activity_type-list", "activity", {"fields.activity_type": ["call"]}, "fields.activity_type")
decided(
    "activity/fields.duration_minutes-string",
    "activity",
    {"fields.duration_minutes": "30"},
    {"fields.duration_minutes": 30},
)
decided(
    "activity/fields.duration_minutes-thousands",
    "activity",
    {"fields.duration_minutes": "1,200"},
    {"fields.duration_minutes": 1200},
)
decided(
    "activity/fields.duration_minutes-whole-float",
    "activity",
    {"fields.duration_minutes": 30.0},
    {"fields.duration_minutes": 30},
)
decided(
    "activity/fields.duration_minutes-blank",
    "activity",
    {"fields.duration_minutes": ""},
    {"fields.duration_minutes": DELETE},
)
dead(
    "activity/fields.duration_minutes-fraction",
    "activity",
    {"fields.duration_minutes": "30.5"},
    "fields.duration_minutes",
    "30.5",
)
dead(
    "activity/fields.duration_minutes-negative",
    "activity",
    {"fields.duration_minutes": -1},
    "fields.duration_minutes",
    "-1",
)
dead(
    "activity/fields.duration_minutes-10k",
    "activity",
    {"fields.duration_minutes": "10k"},
    "fields.duration_minutes",
    "10k",
)
dead(
    "activity/fields.duration_minutes-bool",
    "activity",
    {"fields.duration_minutes": True},
    "fields.duration_minutes",
    "True",
)
decided("activity/fields.direction-title-case", "activity", {"fields.direction": "Inbound"}, {}, pat_qualifies)
decided(
    "activity/fields.direction-upper-padded",
    "activity",
    {"fields.direction": " OUTBOUND "},
    {"fields.direction": "outbound"},
    pat_does_not_qualify,
)
decided(
    "activity/fields.direction-blank-defaults-by-actor",
    "activity",
    {"fields.direction": ""},
    {"fields.direction": DELETE},
    pat_does_not_qualify,
)
dead("activity/fields.direction-unknown", "activity", {"fields.direction": "sideways"}, "fields.direction", "sideways")
dead("activity/fields.direction-number", "activity", {"fields.direction": 0}, "fields.direction", "0")
dead("activity/no-contact_id-nor-email", "activity", {"contact_id": DELETE}, "contact_id", "email")
decided(
    "activity/email-only-normalised",
    "activity",
    {"contact_id": DELETE, "email": " Pat@Hostile-Corp.IO "},
    {"contact_id": DELETE, "email": "pat@hostile-corp.io"},
    pat_qualifies,
)

# --- crm.changes stage_changed ----------------------------------------------------------------------

decided(
    "stage/fields.stage-upper",
    "stage",
    {"fields.stage": "SAL", "fields.reason": DELETE},
    {"fields.stage": "sal", "fields.reason": DELETE},
    pat_lifecycle("sal", None),
)
decided(
    "stage/fields.stage-and-reason-title-case",
    "stage",
    {"fields.stage": " Disqualified ", "fields.reason": "Wrong Persona"},
    {},
    pat_lifecycle("disqualified", "wrong_persona"),
)
decided("stage/fields.reason-hyphenated", "stage", {"fields.reason": "Wrong-Persona"}, {})
dead("stage/fields.stage-unknown", "stage", {"fields.stage": "closed"}, "fields.stage", "closed")
dead("stage/fields.stage-mql-not-a-crm-stage", "stage", {"fields.stage": "mql"}, "fields.stage", "mql")
dead("stage/fields.stage-lead-not-a-crm-stage", "stage", {"fields.stage": "lead"}, "fields.stage", "lead")
dead("stage/fields.stage-empty", "stage", {"fields.stage": ""}, "fields.stage")
dead("stage/fields.stage-missing", "stage", {"fields.stage": DELETE}, "fields.stage")
dead("stage/fields.stage-number", "stage", {"fields.stage": 3}, "fields.stage", "3")
dead("stage/fields.reason-missing-for-disqualified", "stage", {"fields.reason": DELETE}, "fields.reason")
dead("stage/fields.reason-empty-for-lost", "stage", {"fields.stage": "lost", "fields.reason": ""}, "fields.reason")
dead(
    "stage/fields.reason-null-for-recycled",
    "stage",
    {"fields.stage": "recycled", "fields.reason": None},
    "fields.reason",
)
dead("stage/fields.reason-unknown", "stage", {"fields.reason": "bad fit"}, "fields.reason", "bad fit")
dead(
    "stage/fields.reason-unknown-on-sal",
    "stage",
    {"fields.stage": "sal", "fields.reason": "bogus"},
    "fields.reason",
    "bogus",
)
dead("stage/fields.reason-bool", "stage", {"fields.reason": True}, "fields.reason", "True")
dead("stage/contact_id-missing", "stage", {"contact_id": DELETE}, "contact_id")

# --- crm.changes opportunity_upserted ----------------------------------------------------------------

decided("opportunity/fields.amount-thousands", "opportunity", {"fields.amount": "50,000"}, {"fields.amount": 50000.0})
decided("opportunity/fields.amount-decimal-string", "opportunity", {"fields.amount": " 12.5 "}, {"fields.amount": 12.5})
decided("opportunity/fields.amount-zero", "opportunity", {"fields.amount": 0}, {"fields.amount": 0.0})
dead("opportunity/fields.amount-negative", "opportunity", {"fields.amount": -1}, "fields.amount", "-1")
dead("opportunity/fields.amount-negative-string", "opportunity", {"fields.amount": "-5"}, "fields.amount", "-5")
dead("opportunity/fields.amount-currency-sign", "opportunity", {"fields.amount": "$5000"}, "fields.amount", "$5000")
dead("opportunity/fields.amount-5k", "opportunity", {"fields.amount": "5k"}, "fields.amount", "5k")
dead("opportunity/fields.amount-exponent", "opportunity", {"fields.amount": "1e6"}, "fields.amount", "1e6")
dead("opportunity/fields.amount-nan-string", "opportunity", {"fields.amount": "NaN"}, "fields.amount", "NaN")
dead("opportunity/fields.amount-bool", "opportunity", {"fields.amount": True}, "fields.amount", "True")
dead("opportunity/fields.amount-list", "opportunity", {"fields.amount": [1]}, "fields.amount")
decided(
    "opportunity/fields.opportunity_id-number",
    "opportunity",
    {"fields.opportunity_id": 987},
    {"fields.opportunity_id": "987"},
)
decided("opportunity/fields.currency-padded", "opportunity", {"fields.currency": " USD "}, {})
decided(
    "opportunity/fields.stage-free-text",
    "opportunity",
    {"fields.stage": "  Closed Won "},
    {"fields.stage": "Closed Won"},
)
dead("opportunity/fields.stage-bool", "opportunity", {"fields.stage": True}, "fields.stage", "True")
dead("opportunity/fields.currency-object", "opportunity", {"fields.currency": {"code": "USD"}}, "fields.currency")

# --- envelope and encoding faults (the file line itself) --------------------------------------------

_WEB_TOPIC, _WEB = TEMPLATES["web"]
_WEB_BYTES = orjson.dumps(_WEB)
_GOOD_LINE = envelope_line(_WEB_TOPIC, _WEB)

dead_raw("line/not-json", b"not json at all", "invalid JSON")
dead_raw(
    "line/truncated-json",
    _GOOD_LINE[: len(_GOOD_LINE) // 2],
    "invalid JSON",
    topic="web.visits",
    value=_WEB_BYTES[: len(_WEB_BYTES) // 2],
)
dead_raw("line/json-array", b"[1, 2, 3]", "object")
dead_raw("line/json-number", b"42", "object")
dead_raw("line/json-string", b'"web.visits"', "object")
dead_raw("line/json-null", b"null", "object")
dead_raw("line/json-true", b"true", "object")
dead_raw("line/topic-missing", orjson.dumps({"value": _WEB}), "topic")
dead_raw("line/topic-unknown", orjson.dumps({"topic": "clicks", "value": _WEB}), "topic", "clicks")
dead_raw("line/topic-wrong-case", orjson.dumps({"topic": "Web.Visits", "value": _WEB}), "topic", "Web.Visits")
dead_raw("line/topic-number", orjson.dumps({"topic": 5, "value": _WEB}), "topic", "5")
dead_raw("line/topic-null", orjson.dumps({"topic": None, "value": _WEB}), "topic")
dead_raw("line/value-missing", orjson.dumps({"topic": "web.visits"}), "value")
dead_raw(
    "line/value-array",
    orjson.dumps({"topic": "web.visits", "value": [_WEB]}),
    "value",
    "array",
    topic="web.visits",
    value=orjson.dumps([_WEB]),
)
dead_raw(
    "line/value-string",
    orjson.dumps({"topic": "web.visits", "value": "hello"}),
    "value",
    "string",
    topic="web.visits",
    value=b'"hello"',
)
dead_raw(
    "line/value-number",
    orjson.dumps({"topic": "form.fills", "value": 7}),
    "value",
    "number",
    topic="form.fills",
    value=b"7",
)
dead_raw("line/value-null-tombstone", orjson.dumps({"topic": "crm.changes", "value": None}), "value")
_BAD_UTF8 = _WEB_BYTES.replace(b"https://www.google.com/", b"https://www.g\xffoogle.com/")
dead_raw(
    "encoding/invalid-utf8-byte-in-a-string",
    raw_line("web.visits", _BAD_UTF8),
    "UTF-8",
    topic="web.visits",
    value=_BAD_UTF8,
)
_OVERLONG = _WEB_BYTES.replace(b"spring", b"spr\xc0\xafing")
dead_raw(
    "encoding/overlong-utf8-sequence", raw_line("web.visits", _OVERLONG), "UTF-8", topic="web.visits", value=_OVERLONG
)
_LATIN1 = orjson.dumps(TEMPLATES["form"][1]).replace(b"Pat", "Jörg".encode("latin-1"))
dead_raw("encoding/latin-1-name", raw_line("form.fills", _LATIN1), "UTF-8", topic="form.fills", value=_LATIN1)
_SURROGATE = _WEB_BYTES.replace(b"s-9", b"s-\\ud800")
dead_raw(
    "encoding/lone-surrogate-escape",
    raw_line("web.visits", _SURROGATE),
    "invalid JSON",
    topic="web.visits",
    value=_SURROGATE,
)
_NUL_IN_STRING = _WEB_BYTES.replace(b"s-9", b"s-\x009")
dead_raw(
    "encoding/raw-nul-inside-a-string",
    raw_line("web.visits", _NUL_IN_STRING),
    "invalid JSON",
    topic="web.visits",
    value=_NUL_IN_STRING,
)
dead_raw("encoding/raw-nul-between-tokens", _GOOD_LINE.replace(b',"value"', b',\x00"value"'), "invalid JSON")
dead_raw("encoding/nul-bytes-only", b"\x00\x00\x00\x00", "invalid JSON")
dead_raw(
    "encoding/utf8-bom",
    b"\xef\xbb\xbf" + _GOOD_LINE,
    "invalid JSON",
    topic="web.visits",
    value=b"\xef\xbb\xbf" + _WEB_BYTES,
)
dead_raw("encoding/utf16-line", _GOOD_LINE.decode().encode("utf-16"), "invalid JSON")
_NAN = _WEB_BYTES.replace(b'"duration_seconds":42', b'"duration_seconds":NaN')
dead_raw("json/nan-literal", raw_line("web.visits", _NAN), "invalid JSON", topic="web.visits", value=_NAN)
_INF = _WEB_BYTES.replace(b'"duration_seconds":42', b'"duration_seconds":1e400')
dead_raw(
    "json/number-overflowing-to-infinity", raw_line("web.visits", _INF), "invalid JSON", topic="web.visits", value=_INF
)
dead_raw("json/trailing-garbage", _GOOD_LINE + b" trailing", "invalid JSON")
dead_raw("json/two-objects-on-one-line", _GOOD_LINE + _GOOD_LINE, "invalid JSON")
dead_raw("json/single-quotes", _GOOD_LINE.replace(b'"', b"'"), "invalid JSON")
dead_raw("json/comment", _GOOD_LINE[:-1] + b" /* note */}", "invalid JSON")
dead_raw("json/trailing-comma", _GOOD_LINE[:-1] + b",}", "invalid JSON")
_DEEP = b'{"topic":"web.visits","value":' + _WEB_BYTES[:-1] + b',"extra":' + b"[" * 5000 + b"]" * 5000 + b"}}"
dead_raw(
    "json/nested-5000-deep",
    _DEEP,
    "invalid JSON",
    topic="web.visits",
    value=_WEB_BYTES[:-1] + b',"extra":' + b"[" * 5000 + b"]" * 5000 + b"}",
)
_NESTED_100 = _WEB_BYTES[:-1] + b',"extra":' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}"
decided_raw(
    "json/nested-100-deep-unknown-field-ignored",
    raw_line("web.visits", _NESTED_100),
    _GOOD_LINE,
    topic="web.visits",
    value=_NESTED_100,
)
dead_raw("line/huge-garbage-3mb", b"x" * 3_000_000, "invalid JSON")
_HUGE_EXTRA = _WEB_BYTES[:-1] + b',"blob":"' + b"a" * 2_000_000 + b'"}'
decided_raw(
    "line/huge-unknown-field-2mb-ignored",
    raw_line("web.visits", _HUGE_EXTRA),
    _GOOD_LINE,
    topic="web.visits",
    value=_HUGE_EXTRA,
)
_DUP_TIME = _WEB_BYTES[:-1] + b',"occurred_at":"2026-03-05T11:00:00Z"}'
decided_raw(
    "json/duplicate-key-last-wins",
    raw_line("web.visits", _DUP_TIME),
    envelope_line("web.visits", {**_WEB, "occurred_at": "2026-03-05T11:00:00Z"}),
    topic="web.visits",
    value=_DUP_TIME,
)
_DUP_BAD_TIME = _WEB_BYTES[:-1] + b',"occurred_at":1772704800}'
dead_raw(
    "json/duplicate-key-last-is-bad",
    raw_line("web.visits", _DUP_BAD_TIME),
    "occurred_at",
    "1772704800",
    topic="web.visits",
    value=_DUP_BAD_TIME,
)
decided_raw(
    "line/duplicate-topic-key-last-wins",
    b'{"topic":"clicks","topic":"web.visits","value":' + _WEB_BYTES + b"}",
    _GOOD_LINE,
)
decided_raw("line/crlf-ending-and-padding", b"  \t" + _GOOD_LINE + b" \r", _GOOD_LINE)
decided_raw("line/extra-envelope-keys-ignored", _GOOD_LINE[:-1] + b',"key":"hv-9","headers":{"x":[1]}}', _GOOD_LINE)
decided_raw(
    "line/pretty-spacing",
    orjson.dumps({"topic": "web.visits", "value": _WEB}, option=orjson.OPT_INDENT_2).replace(b"\n", b" "),
    _GOOD_LINE,
)
decided_raw("line/unicode-escapes-in-strings", _GOOD_LINE.replace(b"spring", b"spr\\u0069ng"), _GOOD_LINE)

CASE_IDS = [c.id for c in CASES]
assert len(CASE_IDS) == len(set(CASE_IDS)), "case ids must be unique"


# --- the invariant -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean() -> Run:
    return clean_run()


@pytest.fixture(scope="module")
def backtest_clean(tmp_path_factory: pytest.TempPathFactory) -> bt.Decisions:
    path = write_history(tmp_path_factory.mktemp("bt") / "clean.jsonl")
    return bt.decide(bt.from_file(path), {"r": RULES}, None, None, with_book=False)


def _backtest(path: Path) -> bt.Decisions:
    return bt.decide(bt.from_file(path), {"r": RULES}, None, None, with_book=False)


def _mql_ids(decisions: bt.Decisions) -> list[str]:
    return sorted(m.mql_id for m in decisions.mqls["r"])


def test_the_history_exercises_every_decision(clean: Run) -> None:
    kinds = {(r["kind"]) for r in clean.records("lead.mql")}
    statuses = {r["status"] for r in clean.records("lead.sla")}
    alerts = {r["kind"] for r in clean.records("lead.alerts")}
    assert kinds == {"contact", "account"}
    assert {"started", "met", "breached", "escalated"} <= statuses
    assert {"buying_committee", "sla_breach"} <= alerts
    assert clean.records("lead.lifecycle")
    for email in ("pat@hostile-corp.io", "kim@hostile-corp.io", "sky@hostile-two.io"):
        assert not _mql_of(clean, email), f"{email} must be one event short of a decision"


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_is_valid_and_changes_what_is_decided_or_seen(template: str, tmp_path: Path, clean: Run) -> None:
    """So a "decided as" case compares decisions that exist (the opportunity only feeds the backtest)."""
    topic, value = TEMPLATES[template]
    assert isinstance(edge_verdict(topic, orjson.dumps(value)), SPEC_OF[topic].model)
    run = run_replay(write_history(tmp_path / "h.jsonl", [envelope_line(topic, value)]))
    assert not run.dead_letters()
    if template != "opportunity":
        assert run.lines != clean.lines, f"the {template} template has no visible effect"


def test_the_matrix_has_at_least_120_cases() -> None:
    assert len(CASES) >= 120, len(CASES)
    topics = {c.topic for c in CASES}
    assert {"web.visits", "form.fills", "crm.changes", None} <= topics


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_hostile_line(case: Case, tmp_path: Path, clean: Run, backtest_clean: bt.Decisions) -> None:
    path = write_history(tmp_path / "hostile.jsonl", [case.line])
    run = run_replay(path)  # (a) returns normally: any exception fails the case
    position = f"line {MIDDLE + 1}"

    if case.expect == "dead":
        letters = run.dead_letters()
        assert len(letters) == 1, f"expected one dead letter, got {letters!r:.2000}"
        [letter] = letters
        assert letter["position"] == position
        for needle in case.needles:
            assert needle in letter["error"], f"{needle!r} not in the reason {letter['error']!r}"
        if b"\\" not in case.line and _is_utf8(case.line):
            assert letter["raw"] == case.line.strip().decode(), "the dead letter keeps the line"
        # (b) everything else is exactly the clean run
        assert run.without_dead_letters() == clean.lines
        verdict_replayed: str | None = letter["error"]
    else:
        assert not run.dead_letters(), f"should be accepted: {run.dead_letters()!r:.2000}"
        assert case.canonical is not None
        expected = run_replay(write_history(tmp_path / "canonical.jsonl", [case.canonical]))
        assert not expected.dead_letters(), "the canonical line must be valid"
        assert _decisions(run) == _decisions(expected), "decided differently from the canonical value"
        if case.check is not None:
            case.check(expected)
        verdict_replayed = None

    # The live edge gives the same verdict on the same value.
    if case.value is not None and case.topic is not None:
        live = edge_verdict(case.topic, case.value)
        if verdict_replayed is not None:
            assert isinstance(live, models.DeadLetter), f"replay refused it, the live edge accepted {live!r:.500}"
            assert same_error(live.error, verdict_replayed), (live.error, verdict_replayed)
        else:
            assert not isinstance(live, models.DeadLetter), f"replay accepted it, live refused: {live.error}"
            canonical_value = orjson.loads(case.canonical)["value"]  # type: ignore[arg-type]
            wanted = edge_verdict(case.topic, orjson.dumps(canonical_value))
            assert normalised_model(live) == normalised_model(wanted)

    # The file backtest sees the same events.
    decisions = _backtest(path)
    if case.expect == "dead":
        assert decisions.dead_letters == backtest_clean.dead_letters + 1
        assert _mql_ids(decisions) == _mql_ids(backtest_clean)
        assert decisions.breaches == backtest_clean.breaches
    else:
        assert decisions.dead_letters == backtest_clean.dead_letters
        assert _mql_ids(decisions) == sorted(m["mql_id"] for m in expected.records("lead.mql"))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


_TIME_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _decisions(run: Run) -> list[Any]:
    """The outputs with times compared as instants (an offset in the input may show in an output)."""

    def norm(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: norm(v) for k, v in node.items()}
        if isinstance(node, list):
            return [norm(v) for v in node]
        if isinstance(node, str) and _TIME_TEXT.match(node):
            at = datetime.fromisoformat(node)
            return ("instant", int(at.timestamp() * 1000))
        return node

    return [norm(orjson.loads(line)) for line in run.lines]


# --- beyond one line ----------------------------------------------------------------------------------


def test_personal_email_gets_the_negative_once_normalised(tmp_path: Path) -> None:
    """The same form qualifies from the company address and not from " Bob@Gmail.com. "."""
    topic, value = TEMPLATES["form"]
    corporate = run_replay(
        write_history(tmp_path / "a.jsonl", [envelope_line(topic, {**value, "email": "bob@hostile-corp.io"})])
    )
    personal = run_replay(
        write_history(tmp_path / "b.jsonl", [envelope_line(topic, {**value, "email": " Bob@Gmail.com. "})])
    )
    assert _mql_of(corporate, "bob@hostile-corp.io"), "the company address qualifies"
    assert not personal.dead_letters()
    assert not _mql_of(personal, "bob@gmail.com") and not _mql_of(personal, " Bob@Gmail.com. ")


def test_a_far_future_event_never_moves_the_clock(tmp_path: Path, clean: Run) -> None:
    """A 2099 event sorted last in event time would fire every pending SLA timer if it moved the clock."""
    path = write_history(tmp_path / "h.jsonl")
    with path.open("ab") as fh:
        fh.write(envelope_line(*_with(TEMPLATES["account"], {"occurred_at": "2099-01-01T00:00:00Z"})) + b"\n")
    out = io.BytesIO()
    replay(path, out, RULES)  # no --until: only event time moves the clock
    plain = io.BytesIO()
    replay(write_history(tmp_path / "plain.jsonl"), plain, RULES)
    lines = [line for line in out.getvalue().splitlines() if not line.startswith(b'{"topic":"lead.deadletter"')]
    assert lines == plain.getvalue().splitlines()
    [letter] = [
        orjson.loads(x)["value"] for x in out.getvalue().splitlines() if x.startswith(b'{"topic":"lead.deadletter"')
    ]
    assert "ahead" in letter["error"] and "occurred_at" in letter["error"]


def _with(template: tuple[str, dict], changes: dict[str, object]) -> tuple[str, dict]:
    return template[0], _apply(template[1], changes)


def test_every_kind_of_bad_line_at_once_still_decides_the_rest(tmp_path: Path, clean: Run) -> None:
    """All the dead-lettered cases in one file, spread through it: each gives its own dead letter at
    its own line, and the valid lines decide exactly as without them."""
    bad = [c for c in CASES if c.expect == "dead"]
    lines = list(history_lines())
    positions = []
    step = max(1, len(lines) // (len(bad) + 1))
    for i, case in enumerate(bad):
        at = (i + 1) * step + i
        lines.insert(at, case.line)
        positions.append(f"line {at + 1}")
    path = tmp_path / "all.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    run = run_replay(path)
    assert run.without_dead_letters() == clean.lines
    assert sorted(d["position"] for d in run.dead_letters()) == sorted(positions)
    assert run.summary.dead_letters == len(bad)


def test_the_cli_replays_a_hostile_file_and_exits_zero(tmp_path: Path) -> None:
    """``leadstream replay`` itself: non-UTF-8 and NUL bytes in the raw lines are written out with
    escapes, the output is valid JSON lines, the run exits 0."""
    import subprocess
    import sys

    nasty = [c.line for c in CASES if c.id.startswith(("encoding/", "json/nan", "line/not-json", "line/json-"))]
    path = write_history(tmp_path / "h.jsonl", nasty)
    out = tmp_path / "out.jsonl"
    exe = Path(sys.executable).with_name("leadstream")
    result = subprocess.run(
        [str(exe), "replay", "--input", str(path), "--output", str(out), "--until", "2026-03-11T12:00:00Z"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    dead_letters = [r for r in records if r["topic"] == "lead.deadletter"]
    assert len(dead_letters) == len(nasty)
    assert [r for r in records if r["topic"] == "lead.mql"]


def test_now_pins_the_reference_for_far_ahead_events(tmp_path: Path) -> None:
    """``--now`` makes a backfill's clock explicit: relative to 2026-03-05T09:00Z, an event at 10:00 is
    an hour ahead and refused; the history without it decides the same."""
    import subprocess
    import sys

    topic, value = TEMPLATES["form"]
    lines = [envelope_line(*PREFIX[0]), envelope_line(*PREFIX[1]), envelope_line(topic, value)]
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    out = tmp_path / "out.jsonl"
    exe = Path(sys.executable).with_name("leadstream")
    result = subprocess.run(
        [str(exe), "replay", "--input", str(path), "--output", str(out), "--now", "2026-03-05T09:00:00Z"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    [letter] = [r["value"] for r in records if r["topic"] == "lead.deadletter"]
    assert letter["position"] == "line 3" and "ahead" in letter["error"]
    assert not [r for r in records if r["topic"] == "lead.mql"]


def test_an_old_event_is_accepted_and_decided_in_event_time(tmp_path: Path, clean: Run) -> None:
    """Within range but long before the history: not a dead letter; in replay it sorts first."""
    run = run_replay(
        write_history(
            tmp_path / "h.jsonl", [envelope_line(*_with(TEMPLATES["web"], {"occurred_at": "1999-01-01T00:00:00Z"}))]
        )
    )
    assert not run.dead_letters()
    assert run.summary.input_lines == len(history_lines()) + 1


def test_a_blank_line_is_skipped_not_dead_lettered(tmp_path: Path, clean: Run) -> None:
    run = run_replay(write_history(tmp_path / "h.jsonl", [b"   \t "]))
    assert run.lines == clean.lines
