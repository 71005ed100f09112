-- Package authoring: the audit trail says through which token (by name, as it was then),
-- which MCP client and version, and which tool; every package version is kept whole,
-- status included; a validation remembers the version it checked.
ALTER TABLE audit_events ADD COLUMN token_name TEXT;
ALTER TABLE audit_events ADD COLUMN client_version TEXT;
ALTER TABLE audit_events ADD COLUMN tool TEXT;
CREATE INDEX audit_target ON audit_events(account_id, target_type, target_id, id);
ALTER TABLE package_versions ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE job_validations ADD COLUMN package_version BIGINT;
CREATE INDEX job_validations_package ON job_validations(package_id, id);
-- Status changes used to bump a package's version without keeping it: keep each
-- package's current version now, so every version a package reports from here on can be
-- read back.
INSERT INTO package_versions (package_id, version, name, description, status, data_flow_json, variables_json, created_at)
SELECT p.id, p.version, p.name, p.description, p.status, p.data_flow_json, p.variables_json, p.updated_at
FROM packages p
WHERE NOT EXISTS (SELECT 1 FROM package_versions v WHERE v.package_id = p.id AND v.version = p.version);
