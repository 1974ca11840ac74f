-- Append-only facts, one row per output event, keyed by its deterministic id (idempotent inserts).
CREATE TABLE IF NOT EXISTS fact_mql (
    mql_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    contact_id TEXT,
    account_id TEXT,
    email TEXT,
    priority TEXT NOT NULL,
    fast_track BOOLEAN NOT NULL,
    fit_score DOUBLE PRECISION NOT NULL,
    intent_score DOUBLE PRECISION NOT NULL,
    total_score DOUBLE PRECISION NOT NULL,
    source TEXT,
    rules_version TEXT NOT NULL,
    reasons TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fact_sla (
    sla_id TEXT NOT NULL,
    status TEXT NOT NULL,
    escalation_level INTEGER NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    contact_id TEXT NOT NULL,
    account_id TEXT,
    mql_id TEXT,
    priority TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    deadline TIMESTAMPTZ NOT NULL,
    response_seconds BIGINT,
    owner_id TEXT,
    PRIMARY KEY (sla_id, status, escalation_level)
);
CREATE TABLE IF NOT EXISTS fact_lifecycle (
    transition_id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL,
    account_id TEXT,
    from_stage TEXT NOT NULL,
    to_stage TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    reason TEXT,
    actor_id TEXT,
    rules_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fact_alert (
    alert_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    account_id TEXT,
    contact_id TEXT,
    channel TEXT,
    text TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL
);
-- Current state, newest updated_at wins.
CREATE TABLE IF NOT EXISTS contact_current (
    contact_id TEXT PRIMARY KEY,
    account_id TEXT,
    email TEXT,
    stage TEXT NOT NULL,
    fit_score DOUBLE PRECISION NOT NULL,
    intent_score DOUBLE PRECISION NOT NULL,
    total_score DOUBLE PRECISION NOT NULL,
    last_mql_id TEXT,
    last_mql_at TIMESTAMPTZ,
    sla_status TEXT,
    owner_id TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    rules_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS account_current (
    account_id TEXT PRIMARY KEY,
    domain TEXT,
    name TEXT,
    is_customer BOOLEAN NOT NULL,
    engaged_contacts TEXT NOT NULL,
    departments TEXT NOT NULL,
    last_mql_id TEXT,
    last_mql_at TIMESTAMPTZ,
    owner_id TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    rules_version TEXT NOT NULL
);
