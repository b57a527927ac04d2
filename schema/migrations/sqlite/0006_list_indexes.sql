-- Indexes on the columns a refresh selects its batches by (repositories and
-- services), so that reading a few repositories of a large store reads those and
-- not the whole table.

CREATE INDEX IF NOT EXISTS pull_requests_repo ON pull_requests (repo);
CREATE INDEX IF NOT EXISTS deployments_repo ON deployments (repo);
CREATE INDEX IF NOT EXISTS deployments_service ON deployments (service);
CREATE INDEX IF NOT EXISTS incidents_service ON incidents (service);
CREATE INDEX IF NOT EXISTS commit_ancestry_repo ON commit_ancestry (repo);
CREATE INDEX IF NOT EXISTS change_facts_repo ON change_facts (repo);
CREATE INDEX IF NOT EXISTS change_facts_service ON change_facts (service);
CREATE INDEX IF NOT EXISTS deployment_facts_repo ON deployment_facts (repo);
CREATE INDEX IF NOT EXISTS deployment_facts_service ON deployment_facts (service);
CREATE INDEX IF NOT EXISTS incident_facts_service ON incident_facts (service);
