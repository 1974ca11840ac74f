"""One scenario per rule of SPEC §4, on the shipped default rules."""

from __future__ import annotations

from processors.engine import Engine
from processors.rules import default_rules_text, parse_rules
from schemas.models import Alert, Lifecycle, Mql, Sla
from tests.processors.builders import (
    FIT,
    account,
    activity,
    at,
    contact,
    form,
    ms,
    of,
    stage,
    visit,
)


def _browse(visitor: str, day: float = 0, paths=("/pricing", "/compare/vs-other", "/integrations/crm")):
    return [visit(at(i, days=day), visitor, p) for i, p in enumerate(paths)]


# 1. MQL needs fit AND behaviour ---------------------------------------------------------------


def test_fit_contact_with_intent_qualifies_once_both_thresholds_are_met(engine: Engine) -> None:
    out = engine.run([*_browse("v1"), form(at(10), "v1", "dana@acme.io", **FIT)])
    [mql] = of(Mql, out)
    assert mql.fit_score >= mql.thresholds.fit and mql.intent_score >= mql.thresholds.intent
    assert mql.kind == "contact" and mql.email == "dana@acme.io"


def test_activity_alone_never_qualifies(engine: Engine) -> None:
    no_fit = {"job_title": "Marketing Manager", "company_name": "Tiny", "employee_count": 12}
    events = [
        *_browse("v1"),
        *_browse("v1", day=1),
        form(at(10), "v1", "x@tiny.io", "trial_signup", **no_fit),
    ]
    events += [visit(at(30 + i, days=2), "v1", "/demo") for i in range(2)]
    assert of(Mql, engine.run(events)) == []


def test_one_content_download_from_a_fit_contact_is_not_an_mql(engine: Engine) -> None:
    out = engine.run([form(at(0), "v1", "dana@acme.io", "content_download", **FIT)])
    assert of(Mql, out) == []


# 2. Negative criteria -------------------------------------------------------------------------


def _heavy_intent(visitor: str, email: str, **profile) -> list:
    return [
        *_browse(visitor),
        form(at(10), visitor, email, "trial_signup", **profile),
        form(at(11), visitor, email, "demo_request", **profile),
    ]


def test_personal_email_cannot_qualify_on_activity(engine: Engine) -> None:
    assert of(Mql, engine.run(_heavy_intent("v1", "dana.acme@gmail.com", **FIT))) == []


def test_student_title_cannot_qualify_on_activity(engine: Engine) -> None:
    profile = {**FIT, "job_title": "Student"}
    assert of(Mql, engine.run(_heavy_intent("v1", "s@acme.io", **profile))) == []


def test_competitor_account_cannot_qualify(engine: Engine) -> None:
    events = [
        account(at(-60), "acc-rival", "rival.io", is_competitor=True),
        *_heavy_intent("v1", "spy@rival.io", **{**FIT, "company_domain": "rival.io"}),
    ]
    assert of(Mql, engine.run(events)) == []


def test_country_outside_territory_cannot_qualify(engine: Engine) -> None:
    assert of(Mql, engine.run(_heavy_intent("v1", "a@acme.io", **{**FIT, "country": "BR"}))) == []


def test_company_below_minimum_size_cannot_qualify(engine: Engine) -> None:
    assert of(Mql, engine.run(_heavy_intent("v1", "a@acme.io", **{**FIT, "employee_count": 20}))) == []


def test_careers_visits_are_negative_intent(rules) -> None:
    base = [*_browse("v1"), form(at(10), "v1", "dana@acme.io", "content_download", **FIT)]
    plain = Engine(rules).run(base)
    job_hunting = Engine(rules).run([visit(at(-5), "v1", "/careers/sdr"), *base])
    assert of(Mql, plain), "the baseline history qualifies"
    assert of(Mql, job_hunting) == [], "a careers visit pulls intent below the threshold"


# 3. Existing customers ------------------------------------------------------------------------


def test_customer_buying_activity_raises_expansion_alert_not_mql(engine: Engine) -> None:
    events = [
        account(at(-60), "acc-cust", "cust.io", is_customer=True, owner_id="rep-9"),
        *_heavy_intent("v1", "buyer@cust.io", **{**FIT, "company_domain": "cust.io"}),
        visit(at(60), "v1", "/pricing"),
    ]
    out = engine.run(events)
    assert of(Mql, out) == []
    alerts = of(Alert, out)
    assert [a.kind for a in alerts] == ["expansion"], "one alert per account per cooldown"
    assert alerts[0].account_id == "acc-cust" and "rep-9" in alerts[0].text


