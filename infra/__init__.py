"""Local infrastructure for development, tests and the demo: real Kafka (KRaft), a Confluent-compatible
schema registry (Apicurio), Redis and PostgreSQL, started from the project's own files without Docker.

Public API: :mod:`infra.stack` (``up``, ``down``, ``status``, ``configured_endpoints``, ``Endpoints``).
"""
