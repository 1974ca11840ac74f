"""The cohort funnel views against the hand count in ``history.HAND_COUNT``, on DuckDB and PostgreSQL.

The six contact MQLs: a1-Feb, a2-Feb, a3-Feb, a2-Mar (a2 qualified again after recycled),
b1-Mar, b2-Mar. x reached SAL and SQL without ever being an MQL: the old v_funnel counted it
(5 SALs over 5 MQL contacts, 100 %); no cohort view may.
"""

from __future__ import annotations

from schemas import models
from sinks.warehouse.sink import WarehouseSink
from tests.sinks.warehouse.views import rows

FEB, MAR = "2026-02-01", "2026-03-01"


def test_all_time_funnel_counts_the_mql_cohort_only(sink: WarehouseSink, two_months: list[models.Record]) -> None:
    sink.write(two_months)
    db = sink._connect()
    # leads: the 10 contacts (a1 a2 a3 x y b1 b2 k1 k2 k3); 6 MQLs of 5 contacts.
    # Reached SAL or later: a1-Feb (won), a2-Feb (sal), a2-Mar (sql), b1-Mar (sql) = 4 - not x.
    # Reached SQL or later: a1-Feb, a2-Mar, b1-Mar = 3 (a2's Mar 5 SQL belongs to its March MQL).
    # Opportunity and won: a1-Feb only.
    # lead_to_mql 5/10; mql_to_sal 4/6; sal_to_sql 3/4; sql_to_opportunity 1/3; win_rate 1/1.
    assert rows(db, "v_funnel", "*", "leads") == [(10, 6, 4, 3, 1, 1, 0.5, 0.6667, 0.75, 0.3333, 1.0, 5)]


def test_monthly_cohorts(sink: WarehouseSink, two_months: list[models.Record]) -> None:
    sink.write(two_months)
    db = sink._connect()
    # Feb: a1, a2, a3. SAL a1 a2 (2/3); SQL a1 (1/2); opportunity a1 (1/1); won a1 (1/1); won/MQL 1/3.
    # Mar: a2, b1, b2. SAL a2 (implied by its SQL) b1 (2/3); SQL a2 b1 (2/2); no opportunity:
    # sql_to_opportunity 0/2, win_rate 0/0 = none, won/MQL 0/3.
    assert rows(db, "v_funnel_by_month", "*", "cohort_month") == [
        (FEB, 3, 2, 1, 1, 1, 0.6667, 0.5, 1.0, 1.0, 0.3333),
        (MAR, 3, 2, 2, 0, 0, 0.6667, 1.0, 0.0, None, 0.0),
    ]


def test_account_mql_cohorts(sink: WarehouseSink, two_months: list[models.Record]) -> None:
    sink.write(two_months)
    db = sink._connect()
    # acc-2's buying committee (k1 it, k2 finance, k3 operations) qualified Feb 10; k1 reached SAL
    # on Mar 3, after it: 1 account MQL, 1 reached SAL, none SQL. acc-1 never qualified as an account.
    assert rows(db, "v_account_funnel_by_month", "*", "cohort_month") == [(FEB, 1, 1, 0, 0, 0, 1.0, 0.0, None)]


def test_cohorts_by_source_and_campaign(sink: WarehouseSink, two_months: list[models.Record]) -> None:
    sink.write(two_months)
    db = sink._connect()
    # Feb google: a1 (won), a2 (sal). Feb linkedin: a3 (disqualified). Mar google: a2, b1 (both SQL).
    # Mar bing: b2 (nothing yet).
    assert rows(db, "v_funnel_by_source", "cohort_month, source, mqls, sal, sql, opportunity, won", "1, 2") == [
        (FEB, "google", 2, 2, 1, 1, 1),
        (FEB, "linkedin", 1, 0, 0, 0, 0),
        (MAR, "bing", 1, 0, 0, 0, 0),
        (MAR, "google", 2, 2, 2, 0, 0),
    ]
    # a2's March MQL keeps its first-touch campaign google-feb; b1 came from google-mar.
    # mql_to_sql: Feb google-feb 1/2; win_rate: won/opportunity.
    assert rows(db, "v_funnel_by_campaign", "*", "1, 2") == [
        (FEB, "google-feb", 2, 2, 1, 1, 1, 0.5, 1.0),
        (FEB, "linkedin-feb", 1, 0, 0, 0, 0, 0.0, None),
        (MAR, "bing-mar", 1, 0, 0, 0, 0, 0.0, None),
        (MAR, "google-feb", 1, 1, 1, 0, 0, 1.0, None),
        (MAR, "google-mar", 1, 1, 1, 0, 0, 1.0, None),
    ]
