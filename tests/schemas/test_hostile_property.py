"""Generated garbage at the edge (issue 11 item 8), with the invariant of the hostile matrix:

(i) arbitrary byte lines and arbitrary JSON values inserted into a valid history never crash
    replay; each inserted line gives exactly one dead letter at its own line number or is accepted;
    when every inserted line was dead-lettered, the valid lines decide exactly as without them;
(ii) replay's verdict on a value is the live edge's (``schemas.validation.accept``) verdict on it,
    word for word.
"""

from __future__ import annotations

import copy
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import models
from tests.schemas.test_hostile_matrix import (
    TEMPLATES,
    Run,
    clean_run,
    edge_verdict,
    envelope_line,
    history_lines,
    run_replay,
    same_error,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every field name of SPEC §2, top level and in CRM ``fields``.
TOP_LEVEL = {
    "web.visits": [
        "event_id",
        "occurred_at",
        "visitor_id",
        "contact_id",
        "url",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "session_id",
        "duration_seconds",
        "company_domain",
    ],
    "form.fills": [
        "event_id",
        "occurred_at",
        "visitor_id",
        "email",
        "form_type",
        "asset",
        "first_name",
        "last_name",
        "job_title",
        "company_name",
        "company_domain",
        "industry",
        "country",
        "employee_count",
        "utm_source",
        "utm_medium",
        "utm_campaign",
    ],
    "crm.changes": [
        "event_id",
        "occurred_at",
        "change_type",
        "contact_id",
        "account_id",
        "email",
        "actor_id",
        "fields",
    ],
}
CRM_FIELDS = [
    "email",
    "job_title",
    "department",
    "seniority",
    "country",
    "owner_id",
    "domain",
    "name",
    "employee_count",
    "industry",
    "territory",
    "is_customer",
    "is_competitor",
    "activity_type",
    "duration_minutes",
    "direction",
    "stage",
    "reason",
    "opportunity_id",
    "amount",
    "currency",
]

# --- strategies ---------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def times(draw: st.DrawFn) -> str:
    """Strings around valid RFC 3339 times: separators, case, fractions, offsets, whitespace, range."""
    at = draw(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
    minutes = draw(st.integers(min_value=-26 * 60, max_value=26 * 60))
    sep = draw(st.sampled_from(["T", "t", " ", "_", ""]))
    text = at.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    fraction = draw(st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=10).map(lambda d: "." + d)))
    sign = "-" if minutes < 0 else "+"
    offset = draw(
        st.sampled_from(["Z", "z", "", f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}", "+0100", "UTC"])
    )
    pad = draw(st.sampled_from(["", " ", "\t", "\n "]))
    return pad + text + fraction + offset + pad


@st.composite
def numbers_as_text(draw: st.DrawFn) -> str:
    n = draw(
        st.one_of(st.integers(min_value=-(10**7), max_value=10**9), st.floats(allow_nan=True, allow_infinity=True))
    )
    text = draw(st.sampled_from([f"{n}", f"{n:,}" if isinstance(n, int) else f"{n}", f"{n}".replace("0", ",")]))
    return draw(st.sampled_from(["", " ", "+", "~"])) + text + draw(st.sampled_from(["", " ", "+", "k", ".0", ".5"]))


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.sampled_from(["bob", "Bob", "b.o+b", "", " bob", "b ob", "bób"]))
    at = draw(st.sampled_from(["@", "@@", "", " @"]))
    domain = draw(
        st.sampled_from(["gmail.com", "Gmail.COM.", "hostile-corp.io", "localhost", "a..b", "-x.io", "bücher.de"])
    )
    return draw(st.sampled_from(["", " ", "\n"])) + local + at + domain + draw(st.sampled_from(["", ".", " ", ".."]))


words = st.sampled_from(
    [
        "true",
        "FALSE",
        " True ",
        "yes",
        "0",
        "1",
        "Call",
        "Webinar Attended",
        "EMAIL-CLICK",
        "Inbound",
        "SAL",
        "Disqualified",
        "Wrong Persona",
        "Demo Request",
        "contact_upserted",
        "Stage Changed",
        "",
        "   ",
    ]
)
field_values = st.one_of(json_values, times(), numbers_as_text(), emails(), words)


