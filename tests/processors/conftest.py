"""Fixtures for the processors: a fresh engine on the shipped rules, and output pickers."""

from __future__ import annotations

import pytest

from processors.engine import Engine
from processors.rules import Rules, load_rules


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules()


@pytest.fixture
def engine(rules: Rules) -> Engine:
    return Engine(rules)
