"""`down` really stops everything (processes gone, ports closed) and tolerates dead processes.

Each test uses its own run dir, so it never tears down the module stack of test_stack.py.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from infra import stack
from infra.proc import pid_alive, port_open

pytestmark = pytest.mark.timeout(300)


def _wait_gone(pid: int, port: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid) and not port_open(port):
            return True
        time.sleep(0.1)
    return False


def test_down_stops_processes_and_closes_ports(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    stack.up(run_dir)
    recorded = json.loads((run_dir / stack.STATE_FILE).read_text())["components"]
    stack.down(run_dir)
    for name, rec in recorded.items():
        assert _wait_gone(rec["pid"], rec["port"]), f"{name} still running: {rec}"
        if name == "kafka":
            assert not port_open(rec["controller_port"])
    assert not (run_dir / stack.STATE_FILE).exists()
    assert stack.status(run_dir) == {}
    stack.down(run_dir)  # nothing recorded: a no-op


def test_dead_component_means_fresh_start_and_down_tolerates_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = stack.up(run_dir, components=("redis",))
    pid = json.loads((run_dir / stack.STATE_FILE).read_text())["components"]["redis"]["pid"]
    os.kill(pid, signal.SIGKILL)
    assert _wait_gone(pid, int(first.redis_url.rsplit(":", 1)[1].split("/")[0]))
    assert stack.status(run_dir)["redis"]["alive"] is False

    second = stack.up(run_dir, components=("redis",))  # not alive => started afresh
    new_pid = json.loads((run_dir / stack.STATE_FILE).read_text())["components"]["redis"]["pid"]
    assert new_pid != pid and pid_alive(new_pid)
    assert second.bootstrap_servers == ""  # components not requested have no endpoint
    os.kill(new_pid, signal.SIGKILL)
    stack.down(run_dir)  # tolerant of the already-dead process
    assert not pid_alive(new_pid)
