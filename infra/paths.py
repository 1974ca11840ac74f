"""Where the stack keeps downloaded artifacts (.cache/) and running state (.run/)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MAVEN_DIR = Path(__file__).resolve().parent / "maven"
CONF_DIR = Path(__file__).resolve().parent / "conf"


def cache_dir() -> Path:
    """Git-ignored cache of jars; survives `down` so later starts need no network."""
    return Path(os.environ.get("LEADSTREAM_CACHE_DIR") or REPO_ROOT / ".cache")


def default_run_dir() -> Path:
    """Git-ignored folder with pids, ports, logs and data of the running stack."""
    return Path(os.environ.get("LEADSTREAM_RUN_DIR") or REPO_ROOT / ".run")
