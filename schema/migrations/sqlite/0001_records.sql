-- Raw records, as the sources reported them. The primary key (source, id) makes a
-- write of the same record an upsert that keeps the copy with the highest version.
-- Times are Unix seconds, NULL when unknown; labels are JSON arrays; booleans 0/1.

CREATE TABLE IF NOT EXISTS pull_requests (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    repo TEXT NOT NULL DEFAULT '',
    number INTEGER NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '[]',
    base_branch TEXT NOT NULL DEFAULT '',
    draft INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    ready_at INTEGER,
    first_commit_at INTEGER,
    commit_count INTEGER NOT NULL,
    additions INTEGER NOT NULL,
    deletions INTEGER NOT NULL,
    first_review_at INTEGER,
    first_reviewer TEXT NOT NULL DEFAULT '',
    first_approval_at INTEGER,
    merged_at INTEGER,
    closed_at INTEGER,
    merge_commit_sha TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS pull_requests_created_at ON pull_requests (created_at);
CREATE INDEX IF NOT EXISTS pull_requests_version ON pull_requests (version);

CREATE TABLE IF NOT EXISTS deployments (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    repo TEXT NOT NULL DEFAULT '',
    service TEXT NOT NULL DEFAULT '',
    environment TEXT NOT NULL DEFAULT '',
    commit_sha TEXT NOT NULL DEFAULT '',
    ref TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    trigger TEXT NOT NULL DEFAULT '',
    rollback INTEGER NOT NULL,
    hotfix INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    url TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS deployments_started_at ON deployments (started_at);
CREATE INDEX IF NOT EXISTS deployments_version ON deployments (version);

CREATE TABLE IF NOT EXISTS incidents (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    service TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '[]',
    opened_at INTEGER NOT NULL,
    acknowledged_at INTEGER,
    resolved_at INTEGER,
    cause_deployment_id TEXT NOT NULL DEFAULT '',
    cause_commit_sha TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS incidents_opened_at ON incidents (opened_at);
CREATE INDEX IF NOT EXISTS incidents_version ON incidents (version);

CREATE TABLE IF NOT EXISTS work_items (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    project TEXT NOT NULL DEFAULT '',
    issue_type TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '[]',
    assignee TEXT NOT NULL DEFAULT '',
    priority TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    status_category TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    resolved_at INTEGER,
    url TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS work_items_created_at ON work_items (created_at);
CREATE INDEX IF NOT EXISTS work_items_version ON work_items (version);

CREATE TABLE IF NOT EXISTS status_changes (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    item_id TEXT NOT NULL DEFAULT '',
    at INTEGER NOT NULL,
    from_status TEXT NOT NULL DEFAULT '',
    to_status TEXT NOT NULL DEFAULT '',
    from_category TEXT NOT NULL DEFAULT '',
    to_category TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS status_changes_at ON status_changes (at);
CREATE INDEX IF NOT EXISTS status_changes_version ON status_changes (version);

CREATE TABLE IF NOT EXISTS worklogs (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    item_id TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
    seconds INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS worklogs_started_at ON worklogs (started_at);
CREATE INDEX IF NOT EXISTS worklogs_version ON worklogs (version);

CREATE TABLE IF NOT EXISTS cursors (
    source TEXT NOT NULL DEFAULT '',
    stream TEXT NOT NULL DEFAULT '',
    value TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, stream)
);
