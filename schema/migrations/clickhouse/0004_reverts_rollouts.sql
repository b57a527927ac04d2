-- Reverts, named causes, rollouts and failure links: what the revised failure rules
-- need to say where each number came from. Each statement is idempotent:
-- the store treats a column that is there already as added.

ALTER TABLE {database}.pull_requests ADD COLUMN reverts Array(String);
ALTER TABLE {database}.incidents ADD COLUMN cause_pull_request String;
ALTER TABLE {database}.change_facts ADD COLUMN reverts Array(String);
ALTER TABLE {database}.deployment_facts ADD COLUMN rollout_of String;
ALTER TABLE {database}.deployment_facts ADD COLUMN rollout Array(String);
ALTER TABLE {database}.deployment_facts ADD COLUMN revert UInt8;
ALTER TABLE {database}.incident_facts ADD COLUMN link_reason String;
