-- Login sessions (one per login: the refresh token's hash; logout or expiry ends it, and every access
-- token names its session, so revoking the session revokes them too) and the stored draft graph of
-- each workflow (written by `PUT /api/workflows/{id}/graph` until the live doc room owns drafts).
CREATE TABLE auth_sessions (
    id            BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    refresh_hash  TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    refreshed_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);

CREATE TABLE workflow_drafts (
    workflow_id  BLOB PRIMARY KEY REFERENCES workflows(id) ON DELETE CASCADE,
    org_id       BLOB NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    graph        TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
