"""Public API of the local stack: start, reuse, inspect and stop Kafka, the registry, Redis, PostgreSQL.

Used by the CLI (`leadstream dev up|down|status`), the tests and the demo. When the four
LEADSTREAM_* endpoint variables are set, callers use that cluster and nothing is started.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from infra import jars, kafka, postgres, redis, registry
from infra.paths import default_run_dir
from infra.proc import StartupError, pid_alive

COMPONENTS: dict[str, ModuleType] = {
    "kafka": kafka,
    "registry": registry,
    "redis": redis,
    "postgres": postgres,
}
ALL = tuple(COMPONENTS)
STATE_FILE = "stack.json"
ENV = {
    "bootstrap_servers": "LEADSTREAM_BOOTSTRAP_SERVERS",
    "registry_url": "LEADSTREAM_REGISTRY_URL",
    "redis_url": "LEADSTREAM_REDIS_URL",
    "postgres_dsn": "LEADSTREAM_POSTGRES_DSN",
}
_PORT_TAKEN = ("Address already in use", "BindException", "could not bind", "seems to be in use")
_FIELD = {
    "kafka": "bootstrap_servers",
    "registry": "registry_url",
    "redis": "redis_url",
    "postgres": "postgres_dsn",
}


@dataclass(frozen=True)
class Endpoints:
    bootstrap_servers: str
    registry_url: str
    redis_url: str
    postgres_dsn: str

    def as_env(self) -> dict[str, str]:
        """The LEADSTREAM_* variables that make every command use these endpoints."""
        return {ENV[k]: v for k, v in asdict(self).items()}


def configured_endpoints() -> Endpoints | None:
    """The user's own cluster when all four LEADSTREAM_* variables are set; then nothing is started."""
    values = {field: os.environ.get(var, "").strip() for field, var in ENV.items()}
    return Endpoints(**values) if all(values.values()) else None


def ensure(run_dir: Path | None = None) -> Endpoints:
    """Configured endpoints if any, else the local stack (started or reused)."""
    return configured_endpoints() or up(run_dir)


def up(run_dir: Path | None = None, components: Sequence[str] = ALL) -> Endpoints:
    """Start the stack into ``run_dir`` (or reuse the one recorded there if it is alive and ready)."""
    unknown = set(components) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown components {sorted(unknown)}; known: {list(COMPONENTS)}")
    run_dir = _resolve(run_dir)
    with _lock(run_dir):
        state = _load(run_dir)
        if state and set(components) <= set(state["components"]) and _healthy(state["components"]):
            return _endpoints(state["components"])
        if state:
            _stop_all(state["components"])
        records, seconds = _start_all(run_dir, list(components))
        state = {
            "run_dir": str(run_dir),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "components": records,
            "start_seconds": seconds,
            "endpoints": asdict(_endpoints(records)),
        }
        tmp = run_dir / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(run_dir / STATE_FILE)
        return _endpoints(records)


def down(run_dir: Path | None = None) -> None:
    """Stop every recorded process; already-dead ones are fine."""
    run_dir = _resolve(run_dir)
    with _lock(run_dir):
        state = _load(run_dir)
        if state:
            _stop_all(state["components"])
        (run_dir / STATE_FILE).unlink(missing_ok=True)


def status(run_dir: Path | None = None) -> dict[str, Any]:
    """Per component: pid, alive, endpoint, ready (and the log to read when it is not)."""
    state = _load(_resolve(run_dir))
    if not state:
        return {}
    out = {}
    for name, rec in state["components"].items():
        alive = pid_alive(rec.get("pid"))
        out[name] = {
            "pid": rec.get("pid"),
            "alive": alive,
            "endpoint": rec["endpoint"],
            "ready": alive and COMPONENTS[name].ready(rec),
            "log": rec.get("log"),
        }
    return out


def docker_available() -> bool:
    """`docker info` succeeds within 5 s (there is no Docker engine on the project's machines)."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _start_all(run_dir: Path, names: list[str]) -> tuple[dict[str, Any], dict[str, float]]:
    """Start components concurrently (Kafka is the slowest); on any failure stop the ones that started."""
    # Resolve Java artifacts first and one at a time: two mvn runs share ~/.m2.
    if "kafka" in names:
        jars.ensure_kafka_jars()
    if "registry" in names:
        jars.ensure_apicurio()

    def timed(name: str) -> tuple[dict[str, Any], float]:
        t0 = time.monotonic()
        try:
            rec = COMPONENTS[name].start(run_dir)
        except StartupError as exc:
            # A free port can be taken by someone else between probing and binding: retry once.
            if not any(sign in str(exc) for sign in _PORT_TAKEN):
                raise
            rec = COMPONENTS[name].start(run_dir)
        return rec, round(time.monotonic() - t0, 2)

    records: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="stack-up") as pool:
        futures = {name: pool.submit(timed, name) for name in names}
        for name, fut in futures.items():
            try:
                records[name], seconds[name] = fut.result()
            except Exception as exc:
                errors.append(f"[{name}] {exc}")
    if errors:
        _stop_all(records)
        raise RuntimeError("local stack failed to start:\n" + "\n\n".join(errors))
    return records, seconds


def _stop_all(records: dict[str, Any]) -> None:
    for name in reversed(list(records)):
        with contextlib.suppress(Exception):
            COMPONENTS[name].stop(records[name])


def _healthy(records: dict[str, Any]) -> bool:
    return all(pid_alive(rec.get("pid")) and COMPONENTS[name].ready(rec) for name, rec in records.items())


def _endpoints(records: dict[str, Any]) -> Endpoints:
    values = dict.fromkeys(ENV, "")
    for name, rec in records.items():
        values[_FIELD[name]] = rec["endpoint"]
    return Endpoints(**values)


def _resolve(run_dir: Path | None) -> Path:
    path = Path(run_dir) if run_dir is not None else default_run_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def _load(run_dir: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("components"), dict) else None


@contextlib.contextmanager
def _lock(run_dir: Path) -> Iterator[None]:
    """One `up`/`down` at a time per run dir (parallel test workers, two terminals)."""
    with open(run_dir / ".stack.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
