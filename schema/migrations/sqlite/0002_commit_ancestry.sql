-- Cached answers of "does commit head contain commit base?", asked once per pair.

CREATE TABLE IF NOT EXISTS commit_ancestry (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    repo TEXT NOT NULL DEFAULT '',
    base TEXT NOT NULL DEFAULT '',
    head TEXT NOT NULL DEFAULT '',
    contains INTEGER NOT NULL,
    checked_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS commit_ancestry_checked_at ON commit_ancestry (checked_at);
CREATE INDEX IF NOT EXISTS commit_ancestry_version ON commit_ancestry (version);
