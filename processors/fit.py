"""Fit score: who the contact is and what company it works for, negatives included.

Every point comes with the event that supplied the attribute, so an MQL can show its evidence.
"""

from __future__ import annotations

from processors.rules import Rules
from processors.rules.model import TitleFacts
from processors.state import AccountState, ContactState

FitReason = tuple[str, float, str]  # (signal, points, event_id)


def department_of(contact: ContactState, rules: Rules) -> str | None:
    """CRM department when set, else the first department whose title pattern matches.

    Read from the fit cache when it is fresh: this runs on every engagement with an account.
    """
    cached = contact.fit_cache
    if cached is not None:
        return cached[3]
    return _department(contact, rules)


def _department(contact: ContactState, rules: Rules) -> str | None:
    dept = contact.value("department")
    if dept:
        return str(dept).strip().lower()
    title = contact.value("job_title")
    if not title:
        return None
    return title_facts(title, rules)[1]


def title_facts(title: object, rules: Rules) -> TitleFacts:
    """What a job title says: its seniority level, department and whether it is junior."""
    return rules.fit.title_memo[str(title)]


def score_fit(contact: ContactState, account: AccountState | None, rules: Rules) -> tuple[float, list[FitReason]]:
    """Fit points with reasons; cached on the contact until its profile or account changes."""
    version = (account.account_id, account.version) if account else None
    cached = contact.fit_cache
    if cached is not None and cached[0] == version:
        return cached[1], cached[2]
    department = _department(contact, rules)
    reasons = _fit_reasons(contact, account, rules, department)
    score = float(sum(points for _, points, _ in reasons))
    contact.fit_cache = (version, score, reasons, department)
    return score, reasons


def _fit_reasons(
    contact: ContactState, account: AccountState | None, rules: Rules, department: str | None
) -> list[FitReason]:
    fit = rules.fit
    reasons: list[FitReason] = []
    own = contact.profile
    acc = account.profile if account is not None else None

    # Company attributes prefer the CRM account; person attributes prefer the contact.
    size = (acc.get("employee_count") if acc else None) or own.get("employee_count")
    if size is not None:
        hit = fit.size.points(int(size[0]))  # type: ignore[call-overload]
        if hit:
            reasons.append((f"fit:{hit[0]}", hit[1], size[1]))

    industry = (acc.get("industry") if acc else None) or own.get("industry")
    if industry is not None and str(industry[0]).strip().lower() in fit.industries.normalised:
        reasons.append((f"fit:industry:{str(industry[0]).lower()}", fit.industries.points, industry[1]))

    country = own.get("country") or (acc.get("country") if acc else None)
    if country is not None:
        code = str(country[0]).upper()
        if code in fit.territory.countries:
            reasons.append((f"fit:territory:{code}", fit.territory.points, country[1]))
        else:
            reasons.append((f"fit:outside_territory:{code}", fit.territory.outside_points, country[1]))

    # The person: seniority (the CRM's beats the title's) and department.
    title = own.get("job_title")
    facts = title_facts(title[0], rules) if title is not None else None
    seniority = own.get("seniority")
    level = None
    if seniority is not None:
        by_name = fit.seniority_by_level.get(str(seniority[0]).strip().lower())
        level = (by_name, seniority[1]) if by_name is not None else None
    if level is None and facts is not None and facts[0] is not None:
        level = (facts[0], title[1])  # type: ignore[index]
    if level is not None:
        reasons.append((f"fit:seniority:{level[0].level}", level[0].points, level[1]))
    if department and department in fit.departments.points:
        source = own.get("department") or title
        reasons.append(
            (f"fit:department:{department}", fit.departments.points[department], source[1] if source else "")
        )

    # Negatives.
    neg = fit.negatives
    domain = contact.email_domain
    email_source = own.get("email")
    email_event = email_source[1] if email_source else ""
    if domain and domain in neg.personal_email.normalised:
        reasons.append(("fit:personal_email", neg.personal_email.points, email_event))
    if facts is not None and facts[2]:
        reasons.append(("fit:junior_title", neg.junior_title.points, title[1]))  # type: ignore[index]
    competitor_domain = domain is not None and domain in neg.competitor.normalised
    if competitor_domain or (account is not None and account.is_competitor):
        source = acc.get("is_competitor") if acc else None
        reasons.append(("fit:competitor", neg.competitor.points, source[1] if source else email_event))
    return reasons