# 4. Fast track --------------------------------------------------------------------------------


def test_demo_request_from_fit_contact_is_an_immediate_p1_mql_not_an_sql(engine: Engine) -> None:
    out = engine.run([form(at(0), "v1", "dana@acme.io", "demo_request", **FIT)])
    [mql] = of(Mql, out)
    assert mql.priority == "P1" and mql.fast_track
    assert [lc.to_stage for lc in of(Lifecycle, out)] == ["mql"]
    assert [a.kind for a in of(Alert, out)] == ["fast_track"]


def test_demo_request_from_unfit_contact_is_not_fast_tracked(engine: Engine) -> None:
    out = engine.run([form(at(0), "v1", "kid@gmail.com", "demo_request", job_title="Student")])
    assert of(Mql, out) == [] and of(Alert, out) == []


# 5. Webinars ----------------------------------------------------------------------------------


def _webinar_intent(rules, minutes: float | None) -> float:
    eng = Engine(rules)
    events = [
        contact(at(-1), "c-1", "dana@acme.io"),
        form(at(0), "v1", "dana@acme.io", "webinar_registration", **FIT),
    ]
    if minutes is not None:
        events.append(
            activity(at(60), "c-1", "webinar_attended", direction="inbound", actor=None, duration_minutes=minutes)
        )
    eng.run(events)
    c = eng.store.contacts[eng.store.crm_ids["c-1"]]
    return sum(s[2] for s in c.window)


def test_webinar_registration_counts_little_and_attendance_by_duration(rules) -> None:
    registered = _webinar_intent(rules, None)
    short, long = _webinar_intent(rules, 10), _webinar_intent(rules, 55)
    assert registered <= 5
    assert registered < short < long


# 6. Decay and window --------------------------------------------------------------------------


def test_older_behaviour_counts_less_and_nothing_counts_after_the_window(rules) -> None:
    def intent_when_identified(days_before: float) -> float:
        eng = Engine(rules)
        eng.run([*_browse("v1", day=-days_before), form(at(0), "v1", "a@b-corp.io", "newsletter")])
        c = eng.store.contacts[eng.store.emails["a@b-corp.io"]]
        return sum(s[2] for s in c.window if s[1] != "newsletter")

    from processors import intent as intent_mod

    fresh = intent_mod.decay_factor(0, rules)
    assert fresh == 1.0
    assert intent_mod.decay_factor(14 * 86_400_000, rules) == 0.5
    assert intent_mod.decay_factor(30 * 86_400_000, rules) == 0.0
    assert intent_when_identified(2) > 0
    assert intent_when_identified(31) == 0, "visits older than the window are not stitched"


def test_intent_decays_between_two_evaluations(engine: Engine) -> None:
    engine.run([*_browse("v1"), form(at(1), "v1", "a@tiny.io", "newsletter")])
    c = engine.store.contacts[engine.store.emails["a@tiny.io"]]
    from processors.intent import scored

    now, later = (
        scored(c.window, ms(at(2)), 0, engine.rules)[0],
        scored(c.window, ms(at(0, days=10)), 0, engine.rules)[0],
    )
    assert later < now


# 7. Caps --------------------------------------------------------------------------------------


def test_repeated_identical_actions_are_capped_per_signal_per_day(engine: Engine) -> None:
    events = [visit(at(i), "v1", "/pricing") for i in range(25)] + [form(at(30), "v1", "a@tiny.io", "newsletter")]
    events += [visit(at(i, days=1), "v1", "/pricing") for i in range(5)]
    engine.run(events)
    c = engine.store.contacts[engine.store.emails["a@tiny.io"]]
    per_day = [s for s in c.window if s[1] == "pricing_page"]
    assert len(per_day) == 2 * engine.rules.intent.cap("pricing_page")


# 8. Anonymous stitching -----------------------------------------------------------------------


def test_anonymous_visits_count_once_the_visitor_is_identified(rules) -> None:
    identified_only = Engine(rules).run([form(at(10), "v1", "dana@acme.io", **FIT)])
    with_history = Engine(rules).run([*_browse("v1"), form(at(10), "v1", "dana@acme.io", **FIT)])
    assert of(Mql, identified_only) == []
    [mql] = of(Mql, with_history)
    stitched = {r.event_id for r in mql.reasons if not r.signal.startswith("fit:")}
    assert len(stitched) == 4, "three anonymous visits and the form itself"


# 9. Accounts and buying committees ------------------------------------------------------------