@st.composite
def hostile_values(draw: st.DrawFn) -> tuple[str, Any]:
    """(topic, value): a valid template with some real fields set to random values or removed,
    or now and then a value that is not an object at all."""
    topic, template = TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)))]
    if draw(st.integers(0, 19)) == 0:
        return topic, draw(json_values)
    value = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, 4))):
        names = TOP_LEVEL[topic] + ([f"fields.{k}" for k in CRM_FIELDS] if topic == "crm.changes" else [])
        name = draw(st.sampled_from(names))
        target = value
        if name.startswith("fields."):
            if not isinstance(value.get("fields"), dict):
                continue
            target, name = value["fields"], name.removeprefix("fields.")
        if draw(st.integers(0, 5)) == 0:
            target.pop(name, None)
        else:
            target[name] = draw(field_values)
    return topic, value


byte_lines = st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" "))


@st.composite
def hostile_lines(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(byte_lines)
    topic, value = draw(hostile_values())
    line = (
        envelope_line(topic, value) if kind < 3 else orjson.dumps({"topic": draw(st.text(max_size=12)), "value": value})
    )
    if draw(st.integers(0, 7)) == 0:  # a few corrupted bytes inside an otherwise plausible line
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(st.binary(min_size=1, max_size=4)).replace(b"\n", b" ") + line[at:]
    return line


# --- (i) garbage never crashes replay, and only costs its own line ---------------------------------------


def _replay_with(inserted: list[tuple[int, bytes]]) -> tuple[Run, dict[int, bytes]]:
    """The history with lines inserted at (index into the original history) places; returns the run
    and {line number: inserted line}."""
    lines = list(history_lines())
    numbered: dict[int, bytes] = {}
    for offset, (at, line) in enumerate(sorted(inserted, key=lambda item: item[0])):
        lines.insert(at + offset, line)
        numbered[at + offset + 1] = line
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        return run_replay(path), numbered


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(history_lines())), hostile_lines()), min_size=1, max_size=4))
def test_garbage_lines_never_crash_replay_and_cost_only_their_own_line(inserted: list[tuple[int, bytes]]) -> None:
    run, numbered = _replay_with(inserted)  # returns normally, whatever the bytes
    letters = run.dead_letters()
    positions = [d["position"] for d in letters]
    assert len(positions) == len(set(positions)), "one dead letter per bad line"
    real = {f"line {n}" for n, line in numbered.items() if line.strip()}
    assert set(positions) <= real, "only inserted lines are dead-lettered"
    for letter in letters:
        assert letter["error"], "a dead letter says why"
    if set(positions) == real:
        assert run.without_dead_letters() == clean_run().lines, "valid lines decide as without the garbage"


# --- (ii) replay and the live edge give the same verdict -----------------------------------------------


def _replay_verdict(topic: str, value: Any) -> str | None:
    """The dead letter's reason when replay refuses the value, None when it accepts it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "one.jsonl"
        path.write_bytes(envelope_line(topic, value) + b"\n")
        run = run_replay(path)
    letters = run.dead_letters()
    assert len(letters) <= 1
    return letters[0]["error"] if letters else None


@SETTINGS
@given(hostile_values())
def test_replay_and_the_live_edge_give_the_same_verdict(topic_value: tuple[str, Any]) -> None:
    topic, value = topic_value
    replayed = _replay_verdict(topic, value)
    live = edge_verdict(topic, orjson.dumps(value))
    if replayed is None:
        assert not isinstance(live, models.DeadLetter), f"replay accepted it, live refused: {live.error}"
    else:
        assert isinstance(live, models.DeadLetter), f"replay refused it ({replayed}), live accepted it"
        assert same_error(live.error, replayed), (live.error, replayed)


@SETTINGS
@given(times())
def test_a_time_string_is_read_alike_everywhere(text: str) -> None:
    """A time both paths accept is the same instant in both (the replay index sorts by it too)."""
    topic, template = TEMPLATES["web"]
    value = {**template, "occurred_at": text}
    replayed = _replay_verdict(topic, value)
    live = edge_verdict(topic, orjson.dumps(value))
    assert (replayed is None) == (not isinstance(live, models.DeadLetter)), (text, replayed, live)
    if replayed is None:
        assert isinstance(live, models.WebVisit)
        assert live.occurred_at.tzinfo is not None
        assert datetime(1970, 1, 1, tzinfo=UTC) <= live.occurred_at < datetime(9999, 1, 1, tzinfo=UTC)
        assert live.occurred_at <= datetime.now(UTC) + timedelta(seconds=300)


def test_strategies_reach_both_verdicts() -> None:
    """A sanity check on the generators: they produce accepted and refused values."""
    seen = set()

    @settings(max_examples=60, deadline=None)
    @given(hostile_values())
    def probe(topic_value: tuple[str, Any]) -> None:
        topic, value = topic_value
        seen.add(isinstance(edge_verdict(topic, orjson.dumps(value)), models.DeadLetter))

    probe()
    assert seen == {True, False}
