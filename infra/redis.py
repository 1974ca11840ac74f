"""redis-server on a free loopback port, no persistence: a cache/state store for dev and tests."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from infra.proc import StartupError, free_port, pid_alive, spawn, tail, terminate, wait_until

READY_TIMEOUT_S = 15.0


def _binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not found:
        raise StartupError("redis-server not found: run scripts/install-system-deps.sh")
    return found


def start(run_dir: Path) -> dict[str, Any]:
    home = run_dir / "redis"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    port = free_port()
    argv = [
        _binary(), "--bind", "127.0.0.1", "--port", str(port), "--protected-mode", "yes",
        "--save", "", "--appendonly", "no", "--dir", str(home), "--daemonize", "no",
    ]  # fmt: skip
    t0 = time.monotonic()
    pid = spawn(argv, home / "redis.log", cwd=home)
    record = {
        "pid": pid,
        "argv": argv,
        "port": port,
        "endpoint": f"redis://127.0.0.1:{port}/0",
        "log": str(home / "redis.log"),
    }
    if not wait_until(lambda: ready(record), READY_TIMEOUT_S, 0.05, alive=lambda: pid_alive(pid)):
        terminate(pid)
        raise StartupError(f"redis-server on port {port} not ready:\n{tail(home / 'redis.log')}")
    record["launch_to_ready_seconds"] = round(time.monotonic() - t0, 2)
    return record


def ready(record: dict[str, Any]) -> bool:
    """A real PING through the client the application uses."""
    import redis

    client = redis.Redis.from_url(record["endpoint"], socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def stop(record: dict[str, Any]) -> None:
    terminate(record.get("pid"), timeout=10.0)


def halt(record: dict[str, Any]) -> None:
    """Stop the server (its data is not persisted), keeping the port for resume()."""
    terminate(record.get("pid"), timeout=10.0)


def resume(record: dict[str, Any]) -> None:
    """Start again on the same port, as after a crash."""
    home = Path(record["log"]).parent
    record["pid"] = spawn(record["argv"], home / "redis.log", cwd=home)
    if not wait_until(lambda: ready(record), READY_TIMEOUT_S, 0.05, alive=lambda: pid_alive(record["pid"])):
        raise StartupError(f"redis-server did not come back:\n{tail(home / 'redis.log')}")