def _member(i: int, dept: str, day: float, domain: str = "acme.io") -> list:
    email = f"m{i}@{domain}"
    return [
        contact(at(-90), f"c-{i}", email, department=dept, job_title=f"{dept} analyst", seniority="individual"),
        visit(at(i, days=day), f"v{i}", "/pricing", contact_id=f"c-{i}"),
    ]


def test_three_contacts_from_two_departments_make_an_account_mql(engine: Engine) -> None:
    events = [account(at(-100), "acc-1", "acme.io")]
    events += _member(1, "it", 0) + _member(2, "finance", 3) + _member(3, "it", 6)
    out = engine.run(events)
    mqls = of(Mql, out)
    assert [m.kind for m in mqls] == ["account"], "no single contact qualified, the account did"
    assert mqls[0].committee.contacts == ["c-1", "c-2", "c-3"]
    assert mqls[0].committee.departments == ["finance", "it"]
    assert [a.kind for a in of(Alert, out)] == ["buying_committee"]


def test_committee_needs_two_departments(engine: Engine) -> None:
    events = [account(at(-100), "acc-1", "acme.io")] + _member(1, "it", 0) + _member(2, "it", 1) + _member(3, "it", 2)
    assert of(Mql, engine.run(events)) == []


def test_committee_members_must_engage_within_30_days(engine: Engine) -> None:
    events = [account(at(-100), "acc-1", "acme.io")]
    events += _member(1, "it", 0) + _member(2, "finance", 20) + _member(3, "it", 35)
    assert of(Mql, engine.run(events)) == []


def test_at_most_one_account_mql_per_30_days(engine: Engine) -> None:
    events = [account(at(-100), "acc-1", "acme.io")]
    events += _member(1, "it", 0) + _member(2, "finance", 1) + _member(3, "it", 2) + _member(4, "sales", 3)
    events += [visit(at(0, days=10 + d), f"v{i}", "/demo", contact_id=f"c-{i}") for d in (0, 1) for i in (1, 2, 3)]
    out = engine.run(events)
    assert len([m for m in of(Mql, out) if m.kind == "account"]) == 1
    events2 = [visit(at(i, days=45), f"v{i}", "/pricing", contact_id=f"c-{i}") for i in (1, 2, 3)]
    assert len(of(Mql, engine.run(events2))) == 1, "a new committee after the cooldown qualifies again"


def test_contacts_join_by_crm_account_id_before_email_domain(engine: Engine) -> None:
    events = [
        account(at(-100), "acc-1", "acme.io"),
        account(at(-100), "acc-2", "acme-group.com"),
        contact(at(-90), "c-1", "x@acme-group.com", account_id="acc-1"),
    ]
    engine.run(events)
    c = engine.store.contacts[engine.store.crm_ids["c-1"]]
    assert engine.identity.account_of(c).account_id == "acc-1"


def test_personal_domains_never_join_an_account(engine: Engine) -> None:
    engine.run([account(at(-100), "acc-g", "gmail.com"), form(at(0), "v1", "x@gmail.com")])
    c = engine.store.contacts[engine.store.emails["x@gmail.com"]]
    assert engine.identity.account_of(c) is None


# 10. Once per lifecycle cycle -----------------------------------------------------------------


def test_contact_qualifies_once_per_cycle_and_again_after_recycle(engine: Engine) -> None:
    first = engine.run([contact(at(-1), "c-1", "dana@acme.io"), *_heavy_intent("v1", "dana@acme.io", **FIT)])
    assert len(of(Mql, first)) == 1
    more = engine.run(
        [
            visit(at(0, days=1), "v1", "/pricing"),
            form(at(5, days=1), "v1", "dana@acme.io", "demo_request", **FIT),
        ]
    )
    assert of(Mql, more) == []
    recycled = engine.run([stage(at(0, days=5), "c-1", "recycled", reason="no_current_need")])
    assert [(lc.from_stage, lc.to_stage) for lc in of(Lifecycle, recycled)] == [("mql", "recycled")]
    again = engine.run([*_browse("v1", day=40), form(at(10, days=40), "v1", "dana@acme.io", "trial_signup", **FIT)])
    assert len(of(Mql, again)) == 1


def test_disqualified_contact_does_not_requalify(engine: Engine) -> None:
    engine.run(
        [
            contact(at(-1), "c-1", "dana@acme.io"),
            *_heavy_intent("v1", "dana@acme.io", **FIT),
            stage(at(0, days=1), "c-1", "disqualified", reason="wrong_persona"),
        ]
    )
    later = engine.run([*_browse("v1", day=10), form(at(10, days=10), "v1", "dana@acme.io", "demo_request", **FIT)])
    assert of(Mql, later) == []


