"""Process and port helpers shared by the components: detached spawn, liveness, shutdown."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

# Popen objects of children started by this Python process: kept so they can be reaped (a dead,
# unreaped child is a zombie that os.kill(pid, 0) still reports as alive) and never warn on GC.
_children: dict[int, subprocess.Popen[bytes]] = {}


class StartupError(RuntimeError):
    """A component did not become ready; the message carries the tail of its log."""


def free_port() -> int:
    """A currently free TCP port on loopback (the kernel picks it; we only ever bind 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def spawn(argv: Sequence[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> int:
    """Start a detached process (own session, so Ctrl-C in the caller's terminal doesn't hit it)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        p = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _children[p.pid] = p
    return p.pid


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def pid_alive(pid: int | None) -> bool:
    """True when the process exists and is not a zombie."""
    if not pid:
        return False
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return _proc_state(pid) not in (None, "Z", "X")


def exit_code(pid: int) -> int | None:
    child = _children.get(pid)
    return None if child is None else child.poll()


def terminate(pid: int | None, timeout: float = 20.0, group: bool = True) -> None:
    """SIGTERM (to the process group if it leads one), wait, then SIGKILL. Tolerates dead pids."""
    if not pid or not pid_alive(pid):
        _children.pop(pid or 0, None)
        return
    _signal(pid, signal.SIGTERM, group)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    if pid_alive(pid):
        _signal(pid, signal.SIGKILL, group)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.05)
    _children.pop(pid, None)


def _signal(pid: int, sig: signal.Signals, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def error_lines(path: Path, limit: int = 12) -> str:
    """The first ERROR/FATAL lines of a log: the cause, which a plain tail buries under shutdown noise."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    hits = [line for line in lines if " ERROR " in line or " FATAL " in line or "Exception:" in line]
    return "\n".join(hits[:limit])


def wait_until(check, timeout: float, interval: float = 0.2, alive=None) -> bool:
    """Poll ``check()`` until true; stop early (False) when ``alive()`` says the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return True
        if alive is not None and not alive():
            return False
        time.sleep(interval)
    return False
