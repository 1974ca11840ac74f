"""A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free loopback port, trust auth.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user and
every server-side command runs through `runuser -u postgres --`. Clients (psql) connect over TCP.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from infra.proc import StartupError, pid_alive, tail, terminate

READY_TIMEOUT_S = 30
DB = USER = "leadstream"
# Socket paths are limited to ~107 bytes; deeper homes get a short one under /tmp instead.
MAX_SOCKET_DIR_LEN = 80
# A dev/test database: losing it on a crash is fine, speed matters more than durability.
SERVER_OPTS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"


def bin_dir() -> Path:
    """Newest /usr/lib/postgresql/<major>/bin (Debian keeps server binaries off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).parent
    raise StartupError("PostgreSQL server binaries not found: run scripts/install-system-deps.sh")


def _as_root() -> bool:
    return os.geteuid() == 0


def _server_cmd(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if _as_root() else argv


def _postgres_can_use(path: Path) -> bool:
    """Whether the postgres user can reach ``path`` (pytest's /tmp/pytest-of-root is 0700)."""
    probe = subprocess.run(_server_cmd(["test", "-x", str(path)]), capture_output=True)
    return probe.returncode == 0


def _home(run_dir: Path) -> tuple[Path, bool]:
    """Folder for data, socket and log; second value says it lives outside run_dir (remove on stop)."""
    home = run_dir / "postgres"
    run_dir.mkdir(parents=True, exist_ok=True)
    if (not _as_root() or _postgres_can_use(run_dir)) and len(str(home / "sock")) <= MAX_SOCKET_DIR_LEN:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        return home, False
    return Path(tempfile.mkdtemp(prefix="leadstream-pg-")), True


def start(run_dir: Path) -> dict[str, Any]:
    from infra.proc import free_port

    pg = bin_dir()
    home, external = _home(run_dir)
    data, sock, log = home / "data", home / "sock", home / "postgres.log"
    sock.mkdir()
    if _as_root():
        shutil.chown(home, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    port = free_port()
    record: dict[str, Any] = {
        "pid": None,
        "port": port,
        "endpoint": f"postgresql://{USER}@127.0.0.1:{port}/{DB}",
        "log": str(log),
        "home": str(home),
        "home_is_external": external,
        "bin_dir": str(pg),
    }
    t0 = time.monotonic()
    _run(
        [
            str(pg / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ],
        "initdb",
    )
    t1 = time.monotonic()
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} {SERVER_OPTS}"
    pg_ctl = [
        str(pg / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(log),
        "-o",
        opts,
        "-w",
        "-t",
        str(READY_TIMEOUT_S),
    ]
    try:
        _run([*pg_ctl, "start"], "pg_ctl start", log)
        record["pid"] = _postmaster_pid(data)
        _psql(port, "postgres", f"CREATE DATABASE {DB}")
        if not ready(record):
            raise StartupError(f"postgres on port {port} started but `select 1` failed:\n{tail(log)}")
    except BaseException:
        stop(record)
        raise
    record["pg_ctl"] = pg_ctl
    record["initdb_seconds"] = round(t1 - t0, 2)
    record["launch_to_ready_seconds"] = round(time.monotonic() - t1, 2)
    return record


def _run(argv: list[str], what: str, log: Path | None = None) -> None:
    res = subprocess.run(_server_cmd(argv), capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        extra = f"\n--- {log}\n{tail(log)}" if log else ""
        raise StartupError(f"{what} failed (exit {res.returncode}):\n{res.stdout}{res.stderr}{extra}")


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _psql(port: int, db: str, sql: str) -> subprocess.CompletedProcess[str]:
    psql = shutil.which("psql") or "/usr/bin/psql"
    argv = [
        psql,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        USER,
        "-d",
        db,
        "-v",
        "ON_ERROR_STOP=1",
        "-Atc",
        sql,
    ]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=15, env={**os.environ, "PGCONNECT_TIMEOUT": "3"})
    if res.returncode != 0:
        raise StartupError(f"psql {sql!r} failed: {res.stderr.strip()}")
    return res


def ready(record: dict[str, Any]) -> bool:
    """A real connection to the application database: `select 1` via psql."""
    try:
        return _psql(int(record["port"]), DB, "select 1").stdout.strip() == "1"
    except (StartupError, OSError, subprocess.TimeoutExpired):
        return False


def stop(record: dict[str, Any]) -> None:
    """pg_ctl stop -m fast; SIGTERM/SIGKILL the postmaster if that fails; drop an external home."""
    home = Path(record["home"])
    data = home / "data"
    if data.exists() and pid_alive(record.get("pid")):
        pg_ctl = Path(record.get("bin_dir") or bin_dir()) / "pg_ctl"
        subprocess.run(
            _server_cmd([str(pg_ctl), "-D", str(data), "-m", "fast", "-w", "-t", "20", "stop"]),
            capture_output=True,
            timeout=40,
        )
    terminate(record.get("pid"), timeout=10.0, group=False)
    if record.get("home_is_external"):
        shutil.rmtree(home, ignore_errors=True)


def halt(record: dict[str, Any]) -> None:
    """Stop the server but keep its data and port, to test what clients do while it is down."""
    _run([*record["pg_ctl"], "-m", "fast", "stop"], "pg_ctl stop")


def resume(record: dict[str, Any]) -> None:
    """Start a halted server again on the same port, with the same data."""
    _run([*record["pg_ctl"], "start"], "pg_ctl start", Path(record["log"]))
    record["pid"] = _postmaster_pid(Path(record["home"]) / "data")
