"""A two-month history whose funnel a person can count by hand (see the table in ``HAND_COUNT``).

Built from input events with tests/processors/builders.py and decided by the real engine, so the
warehouse is fed exactly what the live topics would carry. Times: T0 = Monday 2026-03-02 09:00 UTC;
``at(m, days=-20)`` is in February.
"""

from __future__ import annotations

from processors.engine import Engine
from processors.rules import load_rules
from schemas import models
from tests.processors.builders import FIT, account, activity, at, contact, form, ms, stage, visit

FEB = -20  # 2026-02-10 09:00

HAND_COUNT = """
contact  source    MQLs (cohort month)        what happens after it
a1       google    Feb 10 P1 (fast track)     call +5 min; sal Feb 11, sql Feb 12, opportunity Feb 13, won Feb 20
a2       google    Feb 10 P1; again Mar 2 P1  call +40 min (after the breach); sal Feb 11, recycled Feb 20,
                                              MQL again Mar 2, sql Mar 5 (belongs to the March MQL)
a3       linkedin  Feb 10 P1                  disqualified Feb 11 (wrong_persona)
x        -         never                      sal Feb 11, sql Feb 12 (no MQL: in no cohort)
y        -         never                      disqualified Feb 11, recycled Feb 15, disqualified Feb 18
                                              (no_response both times)
b1       google    Mar 2 P1                   sql Mar 3, then sal Mar 4 (the CRM moved it back: negative sal->sql)
b2       bing      Mar 2 P2 (intent)          call by rep-2 +30 min
acc-2    committee account MQL Feb 10         its contact k1 reaches sal Mar 3
"""


def _events() -> list:
    d = FEB
    events = [
        account(at(-60, days=d), "acc-1", "acme.io"),
        account(at(-60, days=d), "acc-2", "beta.io", owner_id="rep-2"),
    ]
    for c in ("a1", "a2", "a3", "x", "y", "b1"):
        events.append(contact(at(-30, days=d), f"c-{c}", f"{c}@acme.io", account_id="acc-1"))
    events.append(contact(at(-30, days=d), "c-b2", "b2@acme.io", account_id="acc-1", owner_id="rep-2"))
    for n, dept in enumerate(("it", "finance", "operations"), start=1):
        events.append(contact(at(-30, days=d), f"c-k{n}", f"k{n}@beta.io", account_id="acc-2", department=dept))
    # February cohort: three fast-track MQLs at 09:01, 09:02, 09:03.
    for n, (c, source) in enumerate([("a1", "google"), ("a2", "google"), ("a3", "linkedin")], start=1):
        events.append(visit(at(n - 1, days=d), f"v-{c}", "/pricing", utm_source=source, utm_campaign=f"{source}-feb"))
        events.append(form(at(n, days=d), f"v-{c}", f"{c}@acme.io", "demo_request", **FIT))
    # acc-2: three departments show real intent (a pricing page each) but nobody qualifies alone.
    for n in (1, 2, 3):
        events.append(visit(at(10 + n, days=d), f"v-k{n}", "/pricing", contact_id=f"c-k{n}"))
    events += [
        activity(at(6, days=d), "c-a1", "call"),  # 5 min after a1's MQL: met
        activity(at(42, days=d), "c-a2", "call"),  # 40 min after a2's MQL: after its 15 min deadline
        stage(at(0, days=d + 1), "c-a1", "sal"),
        stage(at(0, days=d + 2), "c-a1", "sql"),
        stage(at(0, days=d + 3), "c-a1", "opportunity"),
        stage(at(0, days=d + 10), "c-a1", "won"),
        stage(at(0, days=d + 1), "c-a2", "sal"),
        stage(at(0, days=d + 10), "c-a2", "recycled", reason="no_current_need"),
        stage(at(0, days=d + 1), "c-a3", "disqualified", reason="wrong_persona"),
        stage(at(0, days=d + 1), "c-x", "sal"),
        stage(at(0, days=d + 2), "c-x", "sql"),
        stage(at(0, days=d + 1), "c-y", "disqualified", reason="no_response"),
        stage(at(0, days=d + 5), "c-y", "recycled", reason="no_response"),
        stage(at(0, days=d + 8), "c-y", "disqualified", reason="no_response"),  # one contact, two rows
    ]
    # March cohort.
    events += [
        visit(at(0), "v-a2", "/pricing", utm_source="google", utm_campaign="google-mar"),
        form(at(1), "v-a2", "a2@acme.io", "demo_request", **FIT),
        visit(at(1), "v-b1", "/pricing", utm_source="google", utm_campaign="google-mar"),
        form(at(2), "v-b1", "b1@acme.io", "demo_request", **FIT),
        visit(at(0), "v-b2", "/pricing", utm_source="bing", utm_campaign="bing-mar"),
        visit(at(1), "v-b2", "/compare/rival"),
        visit(at(2), "v-b2", "/integrations"),
        form(at(3), "v-b2", "b2@acme.io", "content_download", **FIT),
        activity(at(33), "c-b2", "call", actor="rep-2"),  # 30 min after b2's MQL
        stage(at(0, days=1), "c-b1", "sql"),
        stage(at(0, days=2), "c-b1", "sal"),
        stage(at(0, days=3), "c-a2", "sql"),
        stage(at(0, days=1), "c-k1", "sal"),
    ]
    return events


def decisions() -> list[models.Record]:
    """Every output record of the history, SLA clocks run to 2026-03-12."""
    engine = Engine(load_rules())
    out = engine.run(_events())
    out += engine.advance(ms(at(0, days=10)))
    return out + engine.drain_changes()