# 11. SLA --------------------------------------------------------------------------------------


def _fast_track(engine: Engine) -> Mql:
    out = engine.run([contact(at(-1), "c-1", "dana@acme.io"), form(at(0), "v1", "dana@acme.io", "demo_request", **FIT)])
    return of(Mql, out)[0]


def test_p1_sla_is_met_by_an_outbound_call_with_response_time(engine: Engine) -> None:
    _fast_track(engine)
    out = engine.run([activity(at(12), "c-1", "call", actor="rep-4")])
    [met] = of(Sla, out)
    assert met.status == "met" and met.response_seconds == 12 * 60 and met.owner_id == "rep-4"
    assert engine.advance(ms(at(0, days=2))) == [], "no breach after a response"


def test_p1_sla_breaches_at_deadline_with_alert_and_escalates(engine: Engine) -> None:
    mql = _fast_track(engine)
    out = engine.run([activity(at(5), "c-1", "email", direction="inbound", actor=None)])
    assert [s.status for s in of(Sla, out)] == [], "an inbound email is not a rep's response"
    fired = engine.advance(ms(at(60)))
    statuses = [(s.status, s.escalation_level, s.occurred_at) for s in of(Sla, fired)]
    assert statuses[:2] == [("warning", 0, at(12)), ("breached", 0, at(15))]
    assert ("escalated", 1, at(30)) in statuses
    [alert] = of(Alert, fired)
    assert alert.kind == "sla_breach" and alert.contact_id == mql.contact_id


def test_sla_cancelled_by_disqualification(engine: Engine) -> None:
    _fast_track(engine)
    out = engine.run([stage(at(3), "c-1", "disqualified", reason="invalid_data")])
    assert [s.status for s in of(Sla, out)] == ["cancelled"]
    assert engine.advance(ms(at(0, days=1))) == []


def test_sla_tiers_follow_priority(engine: Engine) -> None:
    out = engine.run([*_browse("v1"), form(at(10), "v1", "dana@acme.io", "content_download", **FIT)])
    [started] = [s for s in of(Sla, out) if s.status == "started"]
    tier = {"P1": 15, "P2": 60, "P3": 24 * 60}[started.priority]
    assert (started.deadline - started.started_at).total_seconds() == tier * 60


# 12. Evidence ---------------------------------------------------------------------------------


def test_mql_lists_evidence_thresholds_and_rules_version(engine: Engine) -> None:
    events = [*_browse("v1"), form(at(10), "v1", "dana@acme.io", event_id="form-1", **FIT)]
    [mql] = of(Mql, engine.run(events))
    event_ids = {r.event_id for r in mql.reasons}
    assert {e.event_id for e in events} <= event_ids
    assert sum(r.points for r in mql.reasons if r.signal.startswith("fit:")) == mql.fit_score
    assert abs(sum(r.points for r in mql.reasons if not r.signal.startswith("fit:")) - mql.intent_score) < 0.01
    assert mql.rules_version == engine.rules.version and mql.thresholds.window_days == 30


def test_repeated_event_id_has_effect_once(engine: Engine) -> None:
    events = _browse("v1") + [form(at(10), "v1", "dana@acme.io", event_id="same", **FIT)]
    first = engine.run(events)
    assert engine.run(events) == [] and len(of(Mql, first)) == 1


# State views for the compacted topics -------------------------------------------------------


def test_changed_contacts_and_accounts_become_state_records(engine: Engine) -> None:
    from schemas.models import AccountState, ContactState

    engine.run([account(at(-5), "acc-1", "acme.io"), *_browse("v1"), form(at(10), "v1", "dana@acme.io", **FIT)])
    states = engine.drain_changes()
    [dana] = [s for s in states if isinstance(s, ContactState)]
    assert dana.stage == "mql" and dana.email == "dana@acme.io" and dana.sla_status == "started"
    signals = [w.signal for w in dana.window]
    assert signals == ["pricing_page", "comparison_page", "integrations_page", "content_download"]
    [acme] = [s for s in states if isinstance(s, AccountState)]
    assert acme.account_id == "acc-1" and acme.engaged_contacts == [dana.contact_id]
    assert engine.drain_changes() == [], "drained until the next change"


