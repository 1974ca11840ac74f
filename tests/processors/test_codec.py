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
from streams.workload import WorkloadConfig, generate

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
