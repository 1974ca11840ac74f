"""What the worker logs: counts and positions, never an email address."""

from __future__ import annotations

from streams.live.stats import redact


def test_emails_are_redacted_from_log_text() -> None:
    reason = "email: value is not a valid email address (got 'Ann.Lee+x@acme.co.uk'); visitor_id: missing"
    assert redact(reason) == "email: value is not a valid email address (got '<email>'); visitor_id: missing"


def test_text_without_emails_is_unchanged() -> None:
    assert redact("occurred_at: required field is missing @ 0:12") == "occurred_at: required field is missing @ 0:12"
