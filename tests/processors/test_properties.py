"""Invariants of the engine over generated histories (hypothesis)."""

from __future__ import annotations

from datetime import timedelta

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors import intent
from processors.clock import DAY_MS
from processors.engine import Engine
from processors.rules import load_rules
from schemas.models import Mql, Sla
from tests.processors.builders import FIT, account, activity, at, contact, form, ms, of, stage, visit

RULES = load_rules()
PATHS = [
    "/pricing",
    "/demo",
    "/compare/vs-x",
    "/integrations/a",
    "/customers/x",
    "/blog/y",
    "/careers/z",
    "/",
]
FORMS = ["demo_request", "trial_signup", "content_download", "webinar_registration", "newsletter"]
EMAILS = ["a@acme.io", "b@acme.io", "c@acme.io", "d@gmail.com", "e@other.org"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def histories(draw: st.DrawFn) -> list:
    """Mixed histories over a few visitors, contacts and one account, in event-time order."""
    n = draw(st.integers(min_value=1, max_value=40))
    minutes = sorted(draw(st.lists(st.integers(0, 60 * 24 * 45), min_size=n, max_size=n)))
    events = [account(at(-200), "acc-1", "acme.io", event_id="acc-1")]
    events += [
        contact(at(-190), f"c-{i}", EMAILS[i], department=d, event_id=f"ct-{i}")
        for i, d in ((0, "it"), (1, "finance"), (2, "sales"))
    ]
    for i, m in enumerate(minutes):
        when = at(m)
        who = draw(st.integers(0, 4))
        kind = draw(st.sampled_from(["visit", "visit", "visit", "form", "activity", "stage"]))
        eid = f"e-{i}"
        if kind == "visit":
            known = {"contact_id": f"c-{who}"} if who < 3 and draw(st.booleans()) else {}
            events.append(visit(when, f"v{who}", draw(st.sampled_from(PATHS)), event_id=eid, **known))
        elif kind == "form":
            events.append(form(when, f"v{who}", EMAILS[who], draw(st.sampled_from(FORMS)), event_id=eid, **FIT))
        elif kind == "activity" and who < 3:
            events.append(
                activity(
                    when,
                    f"c-{who}",
                    draw(st.sampled_from(["call", "email", "webinar_attended"])),
                    event_id=eid,
                    duration_minutes=30,
                )
            )
        elif who < 3:
            to = draw(st.sampled_from(["sal", "recycled", "nurture", "disqualified"]))
            events.append(stage(when, f"c-{who}", to, reason="other"))
    return events


def _run(events: list, until_days: float = 60) -> list[bytes]:
    engine = Engine(RULES)
    out = engine.run(events) + engine.advance(ms(at(0, days=until_days)))
    return [orjson.dumps(r.model_dump(mode="json")) for r in out]


@SETTINGS
@given(histories())
def test_same_input_gives_same_output(events: list) -> None:
    assert _run(events) == _run(events)


@SETTINGS
@given(histories(), st.data())
def test_duplicating_any_event_changes_nothing(events: list, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(events) - 1))
    j = data.draw(st.integers(i, len(events)))
    duplicated = events[:j] + [events[i]] + events[j:]
    assert _run(duplicated) == _run(events)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 90 * 24), st.sampled_from(PATHS)), min_size=1, max_size=30))
def test_nothing_outside_the_window_counts(visits: list[tuple[int, str]]) -> None:
    """Anonymous visits older than the window before identification leave the MQL unchanged."""
    identify = at(0, days=90)
    horizon = identify - timedelta(days=RULES.window_days)
    history = [visit(at(h * 60), "v1", p, event_id=f"w-{k}") for k, (h, p) in enumerate(sorted(visits))]
    recent = [v for v in history if v.occurred_at > horizon]
    tail = [form(identify, "v1", "a@acme.io", "trial_signup", event_id="f-1", **FIT)]
    assert _run(history + tail, 120) == _run(recent + tail, 120)


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, 29 * 24 * 60), st.sampled_from(PATHS)), min_size=1, max_size=30),
    st.integers(0, 40 * 24 * 60),
    st.integers(0, 40 * 24 * 60),
)
def test_decay_never_raises_a_score(signals: list, t1: int, t2: int) -> None:
    """With no new events, intent at a later time is never higher (unless a penalty expired)."""
    window: list = []
    for k, (m, path) in enumerate(sorted(signals)):
        hit = intent.url_signal(f"https://x.io{path}", RULES)
        if hit:
            intent.add_signal(window, (ms(at(m)), hit[0], hit[1], f"e{k}"), RULES)
    early, late = sorted((t1, t2))
    early_ms, late_ms = ms(at(early)), ms(at(late))
    later_score = intent.scored(window, late_ms, 0, RULES)[0]
    earlier_score = intent.scored(window, early_ms, 0, RULES)[0]
    w = RULES.window_days * DAY_MS
    penalty_left = any(s[2] < 0 and early_ms - w < s[0] <= late_ms - w for s in window)
    arrived = any(early_ms < s[0] <= late_ms for s in window)
    if not penalty_left and not arrived:
        assert later_score <= earlier_score + 1e-9


@SETTINGS
@given(
    st.integers(0, 7 * 24 * 3600),
    st.sampled_from(["demo_request", "content_download"]),
    st.integers(-120, 120),
)
def test_sla_deadlines_are_exact_to_the_second(offset_s: int, form_type: str, respond_delta_s: int) -> None:
    engine = Engine(RULES)
    start = at(0) + timedelta(seconds=offset_s)
    events = [
        contact(at(-10), "c-1", "a@acme.io"),
        *[
            visit(start - timedelta(minutes=3 - i), "v1", p)
            for i, p in enumerate(["/pricing", "/compare/x", "/integrations/y"])
        ],
        form(start, "v1", "a@acme.io", form_type, **FIT),
    ]
    out = engine.run(events)
    [started] = [s for s in of(Sla, out) if s.status == "started"]
    [mql] = of(Mql, out)
    tier_s = int(RULES.sla.tiers[mql.priority] * 60)
    assert started.deadline - started.started_at == timedelta(seconds=tier_s)
    response = started.deadline + timedelta(seconds=respond_delta_s)
    fired = engine.run([activity(response, "c-1", "call")])
    statuses = [s.status for s in of(Sla, fired)]
    if respond_delta_s <= 0:
        assert statuses[-1] == "met" and "breached" not in statuses
        assert of(Sla, fired)[-1].response_seconds == tier_s + respond_delta_s
    else:
        assert "breached" in statuses
        [breach] = [s for s in of(Sla, fired) if s.status == "breached"]
        assert breach.occurred_at == started.deadline
