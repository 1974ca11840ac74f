"""State survives serialisation: a restored engine decides exactly as one that never stopped."""

from __future__ import annotations

from itertools import islice

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import codec
from processors.engine import Engine, Store
from processors.rules import load_rules
from schemas.catalog import BY_NAME
from tools.workload import WorkloadConfig, generate

RULES = load_rules()
EVENTS = [
    BY_NAME[stream].model.model_validate(value)
    for stream, value in islice(
        generate(WorkloadConfig(seed=4, events=6_000, accounts=40, contacts=400, days=20)), 6_000
    )
]


def _restored(store: Store) -> Store:
    """What a restarted worker rebuilds from its changelogs."""
    copy = Store(
        contacts={k: codec.load_contact(codec.dump_contact(c)) for k, c in store.contacts.items()},
        visitors={k: codec.load_visitor(codec.dump_visitor(v)) for k, v in store.visitors.items()},
        accounts={k: codec.load_account(codec.dump_account(a)) for k, a in store.accounts.items()},
        emails=dict(store.emails), crm_ids=dict(store.crm_ids), domains=dict(store.domains),
        aliases=dict(store.aliases), seen=dict(store.seen),
        clock_ms=store.clock_ms, watermark_ms=store.watermark_ms, last_sweep_ms=store.last_sweep_ms,
    )  # fmt: skip
    copy.rebuild_timers(RULES)
    return copy


def _json(records: list) -> list[bytes]:
    return [orjson.dumps(r.model_dump(mode="json")) for r in records]


@settings(max_examples=8, deadline=None)
@given(st.integers(min_value=1, max_value=len(EVENTS) - 1))
def test_restart_from_serialised_state_gives_the_same_decisions(cut: int) -> None:
    straight = Engine(RULES)
    expected = _json(straight.run(EVENTS))
    first = Engine(RULES)
    before = first.run(EVENTS[:cut])
    resumed = Engine(RULES, _restored(first.store))
    assert _json(before) + _json(resumed.run(EVENTS[cut:])) == expected


def _visit(i: int, contact_id: str) -> object:
    return BY_NAME["web_visits"].model.model_validate(
        {"event_id": f"hv-{i}", "occurred_at": "2026-03-02T09:00:00Z", "visitor_id": f"hv-{i}",
         "contact_id": contact_id, "url": "https://www.leadstream-demo.com/"}
    )  # fmt: skip


def test_an_unconfirmed_contact_stays_unconfirmed_after_a_restart() -> None:
    """A contact only web visits named must not become permanent by going through the changelog."""
    first = Engine(RULES)
    first.run([_visit(1, "hc-1")])  # type: ignore[list-item]
    raw = codec.dump_contact(first.store.contacts["hc-1"])
    assert orjson.loads(raw)["contact"]["crm_confirmed"] is False
    resumed = Engine(RULES, _restored(first.store))
    assert resumed.store.contacts["hc-1"].crm_confirmed is False
    resumed.advance(first.store.clock_ms + 200 * 86_400_000)
    assert resumed.store.contacts == {} and resumed.store.crm_ids == {}


def test_a_confirmed_contact_record_has_no_flag_and_an_old_record_restores_as_confirmed() -> None:
    engine = Engine(RULES)
    engine.run(EVENTS[:2_000])
    confirmed = [c for c in engine.store.contacts.values() if c.crm_id is not None and c.crm_confirmed]
    assert confirmed
    for c in confirmed:
        data = orjson.loads(codec.dump_contact(c))["contact"]
        assert "crm_confirmed" not in data, "records of confirmed contacts are as they were before the flag"
    # Written before the flag existed, by a web visit's contact_id: it was kept, so it still is.
    old = (
        b'{"v":1,"contact":{"key":"hc-1","crm_id":"hc-1","email":null,"account_id":null,"profile":{},'
        b'"source":null,"campaign":null,"window":[],"stage":"lead","stage_at":{},"cycle":0,'
        b'"qualified_cycle":-1,"cycle_start_ms":0,"last_mql_id":null,"last_mql_ms":null,'
        b'"owner_id":null,"sla":null,"updated_ms":1772442000000}}'
    )
    restored = codec.load_contact(old)
    assert restored.crm_confirmed is True and restored.crm_id == "hc-1"
    store = Store(contacts={"hc-1": restored}, crm_ids={"hc-1": "hc-1"})
    Engine(RULES, store).advance(restored.updated_ms + 200 * 86_400_000)
    assert list(store.contacts) == ["hc-1"]
