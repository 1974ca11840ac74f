"""Which cluster to use: the configured one, else the local stack started for the user."""

from __future__ import annotations

import os

from streams.settings import Settings


def resolve_settings(start_local: bool = True) -> Settings:
    """Settings with endpoints filled in; starts the local stack only when none is configured."""
    settings = Settings()
    if settings.has_cluster or not start_local:
        return settings
    from infra import stack

    endpoints = stack.up()
    os.environ.update(endpoints.as_env())
    return Settings()
