"""The warehouse on DuckDB and on real PostgreSQL: idempotent facts, newest state, funnel numbers."""

from __future__ import annotations

import threading
import time

import pytest

from schemas import models
from sinks.base import RetryableError, RetryPolicy, retry
from sinks.warehouse.db import migrate
from sinks.warehouse.report import funnel_report
from sinks.warehouse.sink import WarehouseSink


def test_same_batch_twice_writes_each_fact_once(sink: WarehouseSink, decisions: list[models.Record]) -> None:
    sink.write(decisions)
    sink.write(decisions)
    db = sink._connect()
    mqls = [r for r in decisions if isinstance(r, models.Mql)]
    assert db.query("SELECT COUNT(*) AS n FROM fact_mql")[0]["n"] == len(mqls) == 4
    slas = [r for r in decisions if isinstance(r, models.Sla)]
    assert db.query("SELECT COUNT(*) AS n FROM fact_sla")[0]["n"] == len(slas)
    assert migrate(db) == [], "migrations are applied once"


def test_funnel_views_give_the_numbers_a_person_would_check(sink: WarehouseSink, decisions: list) -> None:
    sink.write(decisions)
    report = funnel_report(sink._connect())
    [funnel] = report["Funnel"]
    assert {k: funnel[k] for k in ("leads", "mqls", "sal", "sql", "opportunity", "won")} == {
        "leads": 10,
        "mqls": 4,
        "sal": 2,
        "sql": 1,
        "opportunity": 1,
        "won": 1,
    }
    assert [float(funnel[k]) for k in ("lead_to_mql", "mql_to_sal", "sal_to_sql", "win_rate")] == [0.4, 0.5, 0.5, 1.0]
    by_source = {row["source"]: row for row in report["Funnel by first-touch source"]}
    assert by_source["google"]["mqls"] == 3 and by_source["google"]["sal"] == 2
    assert by_source["linkedin"]["mqls"] == 1
    [sla] = report["SLA compliance by priority and rep"]
    assert (sla["priority"], sla["owner_id"], sla["met_on_time"], sla["breached"]) == ("P1", "rep-1", 1, 3)
    assert float(sla["compliance"]) == 0.25
    by_campaign = {row["campaign"]: row for row in report["Win rate by campaign"]}
    assert by_campaign["google-spring"]["mqls"] == 3 and float(by_campaign["google-spring"]["win_rate"]) == 1.0
    [dq] = report["Disqualification reasons by first-touch source"]
    assert (dq["source"], dq["reason"], dq["contacts"]) == ("linkedin", "wrong_persona", 1)
    velocity = {row["pair"]: float(row["median_hours"]) for row in report["Stage velocity (median hours)"]}
    assert velocity["sal->sql"] == 24.0 and velocity["opportunity->won"] == 144.0


def test_older_state_never_overwrites_newer(sink: WarehouseSink, decisions: list) -> None:
    states = [r for r in decisions if isinstance(r, models.ContactState)]
    newest = states[0]
    older = newest.model_copy(update={"stage": "lead", "updated_at": newest.updated_at.replace(year=2020)})
    sink.write([newest])
    sink.write([older])
    rows = sink._connect().query(f"SELECT stage FROM contact_current WHERE contact_id = '{newest.contact_id}'")
    assert rows == [{"stage": newest.stage}]


@pytest.mark.timeout(180)
def test_postgres_down_then_up_the_sink_backs_off_and_catches_up_once(own_postgres: dict, decisions: list) -> None:
    from infra import postgres

    sink = WarehouseSink(dsn=own_postgres["endpoint"])
    sink.write(decisions[:5])
    postgres.halt(own_postgres)
    comeback = threading.Timer(3.0, postgres.resume, args=(own_postgres,))
    comeback.start()
    attempts: list[float] = []
    started = time.monotonic()
    retry(
        lambda: sink.write(decisions),
        RetryPolicy(initial_s=0.2, max_backoff_s=1.0, max_elapsed_s=60),
        on_retry=lambda n, exc, delay: attempts.append(delay),
    )
    comeback.join()  # the server is fully up before the fixture stops it
    assert attempts and time.monotonic() - started >= 2.5, "it waited for the server"
    db = sink._connect()
    assert db.query("SELECT COUNT(*) AS n FROM fact_mql")[0]["n"] == 4
    lifecycle = [r for r in decisions if isinstance(r, models.Lifecycle)]
    assert db.query("SELECT COUNT(*) AS n FROM fact_lifecycle")[0]["n"] == len(lifecycle)


def test_connection_refused_is_retryable_not_fatal() -> None:
    with pytest.raises(RetryableError):
        WarehouseSink(dsn="postgresql://leadstream@127.0.0.1:9/leadstream").write(
            [models.Alert(alert_id="a", kind="expansion", text="t", dedupe_key="d", occurred_at="2026-01-01T00:00:00Z")]
        )
