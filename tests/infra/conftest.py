"""One real local stack for the infra tests, started into a temporary run dir and stopped afterwards.

These tests check the infrastructure itself, so they always start their own stack (never the one
in LEADSTREAM_* variables) and are not skipped: a missing Java/Redis/PostgreSQL is a failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import stack


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack-run")


@pytest.fixture(scope="module")
def endpoints(run_dir: Path) -> Iterator[stack.Endpoints]:
    eps = stack.up(run_dir)
    try:
        yield eps
    finally:
        stack.down(run_dir)


@pytest.fixture(scope="module")
def state(endpoints: stack.Endpoints, run_dir: Path) -> dict:
    """The stack.json written by `up` (pids, ports, timings)."""
    return json.loads((run_dir / stack.STATE_FILE).read_text())
