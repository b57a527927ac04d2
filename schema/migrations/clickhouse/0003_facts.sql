-- Facts: what derivation makes of the records, rewritten whenever they change.
-- Durations are seconds, -1 where unknown.

CREATE TABLE IF NOT EXISTS {database}.change_facts (
    source String,
    id String,
    team String,
    repo String,
    service String,
    state String,
    shipped_by String,
    attribution String,
    first_commit_at Nullable(DateTime),
    opened_at Nullable(DateTime),
    ready_at Nullable(DateTime),
    first_review_at Nullable(DateTime),
    merged_at DateTime,
    shipped_at Nullable(DateTime),
    lead_time_seconds Int64,
    coding_seconds Int64,
    pickup_seconds Int64,
    review_seconds Int64,
    deploy_seconds Int64,
    unplanned UInt8,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(merged_at)
ORDER BY (source, id);

CREATE TABLE IF NOT EXISTS {database}.deployment_facts (
    source String,
    id String,
    team String,
    repo String,
    service String,
    environment String,
    production UInt8,
    status String,
    failed_attempt UInt8,
    commit_sha String,
    started_at DateTime,
    finished_at Nullable(DateTime),
    failed UInt8,
    failure_reasons Array(String),
    caused_incidents Array(String),
    recovered_at Nullable(DateTime),
    recovered_by String,
    recovery_seconds Int64,
    rollback UInt8,
    hotfix UInt8,
    unplanned UInt8,
    unplanned_reasons Array(String),
    changes Int64,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (source, id);

CREATE TABLE IF NOT EXISTS {database}.incident_facts (
    source String,
    id String,
    team String,
    service String,
    severity String,
    opened_at DateTime,
    resolved_at Nullable(DateTime),
    restore_seconds Int64,
    deployment String,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(opened_at)
ORDER BY (source, id);
