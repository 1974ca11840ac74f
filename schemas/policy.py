"""The edge's policy for values: times, numbers, booleans, enums, emails, CRM ``fields``.

One place decides what an input value means, for live, replay and backtest alike (the models in
``schemas.models`` call these functions; ``docs/input-policy.md`` is the same policy in words).
Every function returns the normalised value or raises ``ValueError`` with a reason that names
the value, which ``schemas.validation`` puts in the dead letter with the field's name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from schemas.redaction import shown as _shown

# --- times ---------------------------------------------------------------------------------------

# RFC 3339 date-time: full date, T/t/space, full time with an optional fraction, Z/z or ±HH:MM.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
_NO_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# A year short of datetime's end, so deadlines and escalations computed from an event never overflow.
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def event_time(value: object) -> datetime:
    """An event time: an aware datetime (Avro ``timestamp-millis``) or an RFC 3339 string.

    Epoch numbers are refused, as strings too: they would silently be read as seconds or as
    milliseconds depending on who sent them.
    """
    if type(value) is str and _RFC3339.fullmatch(value) is not None and "t" not in value and "z" not in value:
        try:  # the usual case, first: canonical RFC 3339 with nothing to trim or fold
            at = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a valid date and time (got {_shown(value)})") from None
        if EARLIEST <= at < LATEST:
            return at
    if isinstance(value, datetime):
        at = value
        if at.tzinfo is None:
            raise ValueError("time has no UTC offset")
    elif isinstance(value, str):
        text = value.strip()
        if _RFC3339.fullmatch(text) is None:
            if _NO_OFFSET.fullmatch(text) is not None:
                raise ValueError(f"time has no UTC offset (timezone), e.g. Z or +01:00 (got {_shown(value)})")
            if text.lstrip("+-").replace(".", "", 1).isdigit():
                raise ValueError(f"time must be RFC 3339 with an offset, not a number (got {_shown(value)})")
            raise ValueError(f"time must be RFC 3339 with an offset, e.g. 2026-03-02T09:00:00Z (got {_shown(value)})")
        try:
            at = datetime.fromisoformat(text.upper())
        except ValueError as exc:
            raise ValueError(f"not a valid date and time: {exc} (got {_shown(value)})") from None
    elif isinstance(value, bool | int | float):
        raise ValueError(f"time must be RFC 3339 with an offset, not a number (got {value!r})")
    else:
        raise ValueError(f"time must be an RFC 3339 string (got {type(value).__name__})")
    if not EARLIEST <= at < LATEST:
        raise ValueError(f"time is outside 1970-01-01 .. 9999-01-01 (got {_shown(value)})")
    return at


def parse_time_ms(text: str) -> int | None:
    """Epoch ms of an RFC 3339 string under the same rule, or None: replay's index pass sorts by it."""
    try:
        return to_ms(event_time(text))
    except ValueError:
        return None


def to_ms(at: datetime) -> int:
    """Exact epoch milliseconds (floored), in integers: float seconds can land a millisecond low."""
    delta = at - EARLIEST  # the epoch
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


# --- strings, numbers, booleans, enums --------------------------------------------------------------


def text(value: object) -> str | None:
    """An optional string: trimmed, blank means absent."""
    if type(value) is str:
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    raise ValueError(f"must be a string (got {_shown(value)})")


def field_text(value: object) -> str | None:
    """A string in CRM ``fields``: as ``text``, and numbers are taken as their decimal text (CRMs
    send ids as numbers); a bool for a string is refused."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    return text(value)


# Digits with optional thousands separators in groups of three, an optional decimal part.
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_WHOLE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)")


def number(value: object) -> float | int | None:
    """A finite number, or a numeric string such as ``"1,000"`` or ``"12.5"``; blank means absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"must be a number (got {value!r})")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number (got {value!r})")
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        if _NUMBER.fullmatch(stripped) is None:
            raise ValueError(f"must be a number such as 1000, 1,000 or 12.5 (got {_shown(value)})")
        digits = stripped.replace(",", "")
        return float(digits) if "." in digits else int(digits)
    raise ValueError(f"must be a number (got {_shown(value)})")


def count(value: object) -> int | None:
    """A non-negative whole number (the JSON number ``12.0`` is 12). As text, digits only, with
    optional thousands separators: ``"1.000"`` means one thousand in much of Europe, so a text
    count with a decimal point is refused rather than guessed."""
    if type(value) is int and value >= 0:  # the usual case, first
        return value
    if isinstance(value, str) and value.strip() and _WHOLE.fullmatch(value.strip()) is None:
        raise ValueError(f"must be a whole number such as 1000 or 1,000 (got {_shown(value)})")
    n = number(value)
    if n is None:
        return None
    if n < 0 or n != int(n):
        raise ValueError(f"must be a whole number ≥ 0 (got {_shown(value)})")
    return int(n)


def amount(value: object) -> float | None:
    n = number(value)
    if n is None:
        return None
    if n < 0:
        raise ValueError(f"must be ≥ 0 (got {_shown(value)})")
    return float(n)


