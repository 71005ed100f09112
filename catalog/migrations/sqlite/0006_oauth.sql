-- OAuth 2.1: users sign in with a password (argon2 hash), clients register (RFC 7591) or
-- identify themselves with a metadata document, a consent makes a grant for one account,
-- codes are single-use and PKCE-bound, refresh tokens rotate, and access tokens are rows
-- of `tokens` (kind 'oauth') tied to their grant, so one check serves both kinds.
ALTER TABLE users ADD COLUMN password_hash TEXT;
CREATE TABLE oauth_clients (
    client_id      TEXT PRIMARY KEY,
    source         TEXT NOT NULL,
    client_name    TEXT NOT NULL,
    redirect_uris  TEXT NOT NULL,
    auth_method    TEXT NOT NULL,
    secret_hash    TEXT,
    created_at     BIGINT NOT NULL,
    fetched_at     BIGINT
);
CREATE TABLE oauth_grants (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL,
    client_name  TEXT NOT NULL,
    read_only    BIGINT NOT NULL DEFAULT 0,
    scopes_json  TEXT NOT NULL DEFAULT '{}',
    resource     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX oauth_grants_by_account ON oauth_grants(account_id, user_id, client_id);
CREATE TABLE oauth_codes (
    code_hash       TEXT PRIMARY KEY,
    grant_id        BIGINT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    resource        TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE TABLE oauth_refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    grant_id    BIGINT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
ALTER TABLE tokens ADD COLUMN grant_id BIGINT REFERENCES oauth_grants(id) ON DELETE CASCADE;
CREATE INDEX tokens_by_grant ON tokens(grant_id);
CREATE TABLE web_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
