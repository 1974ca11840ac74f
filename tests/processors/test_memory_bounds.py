"""Memory stays bounded under hostile patterns (issue 11 item 6), and CRM contacts are still kept.

Anyone who reaches the web tracker can send visits with made-up ``contact_id`` values; each one
used to create a contact that never expired. Long distinct URLs used to fill the URL memo.
"""

from __future__ import annotations

import pytest

from processors.engine import Engine
from processors.rules import Rules
from processors.rules.memo import ENTRY_BYTES, BoundedMemo, key_bytes
from schemas.models import CrmChange

from .builders import FIT, activity, at, contact, form, ms, stage, visit

LATER = ms(at(0, days=200))  # well past IDLE_WINDOWS windows of 30 days


def _hostile(engine: Engine, n: int, day: float = 0) -> None:
    engine.run([visit(at(i, days=day), f"hv-{i}", "/blog/x", contact_id=f"hc-{i}") for i in range(n)])


def test_contacts_only_web_visits_named_are_forgotten_with_their_index_entries(engine: Engine) -> None:
    _hostile(engine, 50)
    assert len(engine.store.contacts) == 50 and len(engine.store.crm_ids) == 50
    assert not any(c.crm_confirmed for c in engine.store.contacts.values())
    engine.advance(LATER)
    st = engine.store
    assert st.contacts == {} and st.crm_ids == {} and st.visitors == {}


def test_a_contact_with_a_signal_in_its_window_is_not_forgotten_until_the_window_is_empty(engine: Engine) -> None:
    engine.run([visit(at(0), "hv-1", "/pricing", contact_id="hc-1")])
    assert engine.store.contacts["hc-1"].window, "a pricing visit is a signal"
    engine.advance(LATER)
    assert engine.store.contacts == {}, "idle and its window expired: gone"


@pytest.mark.parametrize(
    "told",
    [
        lambda: contact(at(5), "hc-1", "dana@acme.io"),
        lambda: stage(at(5), "hc-1", "sal"),
        lambda: activity(at(5), "hc-1", "webinar_attended", direction="inbound", actor=None, duration_minutes=1),
    ],
    ids=["contact_upserted", "stage_changed", "activity_logged"],
)
def test_a_web_visit_contact_the_crm_then_names_is_kept(engine: Engine, told) -> None:  # type: ignore[no-untyped-def]
    _hostile(engine, 3)
    change: CrmChange = told()
    engine.run([change])
    assert engine.store.contacts["hc-1"].crm_confirmed
    engine.advance(LATER)
    assert list(engine.store.contacts) == ["hc-1"] and list(engine.store.crm_ids) == ["hc-1"]


def test_crm_contacts_are_kept_as_before(engine: Engine) -> None:
    engine.run(
        [
            contact(at(0), "c-1", "ann@acme.io"),
            stage(at(1), "c-2", "sal"),
            activity(at(2), "c-3", "call"),
        ]
    )
    engine.advance(LATER)
    assert sorted(engine.store.contacts) == ["c-1", "c-2", "c-3"]
    assert sorted(engine.store.crm_ids) == ["c-1", "c-2", "c-3"]


def test_a_web_lead_the_crm_links_by_email_is_kept(engine: Engine) -> None:
    engine.run([form(at(0), "v1", "dana@acme.io", "newsletter"), contact(at(1), "crm-9", "dana@acme.io")])
    key = engine.store.crm_ids["crm-9"]
    assert key.startswith("lead") and engine.store.contacts[key].crm_confirmed
    engine.advance(LATER)
    assert list(engine.store.contacts) == [key] and engine.store.emails == {"dana@acme.io": key}


def test_a_visitor_whose_contact_was_forgotten_browses_on_as_anonymous(engine: Engine) -> None:
    engine.run([visit(at(0), "v1", "/blog/x", contact_id="hc-1")])
    engine.run([visit(at(0, days=d), "v1", "/about") for d in range(5, 130, 10)])  # no signal: only the visitor
    engine.advance(LATER - 60 * 86_400_000)
    assert "hc-1" not in engine.store.contacts and engine.store.visitors["v1"].contact_key == "hc-1"
    engine.run([visit(at(0, days=141), "v1", "/pricing")])
    assert engine.store.visitors["v1"].pending, "the signal waits on the visitor"
    engine.run([form(at(1, days=141), "v1", "dana@acme.io", "demo_request", **FIT)])
    c = engine.store.contacts[engine.store.emails["dana@acme.io"]]
    assert any(s[1] == "pricing_page" for s in c.window), "and joins the contact the form identifies"


def test_a_forgotten_contact_id_seen_again_starts_afresh(engine: Engine) -> None:
    engine.run([visit(at(0), "v1", "/blog/x", contact_id="hc-1")])
    engine.advance(LATER)
    engine.run([visit(at(0, days=201), "v1", "/blog/x", contact_id="hc-1")])
    assert engine.store.crm_ids == {"hc-1": "hc-1"} and not engine.store.contacts["hc-1"].crm_confirmed


# --- memos --------------------------------------------------------------------------------------


def test_memo_keeps_its_key_bytes_within_budget() -> None:
    calls: list[str] = []
    memo: BoundedMemo[str, int] = BoundedMemo(lambda k: calls.append(k) or len(k), limit=1_000_000, max_bytes=10_000)
    for i in range(1_000):
        key = f"{i:04d}" + "x" * 996  # 1,000 characters each
        assert memo[key] == 1_000
        assert memo.bytes <= 10_000 and memo.bytes == sum(key_bytes(k) + ENTRY_BYTES for k in memo)
    assert 0 < len(memo) <= 10_000 // (1_000 + ENTRY_BYTES)
    calls.clear()
    last = next(reversed(memo))
    assert memo[last] == 1_000 and calls == [], "a cached key is a plain lookup"


def test_memo_computes_a_very_long_key_without_storing_it() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(len, limit=10)
    assert memo["y" * 100_000] == 100_000 and len(memo) == 0 and memo.bytes == 0
    assert memo["short"] == 5 and len(memo) == 1


def test_memo_still_starts_afresh_at_its_entry_limit() -> None:
    memo: BoundedMemo[int, int] = BoundedMemo(lambda k: k * 2, limit=3)
    for i in range(7):
        assert memo[i] == i * 2
    assert len(memo) <= 3


def test_memo_counts_the_strings_in_tuple_keys() -> None:
    memo: BoundedMemo[tuple[int | None, str | None], int] = BoundedMemo(lambda k: 1, limit=100, max_key_bytes=50)
    memo[(400, "google")]
    memo[(None, "s" * 51)]  # too long to keep
    assert list(memo) == [(400, "google")] and memo.bytes == 6 + ENTRY_BYTES


def test_long_distinct_urls_do_not_fill_the_url_memo(rules: Rules) -> None:
    engine = Engine(rules)
    engine.run([visit(at(i), f"v{i % 5}", f"/p/{i}/" + "x" * 100_000) for i in range(50)])
    memo = rules.intent.url_memo
    assert memo.bytes <= memo.max_bytes and all(len(k) <= memo.max_key_bytes for k in memo)
