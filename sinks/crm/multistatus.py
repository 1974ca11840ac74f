"""HubSpot batch answers read per input: a 207 Multi-Status lists failed inputs in ``errors[]``,
tied to inputs by the ``objectWriteTraceId`` we sent, so one bad contact neither hides the
others' failure nor marks them written."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from schemas.redaction import clip, redact
from sinks.crm.base import BatchOutcome, ContactUpdate

# Error categories that say "not now" rather than "never" (HubSpot's RATE_LIMITS, 423 LOCKED, 5xx).
RETRYABLE_CATEGORIES = frozenset({"RATE_LIMITS", "LOCKED", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})


def trace_id(email: str) -> str:
    """A stable per-contact id for ``objectWriteTraceId`` that does not carry the address itself."""
    return hashlib.blake2s(email.encode(), digest_size=6).hexdigest()


def _retryable(error: Mapping) -> bool:
    status = str(error.get("status", ""))
    if status.isdigit() and (int(status) in (423, 429) or int(status) >= 500):
        return True
    return str(error.get("category", "")).upper() in RETRYABLE_CATEGORIES


def _text(error: Mapping) -> str:
    """HubSpot's own words for the failure, emails masked before the cut."""
    category = error.get("category") or error.get("status") or "error"
    return clip(redact(f"CRM refused the contact ({category}): {error.get('message', '')}"), 300)


def _tied(error: Mapping, by_trace: Mapping[str, ContactUpdate], by_email: Mapping[str, ContactUpdate]) -> list:
    context = error.get("context") or {}
    found = [by_trace[t] for t in context.get("objectWriteTraceId", []) if t in by_trace]
    found += [by_email[i.lower()] for i in context.get("ids", []) if isinstance(i, str) and i.lower() in by_email]
    return found


def read_outcome(status_code: int, body: Mapping, updates: Sequence[ContactUpdate]) -> BatchOutcome:
    """Per input: a 200 without errors confirms the batch; otherwise an input is written only if
    a result names it, and an input HubSpot said nothing about is retried, never assumed written."""
    errors = [e for e in body.get("errors") or [] if isinstance(e, Mapping)]
    if status_code == 200 and not errors:
        return BatchOutcome(written=list(updates))
    by_trace = {trace_id(u.email): u for u in updates}
    by_email = {u.email.lower(): u for u in updates}
    outcome = BatchOutcome()
    settled: set[str] = set()
    for error in errors:
        for update in _tied(error, by_trace, by_email):
            if update.email in settled:
                continue
            settled.add(update.email)
            (outcome.retry if _retryable(error) else outcome.rejected).append((update, _text(error)))
    for result in body.get("results") or []:
        email = str((result.get("properties") or {}).get("email", "")).lower()
        update = by_trace.get(str(result.get("objectWriteTraceId"))) or by_email.get(email)
        if update is not None and update.email not in settled:
            settled.add(update.email)
            outcome.written.append(update)
    unknown = f"CRM answered {status_code} without a result or an error for the contact"
    outcome.retry += [(u, unknown) for u in updates if u.email not in settled]
    return outcome
