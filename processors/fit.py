"""Fit score: who the contact is and what company it works for, negatives included.

Every point comes with the event that supplied the attribute, so an MQL can show its evidence.
"""

from __future__ import annotations

from processors.rules import Rules
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
    for name, rx in rules.fit.departments.regexes:
        if rx.search(title):
            return name
    return None


def _attr(
    contact: ContactState, account: AccountState | None, attr: str, prefer_account: bool
) -> tuple[object, str] | None:
    """Company attributes prefer the CRM account; person attributes prefer the contact."""
    own = contact.profile.get(attr)
    acc = account.profile.get(attr) if account else None
    first, second = (acc, own) if prefer_account else (own, acc)
    return first or second


def score_fit(contact: ContactState, account: AccountState | None, rules: Rules) -> tuple[float, list[FitReason]]:
    """Fit points with reasons; cached on the contact until its profile or account changes."""
    version = (account.account_id, account.version) if account else None
    cached = contact.fit_cache
    if cached is not None and cached[0] == version:
        return cached[1], cached[2]
    reasons = _fit_reasons(contact, account, rules)
    score = float(sum(points for _, points, _ in reasons))
    contact.fit_cache = (version, score, reasons, _department(contact, rules))
    return score, reasons


def _fit_reasons(contact: ContactState, account: AccountState | None, rules: Rules) -> list[FitReason]:
    fit = rules.fit
    reasons: list[FitReason] = []

    size = _attr(contact, account, "employee_count", prefer_account=True)
    if size is not None:
        hit = fit.size.points(int(size[0]))  # type: ignore[call-overload]
        if hit:
            reasons.append((f"fit:{hit[0]}", hit[1], size[1]))

    industry = _attr(contact, account, "industry", prefer_account=True)
    if industry is not None and str(industry[0]).strip().lower() in fit.industries.normalised:
        reasons.append((f"fit:industry:{str(industry[0]).lower()}", fit.industries.points, industry[1]))

    country = _attr(contact, account, "country", prefer_account=False)
    if country is not None:
        code = str(country[0]).upper()
        if code in fit.territory.countries:
            reasons.append((f"fit:territory:{code}", fit.territory.points, country[1]))
        else:
            reasons.append((f"fit:outside_territory:{code}", fit.territory.outside_points, country[1]))

    reasons.extend(_person_reasons(contact, rules))
    reasons.extend(_negative_reasons(contact, account, rules))
    return reasons


def _person_reasons(contact: ContactState, rules: Rules) -> list[FitReason]:
    fit = rules.fit
    out: list[FitReason] = []
    seniority = contact.profile.get("seniority")
    title = contact.profile.get("job_title")
    level = None
    if seniority is not None:
        wanted = str(seniority[0]).strip().lower()
        level = next(((lv, seniority[1]) for lv in fit.seniority if lv.level == wanted), None)
    if level is None and title is not None:
        level = next(
            ((lv, title[1]) for lv in fit.seniority if lv.regex and lv.regex.search(str(title[0]))),
            None,
        )
    if level is not None:
        out.append((f"fit:seniority:{level[0].level}", level[0].points, level[1]))

    dept = _department(contact, rules)
    if dept and dept in fit.departments.points:
        source = contact.profile.get("department") or title
        out.append((f"fit:department:{dept}", fit.departments.points[dept], source[1] if source else ""))
    return out


def _negative_reasons(contact: ContactState, account: AccountState | None, rules: Rules) -> list[FitReason]:
    neg = rules.fit.negatives
    out: list[FitReason] = []
    domain = contact.email_domain
    email_source = contact.profile.get("email")
    email_event = email_source[1] if email_source else ""
    if domain and domain in neg.personal_email.normalised:
        out.append(("fit:personal_email", neg.personal_email.points, email_event))
    title = contact.profile.get("job_title")
    if title is not None and neg.junior_title.regex and neg.junior_title.regex.search(str(title[0])):
        out.append(("fit:junior_title", neg.junior_title.points, title[1]))
    competitor_domain = domain is not None and domain in neg.competitor.normalised
    if competitor_domain or (account is not None and account.is_competitor):
        source = account.profile.get("is_competitor") if account else None
        out.append(("fit:competitor", neg.competitor.points, source[1] if source else email_event))
    return out
