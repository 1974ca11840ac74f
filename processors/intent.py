"""Intent: behaviour signals in an event-time window, capped per signal per day, decayed by age."""

from __future__ import annotations

from bisect import insort

from processors.clock import DAY_MS, day_of
from processors.rules import Rules
from processors.state import Signal

LN2 = 0.6931471805599453


def url_signal(url: str, rules: Rules) -> tuple[str, float] | None:
    match = rules.intent.url_regex.search(url)
    if match is None or match.lastgroup is None:
        return None
    rule = rules.intent.urls[int(match.lastgroup[1:])]
    return rule.signal, rule.points


def add_signal(window: list[Signal], signal: Signal, rules: Rules) -> bool:
    """Insert in event-time order unless the signal's daily cap is reached or it is a repeat."""
    at, name, _, event_id = signal
    day = day_of(at)
    cap = rules.intent.cap(name)
    same_day = 0
    for s_at, s_name, _, s_event in window:
        if s_event == event_id:
            return False
        if s_name == name and day_of(s_at) == day:
            same_day += 1
            if same_day >= cap:
                return False
    insort(window, signal)
    return True


def prune(window: list[Signal], now_ms: int, window_ms: int) -> None:
    """Drop what left the window, in place (the list is in event-time order)."""
    horizon = now_ms - window_ms
    drop = 0
    for s in window:
        if s[0] > horizon:
            break
        drop += 1
    if drop:
        del window[:drop]


def decay_factor(age_ms: int, rules: Rules) -> float:
    """Weight of a signal of this age: 1 when fresh, 0 once outside the window."""
    window_ms = rules.window_days * DAY_MS
    if age_ms >= window_ms:
        return 0.0
    age_ms = max(age_ms, 0)
    decay = rules.intent.decay
    if decay.shape == "none":
        return 1.0
    if decay.shape == "linear":
        return 1.0 - age_ms / window_ms
    return 2.0 ** (-age_ms / (decay.half_life_days * DAY_MS))


def scored(
    window: list[Signal], now_ms: int, since_ms: int, rules: Rules
) -> tuple[float, list[tuple[Signal, float]]]:
    """Intent at ``now_ms`` (never below 0) and each counted signal with its decayed points."""
    total = 0.0
    counted: list[tuple[Signal, float]] = []
    for s in window:
        if s[0] < since_ms or s[0] > now_ms:
            continue
        weight = decay_factor(now_ms - s[0], rules)
        if weight <= 0.0:
            continue
        pts = s[2] * weight
        total += pts
        counted.append((s, pts))
    return max(total, 0.0), counted
