"""`leadstream report funnel` reads the configured warehouse read-only, as JSON / CSV, for a month range."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from schemas import models
from sinks.warehouse.sink import WarehouseSink

EXE = str(Path(sys.executable).with_name("leadstream"))


def _report(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "LEADSTREAM_CONFIG": "/nonexistent.yaml", "COLUMNS": "200"}
    return subprocess.run(
        [EXE, "report", "funnel", *args], capture_output=True, text=True, timeout=60, env={**base, **env}
    )


def test_reads_leadstream_duckdb_path_without_writing_it(tmp_path: Path, two_months: list[models.Record]) -> None:
    path = tmp_path / "configured.duckdb"
    WarehouseSink(duckdb_path=str(path)).write(two_months)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    out = _report(
        "--format", "json", "--since", "2026-03", "--until", "2026-03-31", env={"LEADSTREAM_DUCKDB_PATH": str(path)}
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    # Only the monthly sections, only March: a2, b1, b2 (see history.HAND_COUNT).
    [march] = report["Funnel by monthly MQL cohort"]
    assert (march["cohort_month"], march["mqls"], march["sal"], march["sql"]) == ("2026-03-01", 3, 2, 2)
    assert "Funnel" not in report and report["Account MQL cohorts by month"] == []
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "a report never writes"
    assert not (tmp_path / "leadstream.duckdb").exists()


def test_csv_blocks(tmp_path: Path, two_months: list[models.Record]) -> None:
    path = tmp_path / "wh.duckdb"
    WarehouseSink(duckdb_path=str(path)).write(two_months)
    out = _report("--duckdb", str(path), "--format", "csv", env={})
    assert out.returncode == 0, out.stderr
    block = out.stdout.split("# Funnel\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert block[0].startswith("leads,mqls,sal,sql,opportunity,won,lead_to_mql")
    assert block[1].startswith("10,6,4,3,1,1,0.5,")


def test_a_missing_warehouse_is_an_error_not_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.duckdb"
    out = _report(env={"LEADSTREAM_DUCKDB_PATH": str(path)})
    assert out.returncode == 2 and f"no warehouse at {path}" in out.stderr
    assert not path.exists()


def test_postgres_is_read_only_and_not_migrated(pg_dsn: str, two_months: list[models.Record]) -> None:
    empty = _report("--dsn", pg_dsn, env={})
    assert empty.returncode == 2 and "has no tables yet" in empty.stderr, "nothing was created"
    WarehouseSink(dsn=pg_dsn).write(two_months)
    out = _report("--format", "json", env={"LEADSTREAM_POSTGRES_DSN": pg_dsn})
    assert out.returncode == 0, out.stderr
    [funnel] = json.loads(out.stdout)["Funnel"]
    assert (funnel["leads"], funnel["mqls"], funnel["sal"], funnel["mql_to_sal"]) == (10, 6, 4, 0.6667)
