"""A decision that raises costs one dead letter and leaves the state exactly as before it."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from processors.engine import Engine
from processors.rules import load_rules
from streams.replay import replay

HISTORY = Path(__file__).resolve().parents[2] / "examples" / "quickstart.jsonl"


# After the poisoned form fill, its visitor comes back: were the poison's changes kept, this visit
# would count for a contact (with the poison's 1,000 points) instead of an anonymous visitor.
LATER = (
    b'{"topic": "web.visits", "value": {"event_id": "w-9", "occurred_at": "2026-03-02T09:20:00+00:00",'
    b' "visitor_id": "v-42", "url": "https://www.example.com/pricing"}}'
)
VICTIM = "f-1"  # Dana's content download


def _lines() -> list[bytes]:
    return [line for line in HISTORY.read_bytes().splitlines() if line.strip()] + [LATER]


def _run(path: Path) -> list[dict]:
    out = io.BytesIO()
    replay(path, out, load_rules())
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> str:
    """Dana's form fill raises half-way through its decision,
    after the engine has already changed the contact (its window, its visitor link)."""
    victim = VICTIM
    original = Engine._evaluate

    def evaluate(self, contact, at, trigger, form_type=None):  # type: ignore[no-untyped-def]
        if trigger is not None and trigger[3] == victim:
            contact.window.append((at, "poison", 1000.0, victim))
            raise ZeroDivisionError("poisoned for the test")
        return original(self, contact, at, trigger, form_type)

    monkeypatch.setattr(Engine, "_evaluate", evaluate)
    return victim


def test_a_failing_decision_is_dead_lettered_and_undone(poisoned: str, tmp_path: Path) -> None:
    lines = _lines()
    with_poison = tmp_path / "with.jsonl"
    with_poison.write_bytes(b"\n".join(lines) + b"\n")
    without = tmp_path / "without.jsonl"
    # A blank line instead of the poison keeps every other line's number (blank lines are skipped).
    without.write_bytes(b"\n".join(b"" if b'"%s"' % poisoned.encode() in line else line for line in lines) + b"\n")

    got = _run(with_poison)
    expected = _run(without)

    letters = [r for r in got if r["topic"] == "lead.deadletter" and "decision failed" in r["value"]["error"]]
    assert len(letters) == 1
    assert "ZeroDivisionError: poisoned for the test" in letters[0]["value"]["error"]
    assert poisoned in letters[0]["value"]["raw"]
    assert [r for r in got if r not in letters] == expected, "later decisions see the state as before the poison"
