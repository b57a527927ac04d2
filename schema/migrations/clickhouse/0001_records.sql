-- Raw records, as the sources reported them. ReplacingMergeTree keeps the copy with
-- the highest version per (source, id); reads use FINAL. Partitions are by the month
-- of each record's immutable event time. Statements run on ClickHouse 18.16 and
-- current releases alike: booleans are UInt8, optional times Nullable(DateTime).

CREATE TABLE IF NOT EXISTS {database}.pull_requests (
    source String,
    id String,
    repo String,
    number Int64,
    author String,
    title String,
    labels Array(String),
    base_branch String,
    draft UInt8,
    created_at DateTime,
    ready_at Nullable(DateTime),
    first_commit_at Nullable(DateTime),
    commit_count Int64,
    additions Int64,
    deletions Int64,
    first_review_at Nullable(DateTime),
    first_reviewer String,
    first_approval_at Nullable(DateTime),
    merged_at Nullable(DateTime),
    closed_at Nullable(DateTime),
    merge_commit_sha String,
    url String,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (source, id);

CREATE TABLE IF NOT EXISTS {database}.deployments (
    source String,
    id String,
    repo String,
    service String,
    environment String,
    commit_sha String,
    ref String,
    status String,
    trigger String,
    rollback UInt8,
    hotfix UInt8,
    attempt Int64,
    started_at DateTime,
    finished_at Nullable(DateTime),
    url String,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (source, id);

CREATE TABLE IF NOT EXISTS {database}.incidents (
    source String,
    id String,
    service String,
    severity String,
    title String,
    labels Array(String),
    opened_at DateTime,
    acknowledged_at Nullable(DateTime),
    resolved_at Nullable(DateTime),
    cause_deployment_id String,
    cause_commit_sha String,
    url String,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(opened_at)
ORDER BY (source, id);

CREATE TABLE IF NOT EXISTS {database}.work_items (
    source String,
    id String,
    project String,
    issue_type String,
    title String,
    labels Array(String),
    assignee String,
    priority String,
    status String,
    status_category String,
    created_at DateTime,
    resolved_at Nullable(DateTime),
    url String,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (source, id);

CREATE TABLE IF NOT EXISTS {database}.status_changes (
    source String,
    id String,
    item_id String,
    at DateTime,
    from_status String,
    to_status String,
    from_category String,
    to_category String,
    author String,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(at)
ORDER BY (source, id);

CREATE TABLE IF NOT EXISTS {database}.worklogs (
    source String,
    id String,
    item_id String,
    author String,
    started_at DateTime,
    seconds Int64,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (source, id);

CREATE TABLE IF NOT EXISTS {database}.cursors (
    source String,
    stream String,
    value String,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source, stream);
