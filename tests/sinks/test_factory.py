"""Sinks are built from env / config alone, and their secrets never show in a repr or an error."""

from __future__ import annotations

import pytest

from sinks.config import SinkSettings
from sinks.factory import NAMES, build
from streams.settings import Settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:
    for var in ("LEADSTREAM_CRM_TOKEN", "LEADSTREAM_SLACK_TOKEN", "LEADSTREAM_POSTGRES_DSN", "LEADSTREAM_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LEADSTREAM_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("LEADSTREAM_CONFIG", str(tmp_path / "absent.yaml"))
    return monkeypatch


def test_every_sink_builds_from_env_and_tokens_stay_secret(env: pytest.MonkeyPatch) -> None:
    env.setenv("LEADSTREAM_CRM_URL", "http://127.0.0.1:9/")
    env.setenv("LEADSTREAM_CRM_TOKEN", "pat-na1-very-secret")
    env.setenv("LEADSTREAM_SLACK_TOKEN", "xoxb-very-secret")
    env.setenv("LEADSTREAM_SLACK_CHANNELS_BY_KIND__SLA_BREACH", "#sales-managers")
    env.setenv("LEADSTREAM_REDIS_URL", "redis://127.0.0.1:9/0")
    sinks = SinkSettings()
    assert "very-secret" not in repr(sinks) and "very-secret" not in str(sinks.model_dump())
    assert sinks.slack_channels_by_kind == {"sla_breach": "#sales-managers"}
    built = {name: build(name, Settings(), sinks) for name in NAMES}
    assert {name: sink.name for name, sink in built.items()} == {n: n for n in NAMES}
    assert str(built["crm"].adapter.http.base_url) == "http://127.0.0.1:9/"
    assert built["slack"].channels.by_kind == {"sla_breach": "#sales-managers"}
    assert built["warehouse"]._dsn is None, "no DSN: the embedded DuckDB"


def test_a_missing_token_names_the_variable_to_set(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="LEADSTREAM_CRM_TOKEN"):
        build("crm", Settings())
    with pytest.raises(ValueError, match="LEADSTREAM_SLACK_TOKEN"):
        build("slack", Settings())
    with pytest.raises(ValueError, match="unknown sink"):
        build("fax", Settings())
