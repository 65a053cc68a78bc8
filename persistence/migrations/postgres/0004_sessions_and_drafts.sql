-- Login sessions (one per login: the refresh token's hash; logout or expiry ends it, and every access
-- token names its session, so revoking the session revokes them too) and the stored draft graph of
-- each workflow (written by `PUT /api/workflows/{id}/graph` until the live doc room owns drafts).
CREATE TABLE auth_sessions (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    refresh_hash  TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    refreshed_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);

CREATE TABLE workflow_drafts (
    workflow_id  UUID PRIMARY KEY REFERENCES workflows(id) ON DELETE CASCADE,
    org_id       UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    graph        TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
