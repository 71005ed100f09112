-- Runs execute for real: they wait in a queue (status `queued`) until a worker claims
-- one, heartbeat while running, and end with a structured error when they fail. Workers
-- are the processes serving clusters' queues; `cluster` NULL serves every cluster.
ALTER TABLE runs ADD COLUMN worker_id TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_at BIGINT;
ALTER TABLE runs ADD COLUMN cancel_requested BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN dynamic_variables_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runs ADD COLUMN progress_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN error_json TEXT;
ALTER TABLE runs ADD COLUMN package_version BIGINT;
-- Claiming takes the oldest queued run; reaping scans the running ones.
CREATE INDEX runs_queue ON runs(status, id);
-- Retries of a run (list_runs hides them by default).
CREATE INDEX runs_parent ON runs(parent_run_id);
CREATE TABLE workers (
    id            TEXT PRIMARY KEY,
    cluster       TEXT,
    hostname      TEXT NOT NULL,
    pid           BIGINT NOT NULL,
    started_at    BIGINT NOT NULL,
    heartbeat_at  BIGINT NOT NULL
);
CREATE INDEX workers_heartbeat ON workers(heartbeat_at);