def flag(value: object) -> bool | None:
    """A boolean, or ``"true"``/``"false"`` in any case (HubSpot sends booleans as strings)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if not word:
            return None
        if word in ("true", "false"):
            return word == "true"
    raise ValueError(f"must be true or false (got {_shown(value)})")


def enum_word(value: str) -> str:
    """How an enum value is normalised before it is checked: ``"Webinar Attended"`` → ``webinar_attended``."""
    return value.strip().lower().replace(" ", "_").replace("-", "_")


def member(value: object, allowed: frozenset[str] | tuple[str, ...]) -> str | None:
    """A normalised enum value that must be one of ``allowed``; blank means absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be one of {sorted(allowed)} (got {_shown(value)})")
    word = enum_word(value)
    if not word:
        return None
    if word not in allowed:
        raise ValueError(f"must be one of {sorted(allowed)} (got {_shown(value)})")
    return word


def required_member(allowed: tuple[str, ...]) -> Callable[[object], str]:
    """The rule of a required enum (``form_type``, ``change_type``): normalised, then checked,
    so the reason quotes the value as it was sent."""

    def rule(value: object) -> str:
        word = member(value, allowed)
        if word is None:
            raise ValueError(f"must be one of {sorted(allowed)} (got {_shown(value)})")
        return word

    return rule


# --- emails and domains --------------------------------------------------------------------------------

# One @, a local part without whitespace, a domain of at least two non-empty labels.
_EMAIL = re.compile(r"[^@\s]+@(?:[\w](?:[\w-]*[\w])?\.)+[\w](?:[\w-]*[\w])?")
MAX_EMAIL = 254


def email(value: object) -> str | None:
    """An email address trimmed, case-folded, a trailing dot of the domain removed; blank means
    absent; anything that is not an address is refused (it would become a contact of its own)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be an email address (got {_shown(value)})")
    address = value.strip().lower().rstrip(".")
    if not address:
        return None
    if len(address) > MAX_EMAIL or _EMAIL.fullmatch(address) is None or "_" in address.rsplit("@", 1)[1]:
        raise ValueError(f"not an email address (got {_shown(value)})")
    return address


def domain(value: object) -> str | None:
    """A company domain: trimmed, lower-cased, a trailing dot removed; blank means absent."""
    if type(value) is str and value.islower() and value[-1:] not in (".", " ") and value[:1] != " ":
        return value  # the usual case, first
    name = field_text(value)
    return name.lower().rstrip(".") or None if name is not None else None


def required_email(value: object) -> str:
    address = email(value)
    if address is None:
        raise ValueError("email is blank")
    return address


# --- CRM fields --------------------------------------------------------------------------------------

ACTIVITY_TYPES = ("call", "email", "meeting", "linkedin", "webinar_attended", "email_click")
DIRECTIONS = ("outbound", "inbound")
LEAD_STAGES = ("sal", "sql", "opportunity", "won", "lost", "recycled", "nurture", "disqualified")
STAGES_NEEDING_REASON = frozenset({"disqualified", "recycled", "lost"})
REASONS = (
    "wrong_persona",
    "wrong_company_size",
    "invalid_data",
    "no_response",
    "existing_customer",
    "duplicate",
    "competitor",
    "no_current_need",
    "outside_territory",
    "other",
)

# Every key of SPEC §2's ``fields`` and the rule its value follows; other keys are ignored.
_FIELD_RULES: dict[str, Callable[[object], object]] = {
    "email": email,
    "job_title": field_text,
    "department": field_text,
    "seniority": field_text,
    "country": field_text,
    "owner_id": field_text,
    "domain": domain,
    "name": field_text,
    "employee_count": count,
    "industry": field_text,
    "territory": field_text,
    "is_customer": flag,
    "is_competitor": flag,
    "activity_type": lambda v: member(v, ACTIVITY_TYPES),
    "duration_minutes": count,
    "direction": lambda v: member(v, DIRECTIONS),
    "reason": lambda v: member(v, REASONS),
    "opportunity_id": field_text,
    "amount": amount,
    "currency": field_text,
}


def crm_fields(change_type: object, raw: Mapping[str, Any]) -> dict[str, object]:
    """``fields`` of a CRM change by the policy: known keys normalised (absent ones dropped), the
    lead ``stage`` of a stage change checked against the taxonomy; raises naming the field."""
    out: dict[str, object] = {}
    lead_stage = change_type == "stage_changed"
    for key, value in raw.items():
        rule = _FIELD_RULES.get(key)
        if key == "stage":
            rule = (lambda v: member(v, LEAD_STAGES)) if lead_stage else field_text
        if rule is None:
            continue  # not in the contract: ignored (SPEC §2)
        if isinstance(value, list | dict):
            raise ValueError(f"fields.{key}: must be a string, number, boolean or null (got {type(value).__name__})")
        try:
            normalised = rule(value)
        except ValueError as exc:
            raise ValueError(f"fields.{key}: {exc}") from None
        if normalised is not None:
            out[key] = normalised
    return out
