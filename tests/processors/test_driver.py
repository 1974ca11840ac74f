"""A decision that raises costs one dead letter and leaves the state exactly as before it."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

import streams.backtest
import streams.replay
from processors.driver import Checkpoint, Driver, Failure, TimedEvent
from processors.engine import Engine, Output
from processors.rules import Rules, load_rules
from schemas.models import InputEvent
from streams.replay import replay

HISTORY = Path(__file__).resolve().parents[2] / "examples" / "quickstart.jsonl"


# After the poisoned form fill, its visitor comes back: were the poison's changes kept, this visit
# would count for a contact (with the poison's 1,000 points) instead of an anonymous visitor.
LATER = (
    b'{"topic": "web.visits", "value": {"event_id": "w-9", "occurred_at": "2026-03-02T09:20:00+00:00",'
    b' "visitor_id": "v-42", "url": "https://www.example.com/pricing"}}'
)
VICTIM = "f-1"  # Dana's content download, the history's only one


def _lines() -> list[bytes]:
    return [line for line in HISTORY.read_bytes().splitlines() if line.strip()] + [LATER]


def _run(path: Path, rules: Rules) -> list[dict]:
    out = io.BytesIO()
    replay(path, out, rules)
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


class _PoisonedForms(dict):  # type: ignore[type-arg]
    """The rules' form table, raising for content downloads. The engine looks it up after it has
    created the contact and linked the visitor's anonymous visits to it, so the failure comes
    half-way through a decision (a rules object is plain Python in the native build too)."""

    def __getitem__(self, key: object) -> object:
        if key == "content_download":
            raise ZeroDivisionError("poisoned for the test")
        return super().__getitem__(key)


@pytest.fixture
def poisoned() -> tuple[str, Rules]:
    rules = load_rules()
    object.__setattr__(rules.intent, "forms", _PoisonedForms(rules.intent.forms))
    return VICTIM, rules


def test_a_failing_decision_is_dead_lettered_and_undone(poisoned: tuple[str, Rules], tmp_path: Path) -> None:
    victim, rules = poisoned
    lines = _lines()
    with_poison = tmp_path / "with.jsonl"
    with_poison.write_bytes(b"\n".join(lines) + b"\n")
    without = tmp_path / "without.jsonl"
    # A blank line instead of the poison keeps every other line's number (blank lines are skipped).
    without.write_bytes(b"\n".join(b"" if b'"%s"' % victim.encode() in line else line for line in lines) + b"\n")

    got = _run(with_poison, rules)
    expected = _run(without, rules)

    letters = [r for r in got if r["topic"] == "lead.deadletter" and "decision failed" in r["value"]["error"]]
    assert len(letters) == 1
    assert "ZeroDivisionError: poisoned for the test" in letters[0]["value"]["error"]
    assert victim in letters[0]["value"]["raw"]
    assert [r for r in got if r not in letters] == expected, "later decisions see the state as before the poison"


# Change tracking: whoever feeds a driver also empties the engine's change sets ----------------


class _Watched(Driver):
    """A driver that records how many changes were pending before each event it is fed."""

    instances: list[_Watched] = []

    def __init__(self, engine: Engine, checkpoint: Checkpoint) -> None:
        super().__init__(engine, checkpoint)
        self.pending: list[int] = []
        _Watched.instances.append(self)

    def feed(self, event: InputEvent, at_ms: int) -> list[Output] | Failure:
        self.pending.append(len(self.engine.changed_contacts) + len(self.engine.changed_accounts))
        return super().feed(event, at_ms)


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> list[_Watched]:
    _Watched.instances = []
    monkeypatch.setattr(streams.replay, "Driver", _Watched)
    monkeypatch.setattr(streams.backtest, "Driver", _Watched)
    return _Watched.instances


def _history(tmp_path: Path) -> Path:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join(_lines()) + b"\n")
    return path


def test_replay_and_backtest_keep_the_change_sets_empty_between_events(watched: list[_Watched], tmp_path: Path) -> None:
    path = _history(tmp_path)
    rules = load_rules()
    _run(path, rules)
    streams.backtest.decide(streams.backtest.from_file(path), {"a": rules, "b": rules}, None, None, False)
    assert len(watched) == 3
    for driver in watched:
        assert len(driver.pending) >= 8 and set(driver.pending) == {0}, driver.pending


class _NoCheckpoint:
    def rebuild(self) -> Engine:
        raise AssertionError("nothing fails here")

    def events_since(self, count: int) -> list[TimedEvent]:
        raise AssertionError("nothing fails here")


def test_the_change_sets_grow_until_drained_or_discarded(tmp_path: Path) -> None:
    from schemas.models import ContactState

    driver = Driver(Engine(load_rules()), _NoCheckpoint())
    for at, event in streams.backtest.from_file(_history(tmp_path)).events:
        driver.feed(event, at)
    assert driver.engine.changed_contacts, "the history changes contacts"
    assert any(isinstance(r, ContactState) for r in driver.drain())
    assert not driver.engine.changed_contacts and not driver.engine.changed_accounts
    assert driver.drain() == []
    driver.engine.changed_contacts.add(next(iter(driver.engine.store.contacts)))
    driver.discard_changes()
    assert driver.drain() == [], "discarded, not drained"
