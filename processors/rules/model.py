"""The rules file's schema: versioned data validated by pydantic, compiled once for the hot path."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from processors.rules.memo import BoundedMemo
from schemas.models import FormType, Priority, Stage

URL_MEMO_LIMIT = 100_000
TITLE_MEMO_LIMIT = 100_000
THRESHOLD_MEMO_LIMIT = 10_000


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a rules file must not silently change nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _compile(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None


def _check_patterns(patterns: list[str]) -> list[str]:
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {p!r}: {exc}") from None
    return patterns


def _require_every(mapping: dict[Any, Any], enum: type[StrEnum], what: str) -> dict[Any, Any]:
    """A mapping keyed by an enum must cover every member: a gap would silently score nothing."""
    missing = sorted(set(enum) - set(mapping))
    if missing:
        raise ValueError(f"{what}; missing {missing}")
    return mapping


class SizeBand(Strict):
    min: int = Field(ge=0)
    max: int = Field(ge=0)
    points: float


class BelowMinimum(Strict):
    under: int = Field(ge=0)
    points: float = Field(le=0)


class AboveMaximum(Strict):
    over: int = Field(ge=0)
    points: float


class SizeFit(Strict):
    bands: list[SizeBand]
    below_minimum: BelowMinimum
    above_maximum: AboveMaximum | None = None

    def points(self, employees: int) -> tuple[str, float] | None:
        if employees < self.below_minimum.under:
            return "below_minimum_size", self.below_minimum.points
        for band in self.bands:
            if band.min <= employees <= band.max:
                return f"size_{band.min}_{band.max}", band.points
        if self.above_maximum and employees > self.above_maximum.over:
            return "above_maximum_size", self.above_maximum.points
        return None


class IndustryFit(Strict):
    points: float
    values: list[str]

    @cached_property
    def normalised(self) -> frozenset[str]:
        return frozenset(v.strip().lower() for v in self.values)


class TerritoryFit(Strict):
    points: float
    countries: list[str]
    outside_points: float = Field(le=0)

    @field_validator("countries")
    @classmethod
    def _alpha2(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if len(c) != 2 or not c.isalpha()]
        if bad:
            raise ValueError(f"countries must be ISO-3166 alpha-2 codes, got {bad}")
        return [c.upper() for c in v]


class TitleMatcher(Strict):
    """Job-title regular expressions, checked when the rules load and compiled once."""

    title_patterns: list[str]

    _check = field_validator("title_patterns")(classmethod(lambda cls, v: _check_patterns(v)))

    @cached_property
    def regex(self) -> re.Pattern[str] | None:
        return _compile(self.title_patterns)


class SeniorityLevel(TitleMatcher):
    level: str
    points: float


TitleFacts = tuple[SeniorityLevel | None, str | None, bool]  # (seniority level, department, junior)


class DepartmentFit(Strict):
    points: dict[str, float]
    title_patterns: dict[str, list[str]]

    @field_validator("title_patterns")
    @classmethod
    def _patterns(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for patterns in v.values():
            _check_patterns(patterns)
        return v

    @cached_property
    def regexes(self) -> list[tuple[str, re.Pattern[str]]]:
        compiled = ((d, _compile(p)) for d, p in self.title_patterns.items())
        return [(d, rx) for d, rx in compiled if rx is not None]


class DomainNegative(Strict):
    points: float = Field(le=0)
    domains: list[str]

    @cached_property
    def normalised(self) -> frozenset[str]:
        return frozenset(d.lower() for d in self.domains)


class TitleNegative(TitleMatcher):
    points: float = Field(le=0)


class Negatives(Strict):
    personal_email: DomainNegative
    junior_title: TitleNegative
    competitor: DomainNegative


class FitRules(Strict):
    size: SizeFit
    industries: IndustryFit
    territory: TerritoryFit
    seniority: list[SeniorityLevel]
    departments: DepartmentFit
    negatives: Negatives

    @cached_property
    def seniority_by_level(self) -> dict[str, SeniorityLevel]:
        """Level name → its first definition (the one a CRM seniority value selects)."""
        by_level: dict[str, SeniorityLevel] = {}
        for lv in self.seniority:
            by_level.setdefault(lv.level, lv)
        return by_level

    @cached_property
    def title_memo(self) -> BoundedMemo[str, TitleFacts]:
        """Job title → what it says: titles repeat across contacts, each answer is up to 14 regex searches."""
        return BoundedMemo(self._title_facts, TITLE_MEMO_LIMIT)

    def _title_facts(self, title: str) -> TitleFacts:
        level = next((lv for lv in self.seniority if lv.regex and lv.regex.search(title)), None)
        dept = next((name for name, rx in self.departments.regexes if rx.search(title)), None)
        junior = self.negatives.junior_title.regex
        return level, dept, bool(junior and junior.search(title))


class UrlSignal(Strict):
    pattern: str
    signal: str
    points: float
    daily_cap: int | None = Field(default=None, ge=1)

    _check = field_validator("pattern")(classmethod(lambda cls, v: _check_patterns([v])[0]))


class FormSignal(Strict):
    points: float
    daily_cap: int | None = Field(default=None, ge=1)


class ActivitySignal(Strict):
    points: float = 0
    points_per_minute: float | None = None
    max_points: float | None = None
    daily_cap: int | None = Field(default=None, ge=1)

    def points_for(self, minutes: float | None) -> float:
        if self.points_per_minute is None:
            return self.points
        earned = self.points_per_minute * max(0.0, minutes or 0.0)
        return min(earned, self.max_points) if self.max_points is not None else earned


class Decay(Strict):
    shape: Literal["exponential", "linear", "none"] = "exponential"
    half_life_days: float = Field(default=14, gt=0)


class IntentRules(Strict):
    urls: list[UrlSignal]
    forms: dict[FormType, FormSignal]
    activities: dict[str, ActivitySignal]
    default_daily_cap: int = Field(ge=1)
    max_window_signals: int = Field(default=200, ge=10)
    decay: Decay

    @field_validator("forms")
    @classmethod
    def _all_forms(cls, v: dict[FormType, FormSignal]) -> dict[FormType, FormSignal]:
        return _require_every(v, FormType, "every form type needs points")

    @cached_property
    def url_regex(self) -> re.Pattern[str]:
        """One alternation with a named group per rule: one regex search per visit."""
        alternation = "|".join(f"(?P<u{i}>{u.pattern})" for i, u in enumerate(self.urls))
        return re.compile(alternation or r"(?!x)x", re.IGNORECASE)

    @cached_property
    def url_memo(self) -> BoundedMemo[str, tuple[str, float] | None]:
        """URL → (signal, points) or None: a site has far fewer URLs than visits."""
        return BoundedMemo(self._match_url, URL_MEMO_LIMIT)

    def _match_url(self, url: str) -> tuple[str, float] | None:
        host_end = url.find("/", url.find("//") + 2) if "//" in url else 0
        match = self.url_regex.search(url, max(host_end, 0))
        if match is None or match.lastgroup is None:
            return None
        rule = self.urls[int(match.lastgroup[1:])]
        return rule.signal, rule.points

    def cap(self, signal: str) -> int:
        return self.caps.get(signal, self.default_daily_cap)

    @cached_property
    def caps(self) -> dict[str, int]:
        caps: dict[str, int] = {}
        for u in self.urls:
            caps[u.signal] = u.daily_cap or self.default_daily_cap
        for form, f in self.forms.items():
            caps[form.value] = f.daily_cap or self.default_daily_cap
        for name, a in self.activities.items():
            caps[name] = a.daily_cap or self.default_daily_cap
        return caps


class ThresholdOverride(Strict):
    segment: str
    fit: float
    intent: float
    min_employees: int | None = None
    max_employees: int | None = None
    sources: list[str] | None = None

    @cached_property
    def _sources(self) -> frozenset[str] | None:
        return frozenset(s.lower() for s in self.sources) if self.sources is not None else None

    def matches(self, employees: int | None, source: str | None) -> bool:
        if self._sources is not None and (source or "").lower() not in self._sources:
            return False
        if self.min_employees is not None and (employees is None or employees < self.min_employees):
            return False
        return not (self.max_employees is not None and (employees is None or employees > self.max_employees))


class ThresholdRules(Strict):
    fit: float
    intent: float
    overrides: list[ThresholdOverride] = []


class PriorityRules(Strict):
    fast_track_forms: list[FormType]
    p2_min_total: float


class CommitteeRules(Strict):
    min_contacts: int = Field(ge=2)
    min_departments: int = Field(ge=1)
    window_days: int = Field(ge=1)
    cooldown_days: int = Field(ge=0)
    min_contact_intent: float = 0
    min_account_fit: float = 0  # account-level fit (size, industry, territory) floor


class ExpansionRules(Strict):
    signals: list[str]
    cooldown_days: int = Field(ge=0)


class BusinessHours(Strict):
    timezone: str
    days: list[int] = [0, 1, 2, 3, 4]
    start: str = "09:00"
    end: str = "17:00"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except Exception:
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _window(self) -> BusinessHours:
        if self.start_minute >= self.end_minute:
            raise ValueError("business_hours.start must be before end")
        if not self.days or any(d < 0 or d > 6 for d in self.days):
            raise ValueError("business_hours.days are weekday numbers 0 (Monday) to 6")
        return self

    @property
    def start_minute(self) -> int:
        h, m = self.start.split(":")
        return int(h) * 60 + int(m)

    @property
    def end_minute(self) -> int:
        h, m = self.end.split(":")
        return int(h) * 60 + int(m)


class SlaRules(Strict):
    tiers: dict[Priority, float]
    warning_at: float = Field(gt=0, lt=1)
    escalation_every: float = Field(gt=0)
    max_escalation_level: int = Field(ge=0)
    response_activities: list[str]
    cancel_stages: list[Stage]
    business_hours: BusinessHours | None = None

    @field_validator("tiers")
    @classmethod
    def _all_tiers(cls, v: dict[Priority, float]) -> dict[Priority, float]:
        return _require_every(v, Priority, "every priority needs an SLA tier in minutes")


class LifecycleRules(Strict):
    requalify_from: list[Stage]

    @cached_property
    def requalify_stages(self) -> frozenset[str]:
        return frozenset(s.value for s in self.requalify_from)


class AlertRules(Strict):
    default_channel: str
    channels_by_territory: dict[str, str] = {}
    channels_by_owner: dict[str, str] = {}


class DedupeRules(Strict):
    horizon_days: int = Field(ge=1)


class Rules(Strict):
    version: str = Field(min_length=1)
    window_days: int = Field(ge=1, le=365)
    fit: FitRules
    intent: IntentRules
    thresholds: ThresholdRules
    priority: PriorityRules
    committee: CommitteeRules
    expansion: ExpansionRules
    sla: SlaRules
    lifecycle: LifecycleRules
    alerts: AlertRules
    dedupe: DedupeRules

    @model_validator(mode="after")
    def _dedupe_covers_window(self) -> Rules:
        if self.dedupe.horizon_days < self.window_days:
            raise ValueError("dedupe.horizon_days must be at least window_days")
        return self

    def thresholds_for(self, employees: int | None, source: str | None) -> ThresholdOverride:
        """The first matching override, else the defaults (memoised: it runs on every scored event)."""
        return self.threshold_memo[(employees, source)]

    @cached_property
    def default_thresholds(self) -> ThresholdOverride:
        return ThresholdOverride(segment="default", fit=self.thresholds.fit, intent=self.thresholds.intent)

    @cached_property
    def threshold_memo(self) -> BoundedMemo[tuple[int | None, str | None], ThresholdOverride]:
        return BoundedMemo(self._match_thresholds, THRESHOLD_MEMO_LIMIT)

    def _match_thresholds(self, key: tuple[int | None, str | None]) -> ThresholdOverride:
        employees, source = key
        return next((o for o in self.thresholds.overrides if o.matches(employees, source)), self.default_thresholds)

    @cached_property
    def min_fit_threshold(self) -> float:
        """The lowest fit any segment asks for: below it, no thresholds need to be looked up."""
        return min([self.thresholds.fit, *(o.fit for o in self.thresholds.overrides)])
