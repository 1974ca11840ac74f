"""Internal records stay under the broker's size limit however many events a backfill releases."""

from __future__ import annotations

from streams.live.envelope import IngestBatch, Role, RoutedBatch, merge_progress


def _event(i: int) -> tuple:
    return (1_000 + i, "web.visits:0", i, "web_visits", {"event_id": f"e-{i}", "url": "https://x.io/" + "p" * 200})


def test_a_large_routed_batch_splits_into_records_under_the_limit_in_order() -> None:
    progress = {"web.visits:0": (3_999, None)}
    batch = RoutedBatch([(*_event(i), Role.OWN if i == 5 else Role.DECIDE) for i in range(3_000)], progress, 7)
    records = batch.records(max_bytes=50_000)
    parts = [RoutedBatch.loads(r) for r in records]
    assert len(records) > 1 and all(len(r) <= 50_000 for r in records)
    assert [tuple(e) for p in parts for e in p.events] == batch.events
    assert [p.progress for p in parts] == [{}] * (len(parts) - 1) + [progress]  # the progress after every event


def test_a_small_batch_is_one_record() -> None:
    batch = RoutedBatch([(*_event(1), Role.DECIDE)])
    assert batch.records() == [batch.dumps()]


def test_a_large_ingest_batch_reports_its_progress_after_its_last_event() -> None:
    progress = {"web.visits:0": (3_999, 1_700_000_000_123), "web.visits:1": (None, None)}
    batch = IngestBatch([_event(i) for i in range(3_000)], progress=progress, read_ms=1_700_000_000_200)
    parts = [IngestBatch.loads(r) for r in batch.records(max_bytes=50_000)]
    assert len(parts) > 1 and [tuple(e) for p in parts for e in p.events] == batch.events
    assert [p.progress for p in parts] == [{}] * (len(parts) - 1) + [batch.progress]
    assert {p.read_ms for p in parts} == {batch.read_ms}


def test_folded_progress_keeps_the_newest_time_and_the_latest_idle_mark() -> None:
    into = {"a:0": (50, None), "b:0": (None, 10)}
    merge_progress(into, {"a:0": (40, 99), "b:0": (7, None), "c:0": (None, None)})
    assert into == {"a:0": (50, 99), "b:0": (7, None), "c:0": (None, None)}
