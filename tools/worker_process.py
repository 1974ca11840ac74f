"""``leadstream worker`` as a child process: how the demo, ``bench live`` and the tests start it.

The environment carries the settings (cluster, topics, app version), exactly as an operator
would set them, so the child is the real worker and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

from schemas.catalog import STREAMS
from streams.settings import Settings
from streams.topics import ensure_topics


def run_settings(base: Settings, rid: str, partitions: int) -> Settings:
    """The cluster of ``base`` with fresh topics (``<rid>.<default>``) and app version ``rid``; topics created."""
    settings = base.model_copy(
        update={
            "topics": {s.name: f"{rid}.{s.default_topic}" for s in STREAMS},
            "partitions": max(partitions, 1),
            "app_version": rid,
        }
    )
    ensure_topics(settings)
    return settings


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def worker_env(settings: Settings, data_dir: Path, **extra: Any) -> dict[str, str]:
    """The environment that points ``leadstream worker`` at this run's cluster, topics and app version."""
    env = dict(os.environ)
    values: dict[str, Any] = {
        "BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "REGISTRY_URL": settings.registry_url,
        "SECURITY_PROTOCOL": settings.security_protocol,
        "SASL_MECHANISM": settings.sasl_mechanism,
        "SASL_USERNAME": settings.sasl_username,
        "SASL_PASSWORD": _secret(settings.sasl_password),
        "SSL_CA_LOCATION": settings.ssl_ca_location,
        "REGISTRY_BASIC_AUTH": _secret(settings.registry_basic_auth),
        "APP_VERSION": settings.app_version,
        "PARTITIONS": str(settings.partitions),
        "DATA_DIR": str(data_dir),
    }
    values.update({f"TOPICS__{s.name}": settings.topic(s.name) for s in STREAMS})
    values.update({k.upper(): v for k, v in extra.items()})
    env.update({f"LEADSTREAM_{k}": str(v) for k, v in values.items() if v is not None})
    return env


class WorkerProcess:
    """``leadstream worker`` as an operator starts it; output to a log file, SIGTERM to stop."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        exe = Path(sys.executable).with_name("leadstream")
        with self.log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([str(exe), "worker"], env=self.env, stdout=log, stderr=log)
        return self

    def stats(self) -> dict[str, Any]:
        """The last JSON stats line of its log ({} before the first)."""
        if not self.log_path.exists():
            return {}
        lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if '{"event":"stats"' in ln]
        return orjson.loads(lines[-1][lines[-1].index("{") :]) if lines else {}

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def check_alive(self) -> None:
        """A worker that died makes every later figure meaningless: stop with its log's tail."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the worker exited with {self.proc.returncode}; log tail:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def peak_rss_mib(self) -> float | None:
        """Peak RSS (VmHWM) of the worker and its descendants, from /proc while they still run."""
        return peak_rss_mib(self.pid) if self.proc is not None and self.proc.poll() is None else None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (graceful: final commit), SIGKILL when it has not exited within ``timeout``."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def _proc_status_kib(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                kids = [int(x) for x in children.read_text().split()]
                found += kids
                todo += kids
    return found


def peak_rss_mib(pid: int) -> float | None:
    """Sum of VmHWM over ``pid`` and its children (Linux /proc); None where /proc has no answer."""
    kib = sum(_proc_status_kib(p, "VmHWM") for p in [pid, *_descendants(pid)])
    return kib / 1024 if kib else None
