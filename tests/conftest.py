"""Session-wide fixtures: one real local stack (or the configured cluster) for integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from infra import stack
from schemas.catalog import STREAMS
from streams.settings import Settings


@pytest.fixture(scope="session")
def stack_endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.Endpoints]:
    """The configured cluster when LEADSTREAM_* are set, else a local stack for this session."""
    configured = stack.configured_endpoints()
    if configured is not None:
        yield configured
        return
    run_dir = tmp_path_factory.mktemp("session-stack")
    endpoints = stack.up(run_dir)
    try:
        yield endpoints
    finally:
        stack.down(run_dir)


@pytest.fixture
def kafka_settings(stack_endpoints: stack.Endpoints) -> Settings:
    """Settings on the real broker with topic names unique to this test, topics created."""
    from streams.topics import ensure_topics

    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings = Settings(
        bootstrap_servers=stack_endpoints.bootstrap_servers,
        registry_url=stack_endpoints.registry_url,
        redis_url=stack_endpoints.redis_url,
        postgres_dsn=stack_endpoints.postgres_dsn,
        topics={s.name: f"{prefix}.{s.default_topic}" for s in STREAMS},
        partitions=2,
    )
    ensure_topics(settings)
    return settings
