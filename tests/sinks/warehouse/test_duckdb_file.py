"""The embedded DuckDB warehouse is one file shared by the sink and `leadstream report funnel`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from schemas import models
from sinks.base import RetryableError, RetryPolicy, retry
from sinks.warehouse.db import DuckDb
from sinks.warehouse.sink import WarehouseSink

EXE = str(Path(sys.executable).with_name("leadstream"))


@contextmanager
def held_by_another_process(path: Path, seconds: float) -> Iterator[subprocess.Popen]:
    """Another process opens the file (taking DuckDB's lock) for ``seconds``."""
    code = f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('locked', flush=True); time.sleep({seconds})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.wait(timeout=30)


def test_the_report_command_reads_the_file_while_the_sink_is_running(tmp_path: Path, decisions: list) -> None:
    path = tmp_path / "wh.duckdb"
    sink = WarehouseSink(duckdb_path=str(path))
    sink.write(decisions)  # the sink stays alive (between batches) while the report runs
    report = subprocess.run(
        [EXE, "report", "funnel", "--duckdb", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "LEADSTREAM_CONFIG": "/nonexistent.yaml"},
    )
    assert report.returncode == 0, report.stderr
    [funnel] = [line for line in report.stdout.splitlines() if line.startswith("│    10 │")]
    assert [cell.strip() for cell in funnel.strip("│").split("│")[:7]] == ["10", "4", "2", "1", "1", "1", "40%"]
    sink.write(decisions[:3])  # and the sink goes on writing afterwards
    assert sink._connect().query("SELECT COUNT(*) AS n FROM fact_mql")[0]["n"] == 4


def test_a_file_locked_by_another_process_is_waited_for_not_fatal(tmp_path: Path, decisions: list) -> None:
    path = tmp_path / "wh.duckdb"
    WarehouseSink(duckdb_path=str(path)).write(decisions[:1])
    with held_by_another_process(path, 1.0):
        with pytest.raises(RetryableError, match="locked"):
            DuckDb(str(path), lock_wait_s=0.1).execute("SELECT 1")
        sink = WarehouseSink(duckdb_path=str(path))
        retry(lambda: sink.write(decisions), RetryPolicy(initial_s=0.1, max_backoff_s=0.5, max_elapsed_s=30))
    mqls = sum(isinstance(r, models.Mql) for r in decisions)
    assert sink._connect().query("SELECT COUNT(*) AS n FROM fact_mql")[0]["n"] == mqls
