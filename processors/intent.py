"""Intent: behaviour signals in an event-time window, capped per signal per day, decayed by age."""

from __future__ import annotations

from bisect import bisect_right, insort
from math import exp
from operator import itemgetter

from processors.clock import DAY_MS
from processors.rules import Rules
from processors.state import Signal

LN2 = 0.6931471805599453


_at = itemgetter(0)  # a signal's time, the window's sort key


def url_signal(url: str, rules: Rules) -> tuple[str, float] | None:
    """The signal a URL maps to (memoised per rules: a site has far fewer URLs than visits)."""
    return rules.intent.url_memo[url]


def add_signal(window: list[Signal], signal: Signal, rules: Rules) -> bool:
    """Insert in event-time order unless the signal's daily cap is reached or it is a repeat.

    Only the signal's own UTC day is scanned (the window is in time order), newest first; most
    signals are the newest of their contact, so they are appended rather than bisected in.
    """
    at, name, _, event_id = signal
    day_start = at - at % DAY_MS  # day_of(at) * DAY_MS
    day_end = day_start + DAY_MS
    intent_rules = rules.intent
    cap = intent_rules.caps.get(name, intent_rules.default_daily_cap)
    same_day = 0
    for s_at, s_name, _, s_event in reversed(window):
        if s_at >= day_end:
            continue
        if s_at < day_start:
            break
        if s_event == event_id:
            return False
        if s_name == name:
            same_day += 1
            if same_day >= cap:
                return False
    if not window or signal >= window[-1]:
        window.append(signal)  # what insort does for the newest signal, without the bisection
    else:
        insort(window, signal)
    if len(window) > intent_rules.max_window_signals:
        del window[0]  # the oldest goes: a bounded window per contact, whatever a bot does
    return True


def prune(window: list[Signal], now_ms: int, window_ms: int) -> None:
    """Drop what left the window, in place (the list is in event-time order)."""
    horizon = now_ms - window_ms
    if not window or window[0][0] > horizon:
        return  # the usual case: nothing left since the last call
    if window[-1][0] <= horizon:
        window.clear()  # all of it left: a sweep after a quiet spell, or at the end of a replay
    else:
        del window[: bisect_right(window, horizon, key=_at)]


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
    return exp(-age_ms * LN2 / (decay.half_life_days * DAY_MS))


def scored(
    window: list[Signal], now_ms: int, since_ms: int, rules: Rules, breakdown: bool = True
) -> tuple[float, list[tuple[Signal, float]]]:
    """Intent at ``now_ms`` (never below 0) and, with ``breakdown``, each counted signal with its
    decayed points (the evidence, only needed when a decision is made)."""
    window_ms = rules.window_days * DAY_MS
    decay = rules.intent.decay
    if not breakdown:
        return max(_total(window, now_ms, since_ms, window_ms, decay.shape, decay.half_life_days), 0.0), []
    total = 0.0
    counted: list[tuple[Signal, float]] = []
    rate = LN2 / (decay.half_life_days * DAY_MS)
    for s in window:
        at = s[0]
        if at < since_ms or at > now_ms:
            continue
        age = now_ms - at
        if age >= window_ms:
            continue
        if decay.shape == "exponential":
            weight = exp(-age * rate)
        elif decay.shape == "linear":
            weight = 1.0 - age / window_ms
        else:
            weight = 1.0
        pts = s[2] * weight
        total += pts
        counted.append((s, pts))
    return max(total, 0.0), counted


def _total(
    window: list[Signal], now_ms: int, since_ms: int, window_ms: int, shape: str, half_life_days: float
) -> float:
    """The sum ``scored`` makes, term by term in window order so the float is the same, with the
    shape chosen once instead of per signal. It runs on every scored event.

    Only a contiguous run of the time-ordered window counts: from the first signal at or after
    ``since_ms`` and inside the window, up to the last one not after ``now_ms``.
    """
    horizon = now_ms - window_ms
    lo, hi = 0, len(window)
    while lo < hi and (window[lo][0] < since_ms or window[lo][0] <= horizon):
        lo += 1
    while hi > lo and window[hi - 1][0] > now_ms:
        hi -= 1
    signals = window[lo:hi] if lo or hi < len(window) else window
    total = 0.0
    if shape == "exponential":
        rate = LN2 / (half_life_days * DAY_MS)
        for s in signals:
            total += s[2] * exp((s[0] - now_ms) * rate)
    elif shape == "linear":
        for s in signals:
            total += s[2] * (1.0 - (now_ms - s[0]) / window_ms)
    else:
        for s in signals:
            total += s[2] * 1.0
    return total
