-- Reverts, named causes, rollouts and failure links: what the revised failure rules
-- need to say where each number came from.

ALTER TABLE pull_requests ADD COLUMN reverts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN cause_pull_request TEXT NOT NULL DEFAULT '';
ALTER TABLE change_facts ADD COLUMN reverts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE deployment_facts ADD COLUMN rollout_of TEXT NOT NULL DEFAULT '';
ALTER TABLE deployment_facts ADD COLUMN rollout TEXT NOT NULL DEFAULT '[]';
ALTER TABLE deployment_facts ADD COLUMN revert INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incident_facts ADD COLUMN link_reason TEXT NOT NULL DEFAULT '';
