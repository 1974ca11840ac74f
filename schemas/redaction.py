"""What may reach a log or a reason: email addresses masked first, then cut to length.

Masking after cutting would leak the part of an address that survives the cut (the mask no
longer matches it), so every place that shortens a value for a log or a reason calls these.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def redact(text: str) -> str:
    """Text without email addresses (a dead letter's reason can quote the bad value)."""
    return _EMAIL.sub("<email>", text)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut), never inside an email
    address: a cut address would no longer be recognised by ``redact`` when the text is logged."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    for match in _EMAIL.finditer(text, 0, limit + 254):
        if match.start() < cut < match.end():
            cut = match.start()
            break
    return text[:cut] + "…"


def shown(value: object, limit: int = 80) -> str:
    """A value as a dead letter's reason quotes it (the record keeps the raw payload anyway):
    its repr, cut where ``clip`` may. Logs ``redact`` the reason as a whole."""
    return clip(repr(value), limit)
