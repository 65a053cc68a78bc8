-- AutomateOS schema, SQLite flavour (the embedded default). Its Postgres twin lives in ../postgres with the same tables,
-- columns and constraints; the conformance suite runs every repository against both.

-- Tenancy ------------------------------------------------------------------------------------------
CREATE TABLE orgs (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id             BLOB PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

CREATE TABLE memberships (
    org_id      BLOB NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id     BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE api_keys (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id       BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_keys_org ON api_keys (org_id);

-- Creators and templates ---------------------------------------------------------------------------
CREATE TABLE creator_profiles (
    user_id       BLOB PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    handle        TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    bio           TEXT NOT NULL,
    avatar_url    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE templates (
    id              BLOB PRIMARY KEY,
    org_id          BLOB NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    creator_id      BLOB NOT NULL REFERENCES users(id),
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    category        TEXT NOT NULL,
    latest_version  INTEGER NOT NULL DEFAULT 0,
    install_count   INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX templates_category ON templates (category);

CREATE TABLE template_versions (
    id                BLOB PRIMARY KEY,
    template_id       BLOB NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    version           INTEGER NOT NULL,
    export            TEXT NOT NULL,
    checksum          TEXT NOT NULL,
    required_secrets  TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    UNIQUE (template_id, version)
);

-- Workflows ----------------------------------------------------------------------------------------
CREATE TABLE workflows (
    id               BLOB PRIMARY KEY,
    org_id           BLOB NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL,
    enabled          INTEGER NOT NULL,
    current_version  INTEGER,
    created_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX workflows_org ON workflows (org_id);

CREATE TABLE installations (
    id                BLOB PRIMARY KEY,
    org_id            BLOB NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    template_id       BLOB NOT NULL REFERENCES templates(id),
    template_version  INTEGER NOT NULL,
    workflow_id       BLOB NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    installed_by      TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX installations_org ON installations (org_id);
-- One installation per workflow it created: a retried install cannot count twice.
CREATE UNIQUE INDEX installations_workflow ON installations (workflow_id);

CREATE TABLE workflow_versions (
    id           BLOB PRIMARY KEY,
    workflow_id  BLOB NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    org_id       BLOB NOT NULL,
    version      INTEGER NOT NULL,
    export       TEXT NOT NULL,
    plan         TEXT NOT NULL,
    checksum     TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (workflow_id, version)
);
CREATE TRIGGER workflow_versions_immutable BEFORE UPDATE ON workflow_versions
BEGIN
    SELECT RAISE(ABORT, 'append_only: workflow_versions is append-only, UPDATE refused');
END;

CREATE TABLE workflow_nodes (
    version_id  BLOB NOT NULL REFERENCES workflow_versions(id) ON DELETE CASCADE,
    node_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    label       TEXT NOT NULL,
    x           REAL NOT NULL,
    y           REAL NOT NULL,
    config      TEXT NOT NULL,
    PRIMARY KEY (version_id, node_id)
);

CREATE TABLE workflow_edges (
    version_id  BLOB NOT NULL REFERENCES workflow_versions(id) ON DELETE CASCADE,
    edge_id     TEXT NOT NULL,
    from_node   TEXT NOT NULL,
    from_port   TEXT NOT NULL,
    to_node     TEXT NOT NULL,
    to_port     TEXT NOT NULL,
    PRIMARY KEY (version_id, edge_id)
);

-- Live documents -----------------------------------------------------------------------------------
CREATE TABLE doc_updates (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id  BLOB NOT NULL,
    update_bytes BLOB NOT NULL,
    origin       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX doc_updates_workflow ON doc_updates (workflow_id, seq);
CREATE TRIGGER doc_updates_append_only_update BEFORE UPDATE ON doc_updates
BEGIN
    SELECT RAISE(ABORT, 'append_only: doc_updates is append-only, UPDATE refused');
END;
CREATE TRIGGER doc_updates_append_only_delete BEFORE DELETE ON doc_updates
BEGIN
    SELECT RAISE(ABORT, 'append_only: doc_updates is append-only, DELETE refused');
END;

CREATE TABLE doc_snapshots (
    workflow_id  BLOB PRIMARY KEY,
    upto_seq     INTEGER NOT NULL,
    state        BLOB NOT NULL,
    created_at   TEXT NOT NULL
);

-- Triggers and runs --------------------------------------------------------------------------------
CREATE TABLE webhook_sources (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    workflow_id   BLOB NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    token_prefix  TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    rotated_at    TEXT
);
CREATE INDEX webhook_sources_workflow ON webhook_sources (workflow_id);

CREATE TABLE webhook_events (
    id               BLOB PRIMARY KEY,
    source_id        BLOB NOT NULL REFERENCES webhook_sources(id) ON DELETE CASCADE,
    org_id           BLOB NOT NULL,
    idempotency_key  TEXT NOT NULL,
    headers          TEXT NOT NULL,
    body             TEXT NOT NULL,
    run_id           BLOB,
    received_at      TEXT NOT NULL,
    UNIQUE (source_id, idempotency_key)
);

CREATE TABLE runs (
    id               BLOB PRIMARY KEY,
    org_id           BLOB NOT NULL,
    workflow_id      BLOB NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead_lettered', 'cancelled')),
    trigger_kind     TEXT NOT NULL,
    idempotency_key  TEXT,
    input            TEXT NOT NULL,
    replay_of        BLOB,
    error            TEXT,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    UNIQUE (workflow_id, idempotency_key)
);
CREATE INDEX runs_org_created ON runs (org_id, created_at);
CREATE INDEX runs_workflow_created ON runs (workflow_id, created_at);

CREATE TABLE run_steps (
    id           BLOB PRIMARY KEY,
    run_id       BLOB NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    org_id       BLOB NOT NULL,
    node_id      TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
    input        TEXT,
    output       TEXT,
    error        TEXT,
    started_at   TEXT,
    finished_at  TEXT,
    duration_ms  INTEGER,
    UNIQUE (run_id, node_id, attempt)
);

CREATE TABLE run_logs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       BLOB NOT NULL,
    org_id       BLOB NOT NULL,
    workflow_id  BLOB NOT NULL,
    node_id      TEXT,
    level        TEXT NOT NULL,
    event        TEXT NOT NULL,
    message      TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX run_logs_run ON run_logs (run_id, seq);
CREATE INDEX run_logs_workflow ON run_logs (workflow_id, seq);
CREATE TRIGGER run_logs_append_only_update BEFORE UPDATE ON run_logs
BEGIN
    SELECT RAISE(ABORT, 'append_only: run_logs is append-only, UPDATE refused');
END;
CREATE TRIGGER run_logs_append_only_delete BEFORE DELETE ON run_logs
BEGIN
    SELECT RAISE(ABORT, 'append_only: run_logs is append-only, DELETE refused');
END;

CREATE TABLE dlq_entries (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL,
    run_id       BLOB NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    workflow_id  BLOB NOT NULL,
    node_id      TEXT NOT NULL,
    error        TEXT NOT NULL,
    input        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'replayed', 'discarded')),
    created_at   TEXT NOT NULL,
    resolved_at  TEXT
);
CREATE INDEX dlq_entries_org_status ON dlq_entries (org_id, status);

-- Secrets ------------------------------------------------------------------------------------------
CREATE TABLE secrets (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    ciphertext    BLOB NOT NULL,
    nonce         BLOB NOT NULL,
    key_id        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    last_used_at  TEXT,
    UNIQUE (org_id, name)
);

-- Audit --------------------------------------------------------------------------------------------
CREATE TABLE audit_logs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       BLOB NOT NULL,
    chain_seq    INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    detail       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    UNIQUE (org_id, chain_seq)
);
CREATE TRIGGER audit_logs_append_only_update BEFORE UPDATE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'append_only: audit_logs is append-only, UPDATE refused');
END;
CREATE TRIGGER audit_logs_append_only_delete BEFORE DELETE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'append_only: audit_logs is append-only, DELETE refused');
END;

-- The head of each org's audit chain; appending locks this row, so chains never fork.
CREATE TABLE audit_chain_heads (
    org_id     BLOB PRIMARY KEY,
    chain_seq  INTEGER NOT NULL,
    hash       TEXT NOT NULL
);

-- Billing ------------------------------------------------------------------------------------------
CREATE TABLE price_plans (
    id                         TEXT PRIMARY KEY,
    name                       TEXT NOT NULL,
    run_micros                 INTEGER NOT NULL,
    step_micros                INTEGER NOT NULL,
    compute_second_micros      INTEGER NOT NULL,
    gigabyte_micros            INTEGER NOT NULL,
    active                     INTEGER NOT NULL,
    created_at                 TEXT NOT NULL
);

CREATE TABLE usage_records (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL,
    workflow_id  BLOB NOT NULL,
    run_id       BLOB NOT NULL,
    node_id      TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    steps        INTEGER NOT NULL,
    compute_ms   INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    cost_micros  INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (run_id, node_id, attempt)
);
CREATE INDEX usage_records_org_created ON usage_records (org_id, created_at);

CREATE TABLE credit_ledger (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id         BLOB NOT NULL,
    amount_micros  INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('grant', 'topup', 'usage', 'refund')),
    reference      TEXT NOT NULL,
    memo           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    UNIQUE (org_id, reference)
);
CREATE TRIGGER credit_ledger_append_only_update BEFORE UPDATE ON credit_ledger
BEGIN
    SELECT RAISE(ABORT, 'append_only: credit_ledger is append-only, UPDATE refused');
END;
CREATE TRIGGER credit_ledger_append_only_delete BEFORE DELETE ON credit_ledger
BEGIN
    SELECT RAISE(ABORT, 'append_only: credit_ledger is append-only, DELETE refused');
END;