def test_alert_channel_follows_owner_then_territory(rules) -> None:
    text = (
        default_rules_text()
        .replace("  channels_by_territory: {}", '  channels_by_territory: {emea: "#emea-leads"}')
        .replace("  channels_by_owner: {}", '  channels_by_owner: {rep-9: "#team-rep-9"}')
    )
    custom = parse_rules(text)
    base = [account(at(-5), "acc-1", "acme.io", territory="emea", owner_id="rep-2")]
    out = Engine(custom).run([*base, form(at(0), "v1", "a@acme.io", "demo_request", **FIT)])
    assert [a.channel for a in of(Alert, out)] == ["#emea-leads"]
    out = Engine(custom).run(
        [
            *base,
            contact(at(-1), "c-1", "b@acme.io", owner_id="rep-9"),
            form(at(0), "v2", "b@acme.io", "demo_request", **FIT),
        ]
    )
    assert [a.channel for a in of(Alert, out)] == ["#team-rep-9"]


def test_memory_is_bounded_by_event_time_expiry(engine: Engine) -> None:
    """Anonymous visitors, idle leads and remembered event ids are forgotten as time passes."""
    engine.run([visit(at(i), f"anon-{i}", "/blog/x") for i in range(50)])
    engine.run([form(at(60), "v1", "tire-kicker@tiny.io", "newsletter")])
    assert len(engine.store.visitors) == 51 and len(engine.store.seen) == 51
    engine.advance(ms(at(0, days=200)))
    assert engine.store.visitors == {} and engine.store.seen == {} and engine.store.contacts == {}


def test_a_web_lead_the_crm_learns_about_keeps_its_history_and_takes_the_crm_id(engine: Engine) -> None:
    engine.run([*_browse("v1"), form(at(10), "v1", "dana@acme.io", "newsletter", **FIT)])
    engine.run([contact(at(20), "crm-9", "dana@acme.io")])
    c = engine.store.contacts[engine.store.crm_ids["crm-9"]]
    assert c.contact_id == "crm-9" and len(c.window) == 4 and len(engine.store.contacts) == 1
    out = engine.run([visit(at(30), "v1", "/demo"), visit(at(31), "v1", "/pricing")])
    assert [m.contact_id for m in of(Mql, out)] == ["crm-9"], "the visitor still leads to the contact"


def test_two_records_of_one_person_merge_and_visitors_follow(engine: Engine) -> None:
    engine.run([form(at(0), "v1", "dana@acme.io", "newsletter", **FIT), contact(at(1), "crm-9", "dana@acme.io")])
    engine.run([contact(at(2), "crm-10", "dana.old@acme.io"), form(at(3), "v2", "dana.old@acme.io", "newsletter")])
    # the CRM says crm-9's email is the old one: two histories, one person
    engine.run([contact(at(4), "crm-9", "dana.old@acme.io")])
    assert "crm-10" in engine.store.crm_ids and engine.store.aliases
    out = engine.run([*_browse("v2", day=0.01), visit(at(0, days=0.02), "v2", "/demo")])
    assert of(Mql, out) and of(Mql, out)[0].contact_id == "crm-9"
    engine.run([stage(at(0, days=1), "crm-10", "sal")])
    assert len(engine.store.contacts) == 1, "the merged CRM id still finds the surviving contact"


def test_a_hyperactive_visitor_cannot_grow_the_window_without_bound(engine: Engine) -> None:
    paths = ["/pricing", "/demo", "/compare/x", "/integrations/y", "/customers/z", "/docs/a", "/blog/b"]
    engine.run([form(at(0), "v1", "bot@acme.io", "newsletter")])
    engine.run([visit(at(i, days=d), "v1", p) for d in range(25) for i, p in enumerate(paths * 3)])
    c = engine.store.contacts[engine.store.emails["bot@acme.io"]]
    assert len(c.window) == engine.rules.intent.max_window_signals
    assert c.window[-1][0] == ms(at(20, days=24)), "the newest signals are the ones kept"


def test_an_event_older_than_the_dedupe_memory_is_dropped_not_counted_twice(engine: Engine) -> None:
    call = activity(at(5), "c-1", "call")
    engine.run([contact(at(-1), "c-1", "dana@acme.io"), form(at(0), "v1", "dana@acme.io", "demo_request", **FIT)])
    engine.run([visit(at(0, days=40), "v9", "/blog/x")])  # event time moves 40 days on; ids expire
    assert engine.run([call]) == [], "a 40-day-late repeat cannot be told from a new event: dropped"
    engine.advance(ms(at(0, days=400)))  # the live wall clock alone does not make events late
    backfill = visit(at(0, days=41), "v9", "/pricing")
    engine.run([backfill])
    assert backfill.event_id in engine.store.seen, "judged against event time, not the wall clock"
