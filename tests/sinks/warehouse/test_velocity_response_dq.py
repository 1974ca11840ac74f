"""Velocity, first response and disqualification views against ``history.HAND_COUNT``, both backends."""

from __future__ import annotations

from schemas import models
from sinks.warehouse.sink import WarehouseSink
from tests.sinks.warehouse.views import rows

FEB, MAR = "2026-02-01", "2026-03-01"


def test_stage_velocity_reports_negative_steps(sink: WarehouseSink, two_months: list[models.Record]) -> None:
    sink.write(two_months)
    db = sink._connect()
    assert rows(db, "v_stage_velocity", "*", "cohort_month, step") == [
        # lead->mql from the first evidence (each Feb contact's pricing visit, 1 min before its MQL)
        (FEB, 1, "lead->mql", 3, 0, 0.0167),
        # a1 09:01 -> Feb 11 09:00 = 23.9833 h, a2 09:02 -> 23.9667 h: median 23.975
        (FEB, 2, "mql->sal", 2, 0, 23.975),
        (FEB, 3, "sal->sql", 1, 0, 24.0),  # a1: Feb 11 -> Feb 12
        (FEB, 4, "sql->opportunity", 1, 0, 24.0),
        (FEB, 5, "opportunity->won", 1, 0, 168.0),  # Feb 13 -> Feb 20
        # Mar first MQLs only (a2's second is not a lead->mql): b1 1 min, b2 3 min -> median 2 min
        (MAR, 1, "lead->mql", 2, 0, 0.0333),
        (MAR, 2, "mql->sal", 1, 0, 47.9667),  # b1 Mar 2 09:02 -> Mar 4 09:00
        # b1's SQL (Mar 3) came a day before its SAL (Mar 4): -24 h, counted, not in the median
        (MAR, 3, "sal->sql", 1, 1, None),
    ]


def test_time_to_first_response_per_rep_and_priority(sink: WarehouseSink, two_months: list[models.Record]) -> None:
    sink.write(two_months)
    db = sink._connect()
    assert rows(db, "v_first_response", "*", "cohort_month, priority, owner_id") == [
        # a1 5 min, a2 40 min (late, still a response), a3 none: median 22.5, p90 5 + 0.9 * 35 = 36.5
        (FEB, "P1", "rep-1", 3, 2, 22.5, 36.5),
        (MAR, "P1", "rep-1", 2, 0, None, None),  # a2 and b1 never got a call
        (MAR, "P2", "rep-2", 1, 1, 30.0, 30.0),  # b2: 30 min
    ]


def test_disqualification_by_first_touch_counts_contacts(sink: WarehouseSink, two_months: list[models.Record]) -> None:
    sink.write(two_months)
    db = sink._connect()
    # a3 (first touch linkedin) once; y twice (Feb 11 and Feb 18) but one contact, and y never
    # qualified, so no source is known for it.
    assert rows(db, "v_disqualification_reasons", "*", "cohort_month, source") == [
        (FEB, "(no MQL)", "no_response", 1, 2),
        (FEB, "linkedin", "wrong_persona", 1, 1),
    ]
