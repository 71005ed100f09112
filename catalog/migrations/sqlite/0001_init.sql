-- Control-plane schema, SQLite flavour. Times are Unix epoch milliseconds (BIGINT) and
-- booleans are 0/1 integers so that the same queries decode identically on PostgreSQL.
CREATE TABLE accounts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    subdomain    TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    mcp_enabled  BIGINT NOT NULL DEFAULT 1,
    read_only    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE TABLE memberships (
    account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    token_prefix  TEXT NOT NULL,
    read_only     BIGINT NOT NULL DEFAULT 0,
    scopes_json   TEXT NOT NULL DEFAULT '{}',
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    expires_at    BIGINT,
    revoked_at    BIGINT
);
CREATE TABLE workspaces (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX workspaces_account ON workspaces(account_id, id);
CREATE TABLE connections (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    type            TEXT NOT NULL,
    family          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'active',
    fields_json     TEXT NOT NULL DEFAULT '{}',
    sealed_secrets  TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (account_id, name)
);
CREATE TABLE clusters (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    status             TEXT NOT NULL,
    type               TEXT NOT NULL,
    nodes              BIGINT NOT NULL,
    region             TEXT NOT NULL,
    terminate_on_idle  BIGINT NOT NULL DEFAULT 0,
    time_to_idle       BIGINT NOT NULL DEFAULT 3600,
    created_at         BIGINT NOT NULL,
    available_since    BIGINT,
    terminated_at      BIGINT,
    updated_at         BIGINT NOT NULL
);
CREATE TABLE packages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    workspace_id    BIGINT REFERENCES workspaces(id) ON DELETE SET NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    flow_type       TEXT NOT NULL,
    flow_version    TEXT NOT NULL DEFAULT '2.0.0',
    status          TEXT NOT NULL DEFAULT 'active',
    data_flow_json  TEXT NOT NULL,
    variables_json  TEXT NOT NULL DEFAULT '{}',
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX packages_account ON packages(account_id, id);
CREATE TABLE package_versions (
    package_id      BIGINT NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
    version         BIGINT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    data_flow_json  TEXT NOT NULL,
    variables_json  TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    audit_event_id  BIGINT,
    PRIMARY KEY (package_id, version)
);
CREATE TABLE runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    package_id        BIGINT NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
    cluster_id        BIGINT REFERENCES clusters(id) ON DELETE SET NULL,
    parent_run_id     BIGINT REFERENCES runs(id) ON DELETE SET NULL,
    status            TEXT NOT NULL,
    variables_json    TEXT NOT NULL DEFAULT '{}',
    rows_read         BIGINT NOT NULL DEFAULT 0,
    rows_written      BIGINT NOT NULL DEFAULT 0,
    last_error        TEXT,
    created_at        BIGINT NOT NULL,
    started_at        BIGINT,
    completed_at      BIGINT
);
CREATE INDEX runs_package ON runs(package_id, id);
CREATE INDEX runs_status ON runs(account_id, status, id);
CREATE TABLE run_logs (
    run_id   BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq      BIGINT NOT NULL,
    at       BIGINT NOT NULL,
    level    TEXT NOT NULL,
    message  TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE schedules (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    package_id      BIGINT NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    cron            TEXT NOT NULL,
    time_zone       TEXT NOT NULL DEFAULT 'UTC',
    enabled         BIGINT NOT NULL DEFAULT 1,
    variables_json  TEXT NOT NULL DEFAULT '{}',
    cluster_id      BIGINT REFERENCES clusters(id) ON DELETE SET NULL,
    next_run_at     BIGINT,
    last_run_at     BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE TABLE job_validations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    package_id   BIGINT NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    errors_json  TEXT NOT NULL DEFAULT '[]',
    duration_ms  BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    actor_user_id BIGINT,
    token_id     BIGINT,
    client_name  TEXT,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    BIGINT,
    before_json  TEXT,
    after_json   TEXT,
    at           BIGINT NOT NULL
);
CREATE INDEX audit_account ON audit_events(account_id, id);
-- Full-text search over the four searchable kinds; kept in step by the store in the same
-- transaction as each write.
CREATE VIRTUAL TABLE search_index USING fts5(
    kind UNINDEXED, ref_id UNINDEXED, account_id UNINDEXED, name, body,
    tokenize = 'unicode61 remove_diacritics 2'
);
