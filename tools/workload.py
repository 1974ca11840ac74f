"""A seeded, realistic mixed workload for the demo, the benchmarks and end-to-end tests.

Mostly web visits, some form fills and CRM changes, over thousands of accounts and tens of
thousands of contacts: ICP and non-ICP companies, personal emails and junior titles, customers and
competitors, anonymous browsing stitched by a later form, reps responding (or not) to hand-raisers,
buying committees, and sales moving leads through the funnel with disqualification reasons.

Deterministic per seed, and streamed: arrivals are drawn in time order (an adaptively paced,
weekday/hour-shaped Poisson process) and only the events they schedule for later (the rest of a
session, a rep's call days after a demo request, a deal closing) wait in a heap, so a million
events need neither a giant plan nor a sort. Event ids come from the output position, so they
are unique across the three streams.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from types import EllipsisType
from typing import TypeVar

import orjson

from schemas.catalog import BY_NAME

SITE = "https://www.leadstream-demo.com"
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

# Target share of each stream (the fixed CRM bootstrap can push CRM above its share on small runs).
MIX = {"web_visits": 0.85, "form_fills": 0.07, "crm_changes": 0.08}

BROWSE_PATHS = [  # (path, weight): what most visitors read
    ("/", 22),
    ("/blog/lead-scoring-101", 9),
    ("/blog/mql-vs-sql", 8),
    ("/blog/sales-sla-first-response", 5),
    ("/blog/closed-loop-reporting", 4),
    ("/docs/getting-started", 6),
    ("/docs/api/webhooks", 3),
    ("/about", 4),
    ("/integrations/salesforce", 3),
    ("/customers/case-study-x", 2),
    ("/pricing", 4),
    ("/careers/sdr", 1),
]
BUY_PATHS = [  # what evaluators read
    ("/pricing", 24),
    ("/demo", 12),
    ("/compare/vs-acme", 9),
    ("/compare/vs-legacy-scoring", 5),
    ("/integrations/salesforce", 10),
    ("/integrations/hubspot", 6),
    ("/customers/case-study-x", 6),
    ("/customers/case-study-fintech", 5),
    ("/docs/getting-started", 5),
    ("/", 8),
]
JOB_PATHS = [("/careers", 4), ("/careers/sdr", 5), ("/careers/backend-engineer", 5), ("/about", 3), ("/", 3)]
FORMS = [
    ("content_download", 36),
    ("webinar_registration", 22),
    ("newsletter", 18),
    ("trial_signup", 7),
    ("demo_request", 6),
    ("contact_sales", 3),
    ("pricing_request", 3),
    ("other", 5),
]
HAND_RAISERS = frozenset({"demo_request", "contact_sales", "pricing_request"})
ASSETS = {
    "content_download": ["The MQL playbook", "Lead scoring benchmark 2026", "SLA calculator", "Closed-loop guide"],
    "webinar_registration": ["Scoring live", "From MQL to revenue", "RevOps office hours"],
}
ICP_INDUSTRIES = ["software", "saas", "financial services", "manufacturing", "healthcare"]
OTHER_INDUSTRIES = ["retail", "education", "government", "hospitality", "media"]
SUFFIX = {
    "software": "Software",
    "saas": "Cloud",
    "financial services": "Capital",
    "manufacturing": "Industries",
    "healthcare": "Health",
    "retail": "Stores",
    "education": "Academy",
    "government": "Agency",
    "hospitality": "Hotels",
    "media": "Media",
}
STEMS = [
    "acme", "globex", "initech", "umbrella", "northwind", "contoso", "fabrikam", "hooli", "vandelay",
    "stark", "wayne", "tyrell", "cyberdyne", "soylent", "wonka", "gringotts", "oscorp", "aperture",
    "massive", "bluth", "dunder", "prestige", "sterling", "monarch", "pinnacle", "vertex", "nimbus",
    "lumen", "quanta", "helix",
]  # fmt: skip
ICP_COUNTRIES = [("US", 40), ("CA", 6), ("GB", 12), ("IE", 3), ("DE", 10), ("FR", 7), ("NL", 5), ("AU", 5)]
OTHER_COUNTRIES = [("BR", 3), ("IN", 4), ("JP", 2), ("MX", 2), ("ZA", 1), ("SG", 1)]
TERRITORY = {"US": "na", "CA": "na", "MX": "latam", "BR": "latam", "IN": "apac", "JP": "apac", "AU": "apac"}
TERRITORY.update({"SG": "apac", "GB": "emea", "IE": "emea", "DE": "emea", "FR": "emea", "NL": "emea", "ZA": "emea"})
REPS = {  # territory -> rep ids
    "na": [f"rep-{i:02d}" for i in range(1, 11)],
    "emea": [f"rep-{i:02d}" for i in range(11, 18)],
    "apac": [f"rep-{i:02d}" for i in range(18, 22)],
    "latam": [f"rep-{i:02d}" for i in range(22, 24)],
}
PERSONAL = ["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com"]
FIRST = ["Ana", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kofi", "Lena", "Mo", "Nia"]
LAST = ["Smith", "Garcia", "Kim", "Müller", "Rossi", "Dubois", "Singh", "Okafor", "Tanaka", "Novak", "Silva"]
DEPARTMENTS = [
    ("marketing", 22),
    ("sales", 18),
    ("engineering", 16),
    ("it", 10),
    ("finance", 8),
    ("operations", 12),
    ("hr", 5),
    ("product", 9),
]
SENIORITY = [("intern", 3), ("individual", 38), ("manager", 28), ("director", 17), ("vp", 9), ("cxo", 5)]
LABEL = {"it": "IT", "hr": "HR"}
INDIVIDUAL = {
    "marketing": "Marketing Specialist",
    "sales": "Account Executive",
    "engineering": "Software Engineer",
    "it": "Systems Administrator",
    "finance": "Financial Analyst",
    "operations": "Operations Analyst",
    "hr": "HR Coordinator",
    "product": "Product Analyst",
}
CXO = {
    "marketing": "CMO",
    "sales": "Chief Revenue Officer",
    "engineering": "CTO",
    "it": "CIO",
    "finance": "CFO",
    "operations": "COO",
    "hr": "Chief People Officer",
    "product": "Chief Product Officer",
}
JUNIOR_TITLES = ["Student", "Intern", "Looking for work"]
SOURCES = [("google", 34), ("linkedin", 18), ("newsletter", 9), ("partner", 7), ("direct", 20), (None, 12)]
MEDIUM = {"google": "cpc", "linkedin": "paid_social", "newsletter": "email", "partner": "referral"}
REFERRER = {
    "google": "https://www.google.com/",
    "linkedin": "https://www.linkedin.com/",
    "partner": "https://partner.example.net/",
}
ICP_SET = frozenset(c for c, _ in ICP_COUNTRIES)
ICP_INDUSTRY_SET = frozenset(ICP_INDUSTRIES)
MAX_RETURNING = 12  # sessions per contact before it is only an occasional visitor
COMMITTEE_SHARE = 0.006  # of known-visitor web arrivals: an account-wide evaluation starts


_T = TypeVar("_T")


def _table(weighted: Sequence[tuple[_T, int]]) -> list[_T]:
    """Weights expanded into a list, so a weighted pick is one ``random()`` and an index."""
    return [item for item, w in weighted for _ in range(w)]


T_BROWSE, T_BUY, T_JOB = _table(BROWSE_PATHS), _table(BUY_PATHS), _table(JOB_PATHS)
T_FORMS, T_SOURCES = _table(FORMS), _table(SOURCES)
T_DEPT, T_SENIORITY = _table(DEPARTMENTS), _table(SENIORITY)
T_ICP_COUNTRY, T_OTHER_COUNTRY = _table(ICP_COUNTRIES), _table(OTHER_COUNTRIES)


@dataclass(frozen=True)
class WorkloadConfig:
    seed: int = 7
    events: int = 200_000  # approximate total
    accounts: int = 3_000
    contacts: int = 30_000
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
    days: int = 60
    anonymous_share: float = 0.35  # of web sessions, by visitors who never identify
    inject_bad: float = 0.0  # fraction of extra malformed values (demo of dead-lettering)


class _Account:
    __slots__ = (
        "i", "id", "domain", "name", "employees", "industry", "country", "territory", "owner",
        "is_customer", "is_competitor", "contacts", "fit",
    )  # fmt: skip
    i: int
    id: str
    domain: str
    name: str
    employees: int
    industry: str
    country: str
    territory: str
    owner: str
    is_customer: bool
    is_competitor: bool
    contacts: list[_Contact]
    fit: bool  # an ICP account (industry, country, size)

    def fields(self) -> dict:
        return {
            "domain": self.domain,
            "name": self.name,
            "employee_count": self.employees,
            "industry": self.industry,
            "country": self.country,
            "territory": self.territory,
            "is_customer": self.is_customer,
            "is_competitor": self.is_competitor,
            "owner_id": self.owner,
        }


class _Contact:
    __slots__ = (
        "n", "account", "email", "first", "last", "dept", "seniority", "title", "country", "owner",
        "junior", "intent", "crm_ms", "in_crm", "identified", "sessions", "opp",
    )  # fmt: skip
    n: int
    account: _Account | None  # None: a personal email
    email: str
    first: str
    last: str
    dept: str
    seniority: str
    title: str
    country: str
    owner: str
    junior: bool
    intent: float  # chance a session reads the buying pages
    crm_ms: int | None  # when the CRM learns the contact; -1 before bootstrap decides; None: not planned
    in_crm: bool
    identified: bool
    sessions: int
    opp: str | None

    def good_fit(self) -> bool:
        a = self.account
        return (
            a is not None
            and not self.junior
            and not a.is_competitor
            and not a.is_customer
            and a.employees >= 50
            and a.country in ICP_SET
        )


def _accounts(rng: random.Random, cfg: WorkloadConfig) -> list[_Account]:
    out = []
    rand = rng.random
    for i in range(cfg.accounts):
        a = _Account()
        a.i, a.id = i, f"acc-{i}"
        stem = STEMS[int(rand() * len(STEMS))]
        a.industry = rng.choice(ICP_INDUSTRIES if rand() < 0.6 else OTHER_INDUSTRIES)
        a.domain = f"{stem}-{i}.com"
        a.name = f"{stem.title()} {SUFFIX[a.industry]} {i}"
        a.employees = min(int(rng.lognormvariate(5.5, 1.4)) + 5, 250_000)
        a.country = rng.choice(T_ICP_COUNTRY if rand() < 0.85 else T_OTHER_COUNTRY)
        a.territory = TERRITORY[a.country]
        a.owner = rng.choice(REPS[a.territory])
        a.is_customer = rand() < 0.05
        a.is_competitor = not a.is_customer and rand() < 0.01
        a.contacts = []
        a.fit = a.industry in ICP_INDUSTRY_SET and a.country in ICP_SET and 50 <= a.employees <= 5000
        out.append(a)
    return out


def _contacts(rng: random.Random, cfg: WorkloadConfig, accounts: list[_Account]) -> list[_Contact]:
    """Contacts spread over accounts by size; ~10% on personal emails, ~60% already in the CRM."""
    cum = list(accumulate(a.employees**0.5 for a in accounts))
    total = cum[-1] if cum else 0.0
    rand = rng.random
    out = []
    for n in range(cfg.contacts):
        c = _Contact()
        c.n = n
        c.first, c.last = FIRST[int(rand() * len(FIRST))], LAST[int(rand() * len(LAST))]
        c.dept = T_DEPT[int(rand() * len(T_DEPT))]
        c.seniority = T_SENIORITY[int(rand() * len(T_SENIORITY))]
        c.junior = c.seniority == "intern" or rand() < 0.03
        label = LABEL.get(c.dept, c.dept.title())
        c.title = {
            "intern": f"{label} Intern",
            "individual": INDIVIDUAL[c.dept],
            "manager": f"{label} Manager",
            "director": f"Director of {label}",
            "vp": f"VP {label}",
            "cxo": CXO[c.dept],
        }[c.seniority]
        if c.junior and c.seniority != "intern":
            c.title = JUNIOR_TITLES[int(rand() * 3)]
        local = f"{c.first.lower()}.{c.last.lower().replace('ü', 'u')}{n}"
        if not accounts or rand() < 0.1:
            c.account = None
            c.email = f"{local}@{PERSONAL[int(rand() * len(PERSONAL))]}"
            c.country = rng.choice(T_ICP_COUNTRY if rand() < 0.7 else T_OTHER_COUNTRY)
            c.owner = rng.choice(REPS[TERRITORY[c.country]])
        else:
            a = accounts[min(bisect(cum, rand() * total), len(accounts) - 1)]
            c.account = a
            a.contacts.append(c)
            c.email = f"{local}@{a.domain}"
            c.country, c.owner = a.country, a.owner
        c.intent = rand() ** 2 * (0.3 if c.junior else 1.0)  # most browse; a few evaluate hard
        c.crm_ms = -1 if rand() < (0.64 if c.account else 0.25) else None  # -1: bootstrap decides
        c.in_crm = c.identified = False
        c.sessions = 0
        c.opp = None
        out.append(c)
    return out


def _week_weights() -> list[float]:
    """Traffic by hour of the week (UTC, Monday 00:00 first): weekdays, US+EU office hours."""
    hours = [0.25, 0.2, 0.2, 0.2, 0.25, 0.35, 0.5, 0.7, 0.85, 0.95, 1.0, 1.0]
    hours += [1.0, 1.0, 1.0, 1.0, 0.95, 0.85, 0.7, 0.6, 0.5, 0.4, 0.35, 0.3]
    return [h * (1.0 if d < 5 else 0.35) for d in range(7) for h in hours]


class _Generator:
    """One run: entities, the arrival clock, the heap of scheduled events, and rendering."""

    def __init__(self, cfg: WorkloadConfig) -> None:
        self.cfg = cfg
        self.rng = rng = random.Random(cfg.seed)
        self.accounts = _accounts(rng, cfg)
        self.contacts = _contacts(rng, cfg, self.accounts)
        # Engagement is skewed: a minority of contacts does most of the browsing.
        self.engagement = list(accumulate(rng.paretovariate(1.4) for _ in self.contacts))
        self.committees = [a for a in self.accounts if len({c.dept for c in a.contacts}) >= 3]
        self.start_ms = round(cfg.start.timestamp() * 1000)
        self.end = cfg.days * DAY_MS
        self.heap: list[tuple[int, int, int, tuple]] = []
        self.seq = 0
        self.planned = {"web_visits": 0, "form_fills": 0, "crm_changes": 0}
        self.sessions = 0
        self.anon_visitors = max(1, cfg.contacts * 2)
        self.touched: set[str] = set()  # visitors whose first touch was planned
        self._days: dict[int, str] = {}

    # --- planning -------------------------------------------------------------------------------

    def add(self, t: float, kind: int, stream: str, args: tuple) -> bool:
        """Schedule an event; events past the end of the timeline are not part of the workload."""
        if not 0 <= t <= self.end:
            return False
        heapq.heappush(self.heap, (int(t), self.seq, kind, args))
        self.seq += 1
        self.planned[stream] += 1
        return True

    def bootstrap(self) -> None:
        rand = self.rng.random
        for a in self.accounts:
            self.add(rand() * 10 * MINUTE_MS, K_ACCOUNT, CRM, (a, False))
        for c in self.contacts:
            if c.crm_ms == -1:
                c.crm_ms = int(10 * MINUTE_MS + rand() * 3 * HOUR_MS)
                self.add(c.crm_ms, K_CONTACT, CRM, (c,))

    def pick_contact(self) -> _Contact:
        i = bisect(self.engagement, self.rng.random() * self.engagement[-1])
        return self.contacts[min(i, len(self.contacts) - 1)]

    def ensure_crm(self, c: _Contact, t: float) -> float:
        """The CRM learns the contact (lead sync) a few minutes after ``t`` unless it knows it already."""
        if c.crm_ms is None or c.crm_ms > t:
            at = t + self.rng.uniform(1, 20) * MINUTE_MS
            if self.add(at, K_CONTACT, CRM, (c,)):
                c.crm_ms = int(at)
        return c.crm_ms if c.crm_ms is not None else self.end + 1

    def session(
        self,
        t: float,
        c: _Contact | None,
        pages: int,
        table: list[str] | None = None,
        source: str | None | EllipsisType = ...,
    ) -> float:
        """A browsing session of ``pages`` page views from ``t``; returns when it ends."""
        rng, rand = self.rng, self.rng.random
        self.sessions += 1
        sid = f"s-{self.sessions}"
        if c is None:
            visitor = f"anon-{int(rand() * self.anon_visitors)}"
            a = self.accounts[int(rand() * len(self.accounts))] if self.accounts and rand() < 0.3 else None
        else:
            visitor = f"v-{c.n}"
            c.sessions += 1
            a = c.account if c.account is not None and rand() < 0.45 else None  # office network
        domain = a.domain if a is not None else None
        first_touch = visitor not in self.touched
        if first_touch:
            self.touched.add(visitor)
        if source is ...:
            source = T_SOURCES[int(rand() * len(T_SOURCES))] if first_touch or rand() < 0.25 else "direct"
        utm = None
        if source is not None and source != "direct":
            campaign = f"{source}-2026q1" if rand() > 0.08 else None  # data hygiene: some lack a campaign
            utm = (source, MEDIUM[source] if rand() > 0.05 else None, campaign)
        if table is None:
            if c is not None and c.junior and rand() < 0.5:
                table = T_JOB
            else:
                table = T_BUY if c is not None and rand() < c.intent else T_BROWSE
        referrer = REFERRER.get(source) if isinstance(source, str) else None
        n = len(table)
        for k in range(pages):
            duration = int(rng.lognormvariate(3.6, 1.0)) + 2
            path = table[int(rand() * n)]
            self.add(t, K_VISIT, WEB, (visitor, c, path, utm if k == 0 else None, duration, sid, domain, referrer))
            referrer = None
            t += (duration + rand() * 40) * 1000
        return t

    def arrival(self, t: float) -> None:
        """Whatever happens next: a web session, a form fill, a committee, or CRM background work."""
        rand = self.rng.random
        total = self.cfg.events
        rem_web = max(0.0, MIX["web_visits"] * total - self.planned["web_visits"]) / 3.5
        rem_form = max(0.0, MIX["form_fills"] * total - self.planned["form_fills"])
        rem_crm = max(0.0, MIX["crm_changes"] * total - self.planned["crm_changes"])
        r = rand() * (rem_web + rem_form + rem_crm)
        if r < rem_form and self.contacts:
            self.form_arrival(t, self.pick_contact())
        elif r < rem_form + rem_crm and self.contacts:
            self.crm_arrival(t)
        elif not self.contacts or rand() < self.cfg.anonymous_share:
            self.session(t, None, 1 + int(rand() ** 2 * 6))
        elif self.committees and rand() < COMMITTEE_SHARE:
            self.committee(t)
        else:
            c = self.pick_contact()
            if c.sessions >= MAX_RETURNING and rand() < 0.8:
                c = self.contacts[int(rand() * len(self.contacts))]
            self.session(t, c, 1 + int(rand() ** 2 * 7))

    def form_arrival(self, t: float, c: _Contact, forms: list[str] | None = None) -> None:
        rand = self.rng.random
        hand_raiser_bias = c.intent > 0.6 and rand() < 0.15  # evaluators ask for a demo
        table = T_BUY if hand_raiser_bias or rand() < c.intent else T_BROWSE
        t = self.session(t, c, 1 + int(rand() * 4), table)
        if forms is not None:
            form_type = forms[int(rand() * len(forms))]
        elif hand_raiser_bias:
            form_type = ("demo_request", "contact_sales", "pricing_request", "trial_signup")[int(rand() * 4)]
        else:
            form_type = T_FORMS[int(rand() * len(T_FORMS))]
        if self.add(t, K_FORM, FORM, (c, form_type)):
            self.follow_up(t, c, form_type)

    def follow_up(self, t: float, c: _Contact, form_type: str) -> None:
        """What marketing and sales do about a form: webinar attendance, rep response, funnel."""
        rng, rand = self.rng, self.rng.random
        if form_type == "webinar_registration" and rand() < 0.55:
            at = t + rng.uniform(1, 10) * DAY_MS
            self.add(at, K_ACTIVITY, CRM, (c, "webinar_attended", "inbound", int(rng.uniform(5, 60)), None))
        if form_type in HAND_RAISERS:
            crm_at = self.ensure_crm(c, t)
            if rand() < 0.5:  # half of the hand-raisers get a rep: some within the SLA, some late
                u = rand()
                if u < 0.4:
                    delay = rng.uniform(2, 14) * MINUTE_MS
                elif u < 0.7:
                    delay = rng.uniform(15, 60) * MINUTE_MS
                else:
                    delay = rng.uniform(1, 72) * HOUR_MS
                at = max(t + delay, crm_at)
                kind = ("call", "email", "email", "meeting", "linkedin")[int(rand() * 5)]
                self.add(at, K_ACTIVITY, CRM, (c, kind, "outbound", int(rng.uniform(1, 30)), c.owner))
            if rand() < 0.6:
                self.funnel(max(t + rng.uniform(0.2, 3) * DAY_MS, crm_at + MINUTE_MS), c)
        elif form_type == "trial_signup" and rand() < 0.25:
            crm_at = self.ensure_crm(c, t)
            self.funnel(max(t + rng.uniform(1, 5) * DAY_MS, crm_at + MINUTE_MS), c)
        elif not c.good_fit() and rand() < 0.06:  # SDR triage of poor-fit leads
            crm_at = self.ensure_crm(c, t)
            at = max(t + rng.uniform(0.5, 5) * DAY_MS, crm_at + MINUTE_MS)
            self.add(at, K_STAGE, CRM, (c, "disqualified", self.dq_reason(c)))
        elif c.crm_ms is not None and c.crm_ms <= t and rand() < 0.03:
            at = t + rng.uniform(2, 20) * DAY_MS
            stage = "recycled" if rand() < 0.5 else "nurture"
            reason = "no_current_need" if stage == "recycled" or rand() < 0.5 else None
            self.add(at, K_STAGE, CRM, (c, stage, reason))

    def dq_reason(self, c: _Contact) -> str:
        a = c.account
        if c.junior:
            return "wrong_persona"
        if a is None:
            return ("invalid_data", "wrong_persona", "no_response")[int(self.rng.random() * 3)]
        if a.is_customer:
            return "existing_customer"
        if a.is_competitor:
            return "competitor"
        if a.employees < 50:
            return "wrong_company_size"
        if a.country not in ICP_SET:
            return "outside_territory"
        return ("no_response", "no_current_need", "duplicate", "wrong_persona", "other")[int(self.rng.random() * 5)]

    def funnel(self, t: float, c: _Contact) -> None:
        """SAL → SQL → opportunity → won/lost, or a disqualification / recycle with its reason."""
        rng, rand = self.rng, self.rng.random
        if rand() < (0.25 if c.good_fit() else 0.75):
            self.add(t, K_STAGE, CRM, (c, "disqualified", self.dq_reason(c)))
            return
        self.add(t, K_STAGE, CRM, (c, "sal", None))
        t += rng.uniform(1, 7) * DAY_MS
        if rand() < 0.3:
            stage = ("recycled", "nurture")[int(rand() * 2)]
            self.add(t, K_STAGE, CRM, (c, stage, "no_response" if stage == "recycled" else None))
            return
        self.add(t, K_STAGE, CRM, (c, "sql", None))
        t += rng.uniform(1, 10) * DAY_MS
        if rand() < 0.3:
            self.add(t, K_STAGE, CRM, (c, "recycled", ("no_current_need", "no_response")[int(rand() * 2)]))
            return
        self.add(t, K_STAGE, CRM, (c, "opportunity", None))
        c.opp = f"opp-{c.n}"
        amount = round(rng.lognormvariate(10.3, 0.8) / 1000) * 1000 + 5000
        self.add(t + 2 * MINUTE_MS, K_OPP, CRM, (c, amount, "open"))
        t += rng.uniform(7, 40) * DAY_MS
        if rand() < 0.35:
            self.add(t, K_OPP, CRM, (c, amount, "closed_won"))
            self.add(t + MINUTE_MS, K_STAGE, CRM, (c, "won", None))
            if c.account is not None and not c.account.is_customer:
                self.add(t + rng.uniform(1, 24) * HOUR_MS, K_ACCOUNT, CRM, (c.account, True))
        else:
            reason = ("no_current_need", "competitor", "no_response", "other")[int(rand() * 4)]
            self.add(t, K_OPP, CRM, (c, amount, "closed_lost"))
            self.add(t + MINUTE_MS, K_STAGE, CRM, (c, "lost", reason))

    def committee(self, t: float) -> None:
        """Several contacts of one account, different departments, engaging within two weeks."""
        rng, rand = self.rng, self.rng.random
        a = self.committees[int(rand() * len(self.committees))]
        people, depts = [], set()
        for c in rng.sample(a.contacts, len(a.contacts)):
            if c.dept not in depts and not c.junior:
                people.append(c)
                depts.add(c.dept)
            if len(people) == 3 + int(rand() * 3):
                break
        for c in people:
            at = t + rand() * 14 * DAY_MS
            if rand() < 0.5:
                self.form_arrival(at, c, ["content_download", "webinar_registration", "trial_signup", "demo_request"])
            else:
                if c.crm_ms is not None and c.crm_ms <= at:
                    self.email_click(at, c)
                self.session(at + 1000, c, 2 + int(rand() * 4), T_BUY)

    def email_click(self, t: float, c: _Contact) -> None:
        """A marketing email click: a CRM activity, and the tracker now knows the visitor."""
        self.add(t, K_ACTIVITY, CRM, (c, "email_click", "inbound", None, None))

    def crm_arrival(self, t: float) -> None:
        """CRM background: prospecting, marketing emails, inbound calls, profile updates."""
        rng, rand = self.rng, self.rng.random
        c = self.pick_contact() if rand() < 0.6 else self.contacts[int(rand() * len(self.contacts))]
        known = c.crm_ms is not None and c.crm_ms <= t
        u = rand()
        if u < 0.35 and known:
            kind = ("call", "email", "email", "linkedin")[int(rand() * 4)]
            self.add(t, K_ACTIVITY, CRM, (c, kind, "outbound", int(rng.uniform(1, 20)), c.owner))
        elif u < 0.65 and known:
            self.email_click(t, c)
            self.session(t + 1000, c, 1 + int(rand() * 3), None, "newsletter")
        elif u < 0.72 and known:
            kind = ("call", "email", "meeting")[int(rand() * 3)]
            self.add(t, K_ACTIVITY, CRM, (c, kind, "inbound", int(rng.uniform(5, 45)), c.owner))
        elif u < 0.82:
            if not known:
                c.crm_ms = int(t)
            self.add(t, K_CONTACT, CRM, (c,))  # a rep adds or edits the contact
        elif u < 0.9 and self.accounts:
            a = self.accounts[int(rand() * len(self.accounts))]
            a.employees = max(5, int(a.employees * rng.uniform(0.95, 1.1)))
            self.add(t, K_ACCOUNT, CRM, (a, False))
        elif known:
            stage = ("nurture", "recycled")[int(rand() * 2)]
            self.add(t, K_STAGE, CRM, (c, stage, "no_current_need" if stage == "recycled" else None))
        else:
            self.session(t, c, 1 + int(rand() * 3))

    # --- the clock ------------------------------------------------------------------------------

    def run(self) -> Iterator[tuple[int, int, tuple]]:
        """Scheduled events in time order, as (time, kind, args)."""
        rng = self.rng
        rand, expo = rng.random, rng.expovariate
        heap, pop = self.heap, heapq.heappop
        self.bootstrap()
        weights = _week_weights()
        wmax, wmean = max(weights), sum(weights) / len(weights)
        epoch_hour0 = self.start_ms // HOUR_MS + 72  # 1970-01-01 was a Thursday: shift to Monday 00:00
        t, arrivals, boot = 0.0, 0, self.seq
        total = self.cfg.events
        while True:
            done = self.seq
            left = total - done
            if left <= 0 or t >= self.end:
                break
            size = (self.seq - boot + 15.0) / (arrivals + 5)  # events per arrival so far, prior 3
            est = max(left / size, 1.0)
            rate = est / (self.end - t) * wmax / wmean  # candidate arrivals per ms, before thinning
            t += expo(rate)
            if rand() * wmax > weights[int((epoch_hour0 + t // HOUR_MS) % 168)] or t > self.end:
                continue
            while heap and heap[0][0] <= t:
                at, _, kind, args = pop(heap)
                yield at, kind, args
            self.arrival(t)
            arrivals += 1
        while heap:
            at, _, kind, args = pop(heap)
            yield at, kind, args

    # --- rendering ------------------------------------------------------------------------------

    def iso(self, t: int) -> str:
        ms = self.start_ms + t
        day, rest = divmod(ms, DAY_MS)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")
        s, milli = divmod(rest, 1000)
        h, s = divmod(s, 3600)
        m, s = divmod(s, 60)
        return f"{prefix}{h:02d}:{m:02d}:{s:02d}.{milli:03d}+00:00"

    def render(self, i: int, t: int, kind: int, args: tuple) -> tuple[str, dict]:
        at = self.iso(t)
        if kind == K_VISIT:
            visitor, c, path, utm, duration, sid, domain, referrer = args
            value = {"event_id": f"w-{i}", "occurred_at": at, "visitor_id": visitor, "url": SITE + path}
            if c is not None and c.identified and c.in_crm:
                value["contact_id"] = f"c-{c.n}"
            if referrer:
                value["referrer"] = referrer
            if utm is not None:
                value["utm_source"] = utm[0]
                if utm[1]:
                    value["utm_medium"] = utm[1]
                if utm[2]:
                    value["utm_campaign"] = utm[2]
            value["session_id"] = sid
            value["duration_seconds"] = duration
            if domain:
                value["company_domain"] = domain
            return WEB, value
        if kind == K_FORM:
            c, form_type = args
            c.identified = True
            return FORM, self.form_value(i, at, c, form_type)
        if kind == K_ACCOUNT:
            a, becomes_customer = args
            if becomes_customer:
                a.is_customer = True
            value = {
                "event_id": f"crm-{i}",
                "occurred_at": at,
                "change_type": "account_upserted",
                "account_id": a.id,
                "fields": a.fields(),
            }
            return CRM, value
        c = args[0]
        value = {"event_id": f"crm-{i}", "occurred_at": at}
        if kind == K_CONTACT:
            c.in_crm = True
            value.update(change_type="contact_upserted", contact_id=f"c-{c.n}")
            if c.account is not None:
                value["account_id"] = c.account.id
            value["email"] = c.email
            value["fields"] = {
                "email": c.email,
                "job_title": c.title,
                "department": c.dept,
                "seniority": c.seniority,
                "country": c.country,
                "owner_id": c.owner,
            }
            return CRM, value
        if c.in_crm:
            value["contact_id"] = f"c-{c.n}"
        if c.account is not None:
            value["account_id"] = c.account.id
        value["email"] = c.email
        if kind == K_ACTIVITY:
            _, activity, direction, minutes, actor = args
            if activity == "email_click" and c.in_crm:
                c.identified = True  # the click lands on the site with the contact's identity
            value["change_type"] = "activity_logged"
            if actor:
                value["actor_id"] = actor
            fields: dict = {"activity_type": activity, "direction": direction}
            if minutes is not None:
                fields["duration_minutes"] = minutes
            value["fields"] = fields
        elif kind == K_STAGE:
            _, stage, reason = args
            value.update(change_type="stage_changed", actor_id=c.owner)
            value["fields"] = {"stage": stage, "reason": reason} if reason else {"stage": stage}
        else:
            _, amount, stage = args
            value.update(change_type="opportunity_upserted", actor_id=c.owner)
            value["fields"] = {"opportunity_id": c.opp, "amount": amount, "currency": "USD", "stage": stage}
        return CRM, value

    def form_value(self, i: int, at: str, c: _Contact, form_type: str) -> dict[str, str | int]:
        rand = self.rng.random
        value: dict[str, str | int] = {
            "event_id": f"f-{i}",
            "occurred_at": at,
            "visitor_id": f"v-{c.n}",
            "email": c.email,
            "form_type": form_type,
            "first_name": c.first,
            "last_name": c.last,
        }
        assets = ASSETS.get(form_type)
        if assets:
            value["asset"] = assets[c.n % len(assets)]
        if rand() < 0.92:
            value["job_title"] = c.title
        a = c.account
        if a is not None:
            value["company_name"] = a.name
            if rand() < 0.7:
                value["company_domain"] = a.domain
            if rand() < 0.5:
                value["industry"] = a.industry
            if rand() < 0.4:
                value["employee_count"] = a.employees
        elif rand() < 0.3:
            value["company_name"] = "Self-employed"
        value["country"] = c.country
        # hidden fields: the campaign of this visitor's first touch, when the tracker kept it
        if form_type != "newsletter" and rand() < 0.6:
            source = T_SOURCES[c.n % len(T_SOURCES)]
            if source and source != "direct":
                value["utm_source"] = source
                value["utm_medium"] = MEDIUM[source]
                value["utm_campaign"] = f"{source}-2026q1"
        return value


WEB, FORM, CRM = "web_visits", "form_fills", "crm_changes"
K_VISIT, K_FORM, K_ACCOUNT, K_CONTACT, K_ACTIVITY, K_STAGE, K_OPP = range(7)


def bad_values(rng: random.Random, stream: str = "web_visits") -> dict:
    """A malformed value for ``stream`` (missing field, wrong type, bad time or unknown enum).

    Every one fails the contract models, so a pipeline must dead-letter it, never crash on it.
    """
    n = rng.randrange(1_000_000_000)
    base: dict = {"event_id": f"bad-{n}", "occurred_at": "2026-01-05T09:30:00+00:00"}
    if stream == "web_visits":
        base.update(visitor_id=f"v-bad-{n}", url=f"{SITE}/pricing")
        broken = [
            lambda v: v.pop("visitor_id"),
            lambda v: v.pop("url"),
            lambda v: v.update(duration_seconds="long"),
            lambda v: v.update(visitor_id=["v-1"]),
            lambda v: v.update(occurred_at="yesterday"),
            lambda v: v.update(occurred_at="2026-01-05T09:30:00"),  # no offset
        ]
    elif stream == "form_fills":
        base.update(visitor_id=f"v-bad-{n}", email=f"bad{n}@example.com", form_type="demo_request")
        broken = [
            lambda v: v.pop("email"),
            lambda v: v.update(form_type="webinar"),
            lambda v: v.update(employee_count="lots"),
            lambda v: v.update(occurred_at="2026-13-45T00:00:00+00:00"),
        ]
    else:
        base.update(change_type="stage_changed", contact_id=f"c-bad-{n}", fields={"stage": "sql"})
        broken = [
            lambda v: v.pop("change_type"),
            lambda v: v.update(change_type="contact_deleted"),
            lambda v: v.update(fields={"stage": "closed"}),
            lambda v: v.update(fields={"stage": "disqualified"}),  # reason is required
            lambda v: v.update(fields=["stage", "sql"]),
            lambda v: v.update(occurred_at={"millis": 1_767_600_000_000}),
        ]
    rng.choice(broken)(base)
    return base


def generate(cfg: WorkloadConfig) -> Iterator[tuple[str, dict]]:
    """(stream name, JSON-ready value) pairs in non-decreasing ``occurred_at`` order.

    With ``inject_bad`` > 0, malformed values (from their own RNG, so the valid events stay the
    same) are mixed in after valid ones; their times may be unparseable, so order covers the valid.
    """
    gen = _Generator(cfg)
    render = gen.render
    bad_rng = random.Random(f"bad-{cfg.seed}") if cfg.inject_bad > 0 else None
    streams = (WEB, WEB, WEB, FORM, CRM)
    for i, (t, kind, args) in enumerate(gen.run()):
        yield render(i, t, kind, args)
        if bad_rng is not None and bad_rng.random() < cfg.inject_bad:
            stream = streams[bad_rng.randrange(len(streams))]
            yield stream, bad_values(bad_rng, stream)


def write_jsonl(cfg: WorkloadConfig, path: Path) -> int:
    """One ``{"topic", "value"}`` line per event (default topic names); returns the count."""
    topics = {s: BY_NAME[s].default_topic.encode() for s in (WEB, FORM, CRM)}
    dumps = orjson.dumps
    n = 0
    with path.open("wb", buffering=1 << 20) as fh:
        write = fh.write
        for stream, value in generate(cfg):
            write(b'{"topic":"' + topics[stream] + b'","value":' + dumps(value) + b"}\n")
            n += 1
    return n


__all__ = ["WorkloadConfig", "bad_values", "generate", "write_jsonl"]
