"""A real single-node Apache Kafka 3.9.1 broker in KRaft mode, run with `java -cp` from cached jars.

Every start formats a fresh log dir, so tests and demos never see topics from an earlier run.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from string import Template
from typing import Any

from infra.jars import ensure_kafka_jars
from infra.paths import CONF_DIR
from infra.proc import (
    StartupError,
    error_lines,
    exit_code,
    free_port,
    pid_alive,
    port_open,
    spawn,
    tail,
    terminate,
)

READY_TIMEOUT_S = 90.0
JVM_OPTS = ["-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true"]


def cluster_id() -> str:
    """22-char base64url UUID, the format `kafka-storage random-uuid` prints."""
    while True:  # like Kafka's Uuid.randomUuid: never starting with "-", which reads as an option
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def write_config(home: Path, broker_port: int, controller_port: int) -> tuple[Path, Path]:
    """server.properties and log4j.properties for this run, from the templates in infra/conf/."""
    values = {
        "broker_port": broker_port,
        "controller_port": controller_port,
        "log_dir": home / "data",
        "log_file": home / "broker.log",
    }
    server = home / "server.properties"
    log4j = home / "log4j.properties"
    for src, dst in (
        (CONF_DIR / "kafka-server.properties", server),
        (CONF_DIR / "kafka-log4j.properties", log4j),
    ):
        dst.write_text(Template(src.read_text()).substitute(values))
    return server, log4j


def start(run_dir: Path) -> dict[str, Any]:
    """Format storage and launch the broker; returns its record once a real client call works."""
    jars = ensure_kafka_jars()
    home = run_dir / "kafka"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    broker_port, controller_port = free_port(), free_port()
    while controller_port == broker_port:
        controller_port = free_port()
    server, log4j = write_config(home, broker_port, controller_port)
    java = ["java", *JVM_OPTS, f"-Dlog4j.configuration=file:{log4j}", "-cp", f"{jars}/*"]

    t0 = time.monotonic()
    fmt = subprocess.run(
        [*java, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id()}", "-c", str(server)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if fmt.returncode != 0:
        raise StartupError(f"kafka storage format failed (exit {fmt.returncode}):\n{fmt.stdout}{fmt.stderr}")
    t1 = time.monotonic()
    record = _launch(java, home, server, broker_port)
    record.update(controller_port=controller_port, format_seconds=round(t1 - t0, 2))
    record["launch_to_ready_seconds"] = round(time.monotonic() - t1, 2)
    return record


def restart(record: dict[str, Any]) -> dict[str, Any]:
    """Stop the broker and start it again on the same ports and log dir (a broker restart as
    operators do it: clients see it go away and come back, nothing is lost)."""
    stop(record)
    home = Path(record["log"]).parent
    jars = ensure_kafka_jars()
    java = ["java", *JVM_OPTS, f"-Dlog4j.configuration=file:{home / 'log4j.properties'}", "-cp", f"{jars}/*"]
    t0 = time.monotonic()
    fresh = _launch(java, home, home / "server.properties", int(record["port"]))
    return {**record, **fresh, "launch_to_ready_seconds": round(time.monotonic() - t0, 2)}


def _launch(java: list[str], home: Path, server: Path, broker_port: int) -> dict[str, Any]:
    t1 = time.monotonic()
    pid = spawn([*java, "kafka.Kafka", str(server)], home / "stdout.log", cwd=home)
    bootstrap = f"127.0.0.1:{broker_port}"
    record = {
        "pid": pid,
        "port": broker_port,
        "endpoint": bootstrap,
        "log": str(home / "broker.log"),
    }
    try:
        _wait_ready(pid, bootstrap, home, t1 + READY_TIMEOUT_S)
    except BaseException:
        terminate(pid)
        raise
    return record


def _wait_ready(pid: int, bootstrap: str, home: Path, deadline: float) -> None:
    port = int(bootstrap.rsplit(":", 1)[1])
    last_error = "broker port never opened"
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            raise StartupError(
                f"kafka broker exited (code {exit_code(pid)}) before it was ready.\n"
                f"--- errors in {home / 'broker.log'}\n{error_lines(home / 'broker.log')}\n"
                f"--- tail of {home / 'broker.log'}\n{tail(home / 'broker.log', 20)}\n"
                f"--- {home / 'stdout.log'}\n{tail(home / 'stdout.log', 15)}"
            )
        if port_open(port):
            try:
                probe(bootstrap, timeout=min(10.0, max(1.0, deadline - time.monotonic())))
                return
            except Exception as exc:  # not ready yet: controller election, metadata not published
                last_error = repr(exc)
        time.sleep(0.25)
    raise StartupError(
        f"kafka broker at {bootstrap} not ready after {READY_TIMEOUT_S:.0f}s (last error: {last_error}).\n"
        f"--- errors in {home / 'broker.log'}\n{error_lines(home / 'broker.log')}\n"
        f"--- tail of {home / 'broker.log'}\n{tail(home / 'broker.log')}"
    )


def probe(bootstrap: str, timeout: float = 10.0) -> None:
    """Readiness is a real admin round trip: list topics, then create and delete a probe topic."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 2000, "log_level": 3})
    admin.list_topics(timeout=timeout)
    name = f"__leadstream_probe_{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, 1, 1)], operation_timeout=timeout)[name].result(timeout)
    admin.delete_topics([name], operation_timeout=timeout)[name].result(timeout)


def ready(record: dict[str, Any]) -> bool:
    """Cheap liveness check for reuse: metadata answers within a few seconds."""
    from confluent_kafka.admin import AdminClient

    if not port_open(int(record["port"])):
        return False
    try:
        AdminClient({"bootstrap.servers": record["endpoint"], "log_level": 3}).list_topics(timeout=5)
        return True
    except Exception:
        return False


def stop(record: dict[str, Any]) -> None:
    # A clean controlled shutdown of a single node takes a few seconds; SIGKILL after 30 s.
    terminate(record.get("pid"), timeout=30.0)
