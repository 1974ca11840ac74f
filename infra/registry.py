"""Apicurio Registry 2.6 (H2 storage in a file) as the Confluent-compatible schema registry.

It is the released `-all` distribution from Maven Central (see infra/maven/apicurio-pom.xml), runs on
Java 17, and serves the Confluent Schema Registry REST API under /apis/ccompat/v7 — the URL handed to
clients (confluent_kafka's SchemaRegistryClient, Avro serde) is that base.

Its H2 database is a file in the registry's run directory (Apicurio's default is ``jdbc:h2:mem``), so
``restart`` brings it back on the same port with the same schemas and ids: a stop is a real outage,
not a registry that has forgotten every schema. ``start`` begins empty, as before.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

from infra.jars import apicurio_runner_jar
from infra.proc import StartupError, exit_code, free_port, pid_alive, spawn, tail, terminate, wait_until

READY_TIMEOUT_S = 90.0
CCOMPAT_PATH = "/apis/ccompat/v7"
JVM_OPTS = ["-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"]


def start(run_dir: Path) -> dict[str, Any]:
    """A fresh, empty registry on a free port."""
    home = run_dir / "registry"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return _launch(home, free_port())


def restart(record: dict[str, Any]) -> dict[str, Any]:
    """Stop it (if running) and start it again on the same port with the same schemas; ``record``
    is updated (new pid) and returned."""
    stop(record)
    home = Path(record.get("home") or Path(record["log"]).parent)
    record.update(_launch(home, int(record["port"]), log_name=f"registry-{time.time_ns()}.log"))
    return record


def _launch(home: Path, port: int, log_name: str = "registry.log") -> dict[str, Any]:
    jar = apicurio_runner_jar()
    props = {
        "quarkus.http.host": "127.0.0.1",
        "quarkus.http.port": port,
        "quarkus.log.console.color": "false",
        "quarkus.banner.enabled": "false",
        # Same schema => same id (content ids), as in Confluent's registry.
        "registry.ccompat.legacy-id-mode.enabled": "false",
        # Schemas survive a restart (Apicurio 2.6's SQL storage on H2, in a file instead of memory).
        "quarkus.datasource.jdbc.url": f"jdbc:h2:file:{home / 'db' / 'registry'};DB_CLOSE_ON_EXIT=FALSE",
    }
    argv = ["java", *JVM_OPTS, *(f"-D{k}={v}" for k, v in props.items()), "-jar", str(jar)]
    t0 = time.monotonic()
    log = home / log_name
    pid = spawn(argv, log, cwd=home)
    record = {
        "pid": pid,
        "port": port,
        "endpoint": f"http://127.0.0.1:{port}{CCOMPAT_PATH}",
        "home": str(home),
        "log": str(log),
    }
    if not wait_until(lambda: ready(record), READY_TIMEOUT_S, 0.2, alive=lambda: pid_alive(pid)):
        code = exit_code(pid)
        terminate(pid)
        state = f"exited with code {code}" if code is not None else f"not ready after {READY_TIMEOUT_S:.0f}s"
        raise StartupError(f"schema registry on port {port} {state}:\n{tail(log)}")
    record["launch_to_ready_seconds"] = round(time.monotonic() - t0, 2)
    return record


def ready(record: dict[str, Any]) -> bool:
    """GET <ccompat>/subjects answers 200 with a JSON list."""
    try:
        with urllib.request.urlopen(f"{record['endpoint']}/subjects", timeout=3) as resp:
            return resp.status == 200 and isinstance(json.load(resp), list)
    except (OSError, ValueError):
        return False


def stop(record: dict[str, Any]) -> None:
    terminate(record.get("pid"), timeout=15.0)
