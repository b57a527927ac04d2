-- Facts: what derivation makes of the records, rewritten whenever they change.
-- Durations are seconds, -1 where unknown.

CREATE TABLE IF NOT EXISTS change_facts (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    repo TEXT NOT NULL DEFAULT '',
    service TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    shipped_by TEXT NOT NULL DEFAULT '',
    attribution TEXT NOT NULL DEFAULT '',
    first_commit_at INTEGER,
    opened_at INTEGER,
    ready_at INTEGER,
    first_review_at INTEGER,
    merged_at INTEGER NOT NULL,
    shipped_at INTEGER,
    lead_time_seconds INTEGER NOT NULL,
    coding_seconds INTEGER NOT NULL,
    pickup_seconds INTEGER NOT NULL,
    review_seconds INTEGER NOT NULL,
    deploy_seconds INTEGER NOT NULL,
    unplanned INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS change_facts_merged_at ON change_facts (merged_at);
CREATE INDEX IF NOT EXISTS change_facts_version ON change_facts (version);

CREATE TABLE IF NOT EXISTS deployment_facts (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    repo TEXT NOT NULL DEFAULT '',
    service TEXT NOT NULL DEFAULT '',
    environment TEXT NOT NULL DEFAULT '',
    production INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    failed_attempt INTEGER NOT NULL,
    commit_sha TEXT NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    failed INTEGER NOT NULL,
    failure_reasons TEXT NOT NULL DEFAULT '[]',
    caused_incidents TEXT NOT NULL DEFAULT '[]',
    recovered_at INTEGER,
    recovered_by TEXT NOT NULL DEFAULT '',
    recovery_seconds INTEGER NOT NULL,
    rollback INTEGER NOT NULL,
    hotfix INTEGER NOT NULL,
    unplanned INTEGER NOT NULL,
    unplanned_reasons TEXT NOT NULL DEFAULT '[]',
    changes INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS deployment_facts_started_at ON deployment_facts (started_at);
CREATE INDEX IF NOT EXISTS deployment_facts_version ON deployment_facts (version);

CREATE TABLE IF NOT EXISTS incident_facts (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    service TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL DEFAULT '',
    opened_at INTEGER NOT NULL,
    resolved_at INTEGER,
    restore_seconds INTEGER NOT NULL,
    deployment TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS incident_facts_opened_at ON incident_facts (opened_at);
CREATE INDEX IF NOT EXISTS incident_facts_version ON incident_facts (version);
