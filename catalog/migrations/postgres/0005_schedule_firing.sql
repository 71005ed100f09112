-- Schedules fire for real: each is versioned like a package, says what to do with slots
-- missed while no scheduler ran (`missed_policy`) and with a slot whose previous run is
-- still going (`overlap_policy`), and keeps a short log of what it skipped. A run a
-- schedule started names it and its slot; one slot can never start two runs.
ALTER TABLE schedules ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE schedules ADD COLUMN missed_policy TEXT NOT NULL DEFAULT 'run_once';
ALTER TABLE schedules ADD COLUMN overlap_policy TEXT NOT NULL DEFAULT 'skip';
CREATE INDEX schedules_due ON schedules(enabled, next_run_at);
CREATE TABLE schedule_versions (
    schedule_id     BIGINT NOT NULL,
    version         BIGINT NOT NULL,
    state_json      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    audit_event_id  BIGINT,
    PRIMARY KEY (schedule_id, version)
);
CREATE TABLE schedule_log (
    id           BIGSERIAL PRIMARY KEY,
    schedule_id  BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    slot_at      BIGINT,
    message      TEXT NOT NULL
);
CREATE INDEX schedule_log_by_schedule ON schedule_log(schedule_id, id);
-- Who started a run: a schedule, for one slot; a queued run may wait for another to end.
ALTER TABLE runs ADD COLUMN schedule_id BIGINT;
ALTER TABLE runs ADD COLUMN scheduled_for BIGINT;
ALTER TABLE runs ADD COLUMN after_run_id BIGINT;
CREATE UNIQUE INDEX runs_one_per_slot ON runs(schedule_id, scheduled_for);
-- Firing asks for a schedule's queued and running runs.
CREATE INDEX runs_by_schedule ON runs(schedule_id, status, id);
