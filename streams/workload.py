"""A seeded, realistic mixed workload for the demo, the benchmarks and end-to-end tests.

Mostly web visits, some form fills and CRM changes, over thousands of accounts and tens of
thousands of contacts: ICP and non-ICP companies, personal emails and junior titles, customers and
competitors, anonymous browsing stitched by a later form, reps responding (or not) to hand-raisers,
and sales moving leads through the funnel with disqualification reasons. Deterministic per seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

import orjson

from schemas.catalog import BY_NAME

SITE = "https://www.leadstream-demo.com"
PATHS = [  # (path, weight)
    ("/", 14),
    ("/blog/lead-scoring-101", 12),
    ("/blog/mql-vs-sql", 10),
    ("/docs/getting-started", 8),
    ("/pricing", 9),
    ("/integrations/salesforce", 5),
    ("/integrations/hubspot", 3),
    ("/customers/case-study-fintech", 5),
    ("/compare/vs-legacy-scoring", 4),
    ("/demo", 4),
    ("/careers/sdr", 2),
    ("/about", 4),
]
FORMS = [
    ("content_download", 34),
    ("webinar_registration", 18),
    ("newsletter", 16),
    ("demo_request", 9),
    ("contact_sales", 5),
    ("pricing_request", 4),
    ("trial_signup", 9),
    ("other", 5),
]
HAND_RAISERS = {"demo_request", "contact_sales", "pricing_request"}
ICP_INDUSTRIES = ["software", "saas", "financial services", "manufacturing", "healthcare"]
OTHER_INDUSTRIES = ["retail", "education", "government", "hospitality", "media"]
ICP_COUNTRIES = ["US", "US", "US", "CA", "GB", "IE", "DE", "FR", "NL", "AU"]
OTHER_COUNTRIES = ["BR", "IN", "JP", "MX", "ZA"]
PERSONAL = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com"]
DEPARTMENTS = ["marketing", "sales", "engineering", "it", "finance", "operations", "hr", "product"]
SENIORITY = [("intern", 3), ("individual", 35), ("manager", 30), ("director", 18), ("vp", 9), ("cxo", 5)]
TITLE = {
    "intern": "{d} Intern",
    "individual": "{d} Specialist",
    "manager": "{d} Manager",
    "director": "Director of {d}",
    "vp": "VP {d}",
    "cxo": "Chief {d} Officer",
}
SOURCES = [("google", 35), ("linkedin", 20), ("newsletter", 10), ("partner", 8), ("direct", 15), (None, 12)]
REASONS = [
    "wrong_persona",
    "wrong_company_size",
    "invalid_data",
    "no_response",
    "no_current_need",
    "competitor",
    "duplicate",
    "outside_territory",
    "other",
]
DAY_S = 86_400


@dataclass(frozen=True)
class WorkloadConfig:
    seed: int = 7
    events: int = 200_000  # approximate total
    accounts: int = 3_000
    contacts: int = 30_000
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
    days: int = 60
    anonymous_share: float = 0.35  # of sessions, by visitors who never identify


@dataclass
class _Account:
    id: str
    domain: str
    fields: dict


@dataclass
class _Contact:
    n: int
    account: _Account | None
    email: str
    crm_known: bool
    profile: dict
    first_form_s: float | None = None
    stage_history: list = field(default_factory=list)


def _pick(rng: random.Random, weighted: list[tuple[object, int]]) -> object:
    items, weights = zip(*weighted, strict=True)
    return rng.choices(items, weights)[0]


def _accounts(rng: random.Random, cfg: WorkloadConfig) -> list[_Account]:
    out = []
    for i in range(cfg.accounts):
        icp = rng.random() < 0.6
        employees = int(rng.lognormvariate(5.5, 1.4)) + 5
        out.append(
            _Account(
                f"acc-{i}",
                f"company{i}.com",
                {
                    "domain": f"company{i}.com",
                    "name": f"Company {i}",
                    "employee_count": employees,
                    "industry": rng.choice(ICP_INDUSTRIES if icp else OTHER_INDUSTRIES),
                    "country": rng.choice(ICP_COUNTRIES if rng.random() < 0.85 else OTHER_COUNTRIES),
                    "territory": rng.choice(["na-east", "na-west", "emea", "apac"]),
                    "owner_id": f"rep-{i % 25:02d}",
                    "is_customer": rng.random() < 0.05,
                    "is_competitor": rng.random() < 0.01,
                },
            )
        )
    return out


def _contacts(rng: random.Random, cfg: WorkloadConfig, accounts: list[_Account]) -> list[_Contact]:
    out = []
    for n in range(cfg.contacts):
        dept = rng.choice(DEPARTMENTS)
        seniority = str(_pick(rng, SENIORITY))
        title = TITLE[seniority].format(d=dept.title() if dept not in ("it", "hr") else dept.upper())
        if rng.random() < 0.03:
            title = rng.choice(["Student", "Looking for work"])
        if rng.random() < 0.1:
            account, email = None, f"person{n}@{rng.choice(PERSONAL)}"
        else:
            # mildly skewed: some accounts have many engaged people, most have a few
            account = accounts[int(len(accounts) * rng.random() ** 2)]
            email = f"person{n}@{account.domain}"
        profile = {
            "department": dept,
            "seniority": seniority,
            "job_title": title,
            "country": account.fields["country"] if account else rng.choice(ICP_COUNTRIES),
        }
        out.append(_Contact(n, account, email, account is not None and rng.random() < 0.6, profile))
    return out


def generate(cfg: WorkloadConfig) -> Iterator[tuple[str, dict]]:
    """(stream name, JSON-ready value) pairs in non-decreasing ``occurred_at`` order."""
    rng = random.Random(cfg.seed)
    accounts = _accounts(rng, cfg)
    contacts = _contacts(rng, cfg, accounts)
    span = cfg.days * DAY_S
    plan: list[tuple[float, int, str, tuple]] = []  # (seconds from start, seq, kind, args)
    seq = 0

    def add(t: float, kind: str, *args: object) -> None:
        nonlocal seq
        if 0 <= t <= span:
            plan.append((t, seq, kind, args))
            seq += 1

    for a in accounts:
        add(rng.uniform(0, 600), "account", a)
    for c in contacts:
        if c.crm_known:
            add(rng.uniform(600, 3 * 3600), "contact", c)
    budget = cfg.events - len(plan)
    # Engagement is skewed: a minority of contacts does most of the browsing.
    cum_weights = list(accumulate(rng.paretovariate(1.5) for _ in contacts))
    path_names, path_cum = [p for p, _ in PATHS], list(accumulate(w for _, w in PATHS))
    while budget > 0:
        t = rng.uniform(0, span)
        anonymous = rng.random() < cfg.anonymous_share
        c = None if anonymous else rng.choices(contacts, cum_weights=cum_weights)[0]
        visitor = f"anon-{rng.randrange(cfg.contacts * 2)}" if c is None else f"v-{c.n}"
        source = _pick(rng, SOURCES)
        views = min(budget, rng.randint(1, 6))
        for k in range(views):
            add(
                t + k * rng.uniform(20, 240),
                "visit",
                visitor,
                c,
                rng.choices(path_names, cum_weights=path_cum)[0],
                source if k == 0 else None,
                rng.randint(5, 400),
            )
        budget -= views
        if c is not None and budget > 0 and rng.random() < 0.3:
            budget -= _form_and_follow_up(rng, add, c, t + views * 200, source)
    plan.sort(key=lambda p: (p[0], p[1]))
    start = cfg.start
    for i, (t, _, kind, args) in enumerate(plan):
        yield _render(i, start + timedelta(seconds=t), kind, args, t)


def _form_and_follow_up(rng: random.Random, add, c: _Contact, t: float, source: object) -> int:
    """A form fill and what sales does about it; returns how many events were planned."""
    form_type = str(_pick(rng, FORMS))
    add(t, "form", c, form_type, source)
    if c.first_form_s is None or t < c.first_form_s:
        c.first_form_s = t
    n = 1
    if form_type == "webinar_registration" and rng.random() < 0.5:
        add(t + rng.uniform(1, 7) * DAY_S, "activity", c, "webinar_attended", "inbound", rng.randint(5, 60))
        n += 1
    if form_type in HAND_RAISERS and c.crm_known:
        if rng.random() < 0.5:  # half of hand-raisers get a rep within the hour, the rest later
            delay = rng.uniform(2, 50) * 60 if rng.random() < 0.6 else rng.uniform(2, 72) * 3600
            add(t + delay, "activity", c, rng.choice(["call", "email", "meeting", "linkedin"]), "outbound", 10)
            n += 1
        if rng.random() < 0.6:
            n += _funnel(rng, add, c, t + rng.uniform(1, 3) * DAY_S)
    elif c.crm_known and rng.random() < 0.05:
        add(t + rng.uniform(1, 10) * DAY_S, "stage", c, rng.choice(["nurture", "recycled"]), "no_current_need")
        n += 1
    return n


def _funnel(rng: random.Random, add, c: _Contact, t: float) -> int:
    if rng.random() < 0.25:
        add(t, "stage", c, "disqualified", rng.choice(REASONS))
        return 1
    n = 0
    for stage in ("sal", "sql", "opportunity"):
        add(t, "stage", c, stage, None)
        n += 1
        if stage == "opportunity":
            add(t + 60, "opportunity", c, round(rng.uniform(5, 120)) * 1000)
            n += 1
        t += rng.uniform(2, 12) * DAY_S
        if rng.random() < 0.3:
            add(t, "stage", c, rng.choice(["nurture", "lost", "recycled"]), rng.choice(REASONS))
            return n + 1
    add(t, "stage", c, "won" if rng.random() < 0.35 else "lost", rng.choice(REASONS))
    return n + 1


def _render(i: int, when: datetime, kind: str, args: tuple, t: float) -> tuple[str, dict]:
    at = when.isoformat()
    if kind == "visit":
        visitor, c, path, source, duration = args
        value = {
            "event_id": f"w-{i}",
            "occurred_at": at,
            "visitor_id": visitor,
            "url": SITE + path,
            "session_id": f"s-{visitor}-{int(t // 1800)}",
            "duration_seconds": duration,
        }
        if source:
            value.update(
                utm_source=source,
                utm_medium="cpc" if source == "google" else "social",
                utm_campaign=f"{source}-q1",
            )
        if c is not None and c.account is not None and i % 3 == 0:
            value["company_domain"] = c.account.domain
        if c is not None and c.crm_known and c.first_form_s is not None and t > c.first_form_s:
            value["contact_id"] = f"c-{c.n}"
        return "web_visits", value
    if kind == "form":
        c, form_type, source = args
        a = c.account.fields if c.account else {}
        value = {
            "event_id": f"f-{i}",
            "occurred_at": at,
            "visitor_id": f"v-{c.n}",
            "email": c.email,
            "form_type": form_type,
            "first_name": f"First{c.n}",
            "last_name": f"Last{c.n}",
            "job_title": c.profile["job_title"],
            "country": c.profile["country"],
        }
        if form_type in ("content_download", "webinar_registration"):
            value["asset"] = "The MQL playbook" if form_type == "content_download" else "Scoring live"
        if a:
            value.update(
                company_name=a["name"],
                company_domain=a["domain"],
                industry=a["industry"],
                employee_count=a["employee_count"],
            )
        if source:
            value.update(utm_source=source, utm_campaign=f"{source}-q1")
        return "form_fills", value
    if kind == "account":
        (a,) = args
        return "crm_changes", {
            "event_id": f"a-{i}",
            "occurred_at": at,
            "change_type": "account_upserted",
            "account_id": a.id,
            "fields": a.fields,
        }
    (c, *rest) = args
    base = {"occurred_at": at, "contact_id": f"c-{c.n}"}
    owner = c.account.fields["owner_id"] if c.account else "rep-00"
    if kind == "contact":
        fields = {"email": c.email, **c.profile, "owner_id": owner}
        return "crm_changes", {
            "event_id": f"k-{i}",
            **base,
            "change_type": "contact_upserted",
            "account_id": c.account.id if c.account else None,
            "email": c.email,
            "fields": fields,
        }
    if kind == "activity":
        activity, direction, minutes = rest
        actor = owner if direction == "outbound" else None
        return "crm_changes", {
            "event_id": f"y-{i}",
            **base,
            "change_type": "activity_logged",
            "actor_id": actor,
            "fields": {"activity_type": activity, "direction": direction, "duration_minutes": minutes},
        }
    if kind == "stage":
        stage, reason = rest
        fields = {"stage": stage, **({"reason": reason} if reason else {})}
        return "crm_changes", {
            "event_id": f"s-{i}",
            **base,
            "change_type": "stage_changed",
            "actor_id": owner,
            "fields": fields,
        }
    (amount,) = rest
    return "crm_changes", {
        "event_id": f"o-{i}",
        **base,
        "change_type": "opportunity_upserted",
        "actor_id": owner,
        "account_id": c.account.id if c.account else None,
        "fields": {"opportunity_id": f"opp-{c.n}", "amount": amount, "currency": "USD", "stage": "open"},
    }


def write_jsonl(cfg: WorkloadConfig, path: Path) -> int:
    """One ``{"topic", "value"}`` line per event (default topic names); returns the count."""
    n = 0
    with path.open("wb") as fh:
        for stream, value in generate(cfg):
            fh.write(orjson.dumps({"topic": BY_NAME[stream].default_topic, "value": value}) + b"\n")
            n += 1
    return n
