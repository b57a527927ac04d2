-- Cached answers of "does commit head contain commit base?", asked once per pair.

CREATE TABLE IF NOT EXISTS {database}.commit_ancestry (
    source String,
    id String,
    repo String,
    base String,
    head String,
    contains UInt8,
    checked_at DateTime,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(checked_at)
ORDER BY (source, id);
