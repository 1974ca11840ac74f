"""The README's demo path on the real broker: demo events in, decisions and dead letters out."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from streams.settings import Settings
from tools.demo import BAD_RECORDS, run_demo

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_demo_shows_mqls_sla_events_and_dead_letters(kafka_settings: Settings) -> None:
    screen = io.StringIO()
    counts = run_demo(
        kafka_settings,
        None,
        events=1500,
        seed=3,
        idle_seconds=3,
        console=Console(file=screen, width=200),
    )
    text = screen.getvalue()
    assert counts[kafka_settings.topic("deadletter")] == len(BAD_RECORDS), counts
    assert counts[kafka_settings.topic("mql")] > 0 and "MQL" in text
    assert counts[kafka_settings.topic("sla")] > 0 and "SLA started" in text
    assert "DEAD-LETTER" in text and "occurred_at" in text
    assert "worker stopped (exit 0)" in text, text[-2000:]
