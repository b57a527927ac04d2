-- Flow and toil: the ticket, incident and pull-request fields flow and toil
-- derivation read, and the facts they write. Durations are seconds, -1 where
-- unknown. Each ALTER is idempotent: the store treats a column that is there
-- already as added.

ALTER TABLE {database}.pull_requests ADD COLUMN ticket_refs Array(String);
ALTER TABLE {database}.incidents ADD COLUMN kind String;
ALTER TABLE {database}.incidents ADD COLUMN urgency String;
ALTER TABLE {database}.incidents ADD COLUMN priority String;
ALTER TABLE {database}.work_items ADD COLUMN resolution String;
ALTER TABLE {database}.work_items ADD COLUMN components Array(String);

CREATE TABLE IF NOT EXISTS {database}.flow_item_facts (
    source String,
    id String,
    team String,
    project String,
    issue_type String,
    flow_type String,
    title String,
    status String,
    state String,
    created_at DateTime,
    committed_at Nullable(DateTime),
    done_at Nullable(DateTime),
    canceled_at Nullable(DateTime),
    flow_seconds Int64,
    active_seconds Int64,
    wait_seconds Int64,
    reopens Int64,
    time_per_status Array(String),
    unmapped Array(String),
    calendar String,
    pull_requests Array(String),
    delivered_at Nullable(DateTime),
    delivered_by String,
    delivery_seconds Int64,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (source, id);

CREATE TABLE IF NOT EXISTS {database}.toil_facts (
    source String,
    id String,
    team String,
    category String,
    rule String,
    kind String,
    record String,
    who String,
    title String,
    started_at DateTime,
    seconds Int64,
    basis String,
    retired UInt8,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (source, id);
