-- Invitations to join an org. Whoever opens the link (its token, stored only as a SHA-256 hash)
-- joins as `role` once, before `expires_at`, unless the invitation was revoked. Accepting sets
-- `accepted_at` and `accepted_by` in the transaction that adds the membership.
CREATE TABLE invitations (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    invited_by   BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    accepted_at  TEXT,
    accepted_by  BLOB REFERENCES users(id) ON DELETE SET NULL,
    revoked_at   TEXT
);
CREATE INDEX invitations_org ON invitations (org_id, email);
