-- Flow and toil: the ticket, incident and pull-request fields flow and toil
-- derivation read, and the facts they write. Durations are seconds, -1 where
-- unknown.

ALTER TABLE pull_requests ADD COLUMN ticket_refs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN urgency TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN priority TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN components TEXT NOT NULL DEFAULT '[]';

CREATE TABLE IF NOT EXISTS flow_item_facts (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    project TEXT NOT NULL DEFAULT '',
    issue_type TEXT NOT NULL DEFAULT '',
    flow_type TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    committed_at INTEGER,
    done_at INTEGER,
    canceled_at INTEGER,
    flow_seconds INTEGER NOT NULL,
    active_seconds INTEGER NOT NULL,
    wait_seconds INTEGER NOT NULL,
    reopens INTEGER NOT NULL,
    time_per_status TEXT NOT NULL DEFAULT '[]',
    unmapped TEXT NOT NULL DEFAULT '[]',
    calendar TEXT NOT NULL DEFAULT '',
    pull_requests TEXT NOT NULL DEFAULT '[]',
    delivered_at INTEGER,
    delivered_by TEXT NOT NULL DEFAULT '',
    delivery_seconds INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS flow_item_facts_created_at ON flow_item_facts (created_at);
CREATE INDEX IF NOT EXISTS flow_item_facts_version ON flow_item_facts (version);

CREATE TABLE IF NOT EXISTS toil_facts (
    source TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    rule TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    record TEXT NOT NULL DEFAULT '',
    who TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
    seconds INTEGER NOT NULL,
    basis TEXT NOT NULL DEFAULT '',
    retired INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS toil_facts_started_at ON toil_facts (started_at);
CREATE INDEX IF NOT EXISTS toil_facts_version ON toil_facts (version);
