-- AutomateOS schema, Postgres flavour. Its SQLite twin lives in ../sqlite with the same tables,
-- columns and constraints; the conformance suite runs every repository against both.

-- Refuses any UPDATE, DELETE or TRUNCATE on the append-only tables.
CREATE FUNCTION aos_refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append_only: % is append-only, % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

-- Tenancy ------------------------------------------------------------------------------------------
CREATE TABLE orgs (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id             UUID PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE memberships (
    org_id      UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id     UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE api_keys (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX api_keys_org ON api_keys (org_id);

-- Creators and templates ---------------------------------------------------------------------------
CREATE TABLE creator_profiles (
    user_id       UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    handle        TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    bio           TEXT NOT NULL,
    avatar_url    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE templates (
    id              UUID PRIMARY KEY,
    org_id          UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    creator_id      UUID NOT NULL REFERENCES users(id),
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    category        TEXT NOT NULL,
    latest_version  BIGINT NOT NULL DEFAULT 0,
    install_count   BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX templates_category ON templates (category);

CREATE TABLE template_versions (
    id                UUID PRIMARY KEY,
    template_id       UUID NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    version           BIGINT NOT NULL,
    export            TEXT NOT NULL,
    checksum          TEXT NOT NULL,
    required_secrets  JSONB NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (template_id, version)
);

-- Workflows ----------------------------------------------------------------------------------------
CREATE TABLE workflows (
    id               UUID PRIMARY KEY,
    org_id           UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL,
    enabled          BOOLEAN NOT NULL,
    current_version  BIGINT,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX workflows_org ON workflows (org_id);

CREATE TABLE installations (
    id                UUID PRIMARY KEY,
    org_id            UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    template_id       UUID NOT NULL REFERENCES templates(id),
    template_version  BIGINT NOT NULL,
    workflow_id       UUID NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    installed_by      TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX installations_org ON installations (org_id);
-- One installation per workflow it created: a retried install cannot count twice.
CREATE UNIQUE INDEX installations_workflow ON installations (workflow_id);

CREATE TABLE workflow_versions (
    id           UUID PRIMARY KEY,
    workflow_id  UUID NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    org_id       UUID NOT NULL,
    version      BIGINT NOT NULL,
    export       TEXT NOT NULL,
    plan         JSONB NOT NULL,
    checksum     TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (workflow_id, version)
);
CREATE TRIGGER workflow_versions_immutable BEFORE UPDATE ON workflow_versions
    FOR EACH ROW EXECUTE FUNCTION aos_refuse_mutation();

CREATE TABLE workflow_nodes (
    version_id  UUID NOT NULL REFERENCES workflow_versions(id) ON DELETE CASCADE,
    node_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    label       TEXT NOT NULL,
    x           DOUBLE PRECISION NOT NULL,
    y           DOUBLE PRECISION NOT NULL,
    config      JSONB NOT NULL,
    PRIMARY KEY (version_id, node_id)
);

CREATE TABLE workflow_edges (
    version_id  UUID NOT NULL REFERENCES workflow_versions(id) ON DELETE CASCADE,
    edge_id     TEXT NOT NULL,
    from_node   TEXT NOT NULL,
    from_port   TEXT NOT NULL,
    to_node     TEXT NOT NULL,
    to_port     TEXT NOT NULL,
    PRIMARY KEY (version_id, edge_id)
);

-- Live documents -----------------------------------------------------------------------------------
CREATE TABLE doc_updates (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow_id  UUID NOT NULL,
    update_bytes BYTEA NOT NULL,
    origin       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX doc_updates_workflow ON doc_updates (workflow_id, seq);
CREATE TRIGGER doc_updates_append_only BEFORE UPDATE OR DELETE ON doc_updates
    FOR EACH ROW EXECUTE FUNCTION aos_refuse_mutation();
CREATE TRIGGER doc_updates_no_truncate BEFORE TRUNCATE ON doc_updates
    FOR EACH STATEMENT EXECUTE FUNCTION aos_refuse_mutation();

CREATE TABLE doc_snapshots (
    workflow_id  UUID PRIMARY KEY,
    upto_seq     BIGINT NOT NULL,
    state        BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

-- Triggers and runs --------------------------------------------------------------------------------
CREATE TABLE webhook_sources (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    workflow_id   UUID NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    token_prefix  TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    rotated_at    TIMESTAMPTZ
);
CREATE INDEX webhook_sources_workflow ON webhook_sources (workflow_id);

CREATE TABLE webhook_events (
    id               UUID PRIMARY KEY,
    source_id        UUID NOT NULL REFERENCES webhook_sources(id) ON DELETE CASCADE,
    org_id           UUID NOT NULL,
    idempotency_key  TEXT NOT NULL,
    headers          JSONB NOT NULL,
    body             JSONB NOT NULL,
    run_id           UUID,
    received_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (source_id, idempotency_key)
);

CREATE TABLE runs (
    id               UUID PRIMARY KEY,
    org_id           UUID NOT NULL,
    workflow_id      UUID NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    version          BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead_lettered', 'cancelled')),
    trigger_kind     TEXT NOT NULL,
    idempotency_key  TEXT,
    input            JSONB NOT NULL,
    replay_of        UUID,
    error            TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    UNIQUE (workflow_id, idempotency_key)
);
CREATE INDEX runs_org_created ON runs (org_id, created_at);
CREATE INDEX runs_workflow_created ON runs (workflow_id, created_at);

CREATE TABLE run_steps (
    id           UUID PRIMARY KEY,
    run_id       UUID NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    org_id       UUID NOT NULL,
    node_id      TEXT NOT NULL,
    attempt      BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
    input        JSONB,
    output       JSONB,
    error        TEXT,
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    duration_ms  BIGINT,
    UNIQUE (run_id, node_id, attempt)
);

CREATE TABLE run_logs (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       UUID NOT NULL,
    org_id       UUID NOT NULL,
    workflow_id  UUID NOT NULL,
    node_id      TEXT,
    level        TEXT NOT NULL,
    event        TEXT NOT NULL,
    message      TEXT NOT NULL,
    data         JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX run_logs_run ON run_logs (run_id, seq);
CREATE INDEX run_logs_workflow ON run_logs (workflow_id, seq);
CREATE TRIGGER run_logs_append_only BEFORE UPDATE OR DELETE ON run_logs
    FOR EACH ROW EXECUTE FUNCTION aos_refuse_mutation();
CREATE TRIGGER run_logs_no_truncate BEFORE TRUNCATE ON run_logs
    FOR EACH STATEMENT EXECUTE FUNCTION aos_refuse_mutation();

CREATE TABLE dlq_entries (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL,
    run_id       UUID NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    workflow_id  UUID NOT NULL,
    node_id      TEXT NOT NULL,
    error        TEXT NOT NULL,
    input        JSONB NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'replayed', 'discarded')),
    created_at   TIMESTAMPTZ NOT NULL,
    resolved_at  TIMESTAMPTZ
);
CREATE INDEX dlq_entries_org_status ON dlq_entries (org_id, status);

-- Secrets ------------------------------------------------------------------------------------------
CREATE TABLE secrets (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    ciphertext    BYTEA NOT NULL,
    nonce         BYTEA NOT NULL,
    key_id        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    UNIQUE (org_id, name)
);

-- Audit --------------------------------------------------------------------------------------------
CREATE TABLE audit_logs (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       UUID NOT NULL,
    chain_seq    BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    detail       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    UNIQUE (org_id, chain_seq)
);
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION aos_refuse_mutation();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION aos_refuse_mutation();

-- The head of each org's audit chain; appending locks this row, so chains never fork.
CREATE TABLE audit_chain_heads (
    org_id     UUID PRIMARY KEY,
    chain_seq  BIGINT NOT NULL,
    hash       TEXT NOT NULL
);

-- Billing ------------------------------------------------------------------------------------------
CREATE TABLE price_plans (
    id                         TEXT PRIMARY KEY,
    name                       TEXT NOT NULL,
    run_micros                 BIGINT NOT NULL,
    step_micros                BIGINT NOT NULL,
    compute_second_micros      BIGINT NOT NULL,
    gigabyte_micros            BIGINT NOT NULL,
    active                     BOOLEAN NOT NULL,
    created_at                 TIMESTAMPTZ NOT NULL
);

CREATE TABLE usage_records (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL,
    workflow_id  UUID NOT NULL,
    run_id       UUID NOT NULL,
    node_id      TEXT NOT NULL,
    attempt      BIGINT NOT NULL,
    steps        BIGINT NOT NULL,
    compute_ms   BIGINT NOT NULL,
    bytes        BIGINT NOT NULL,
    cost_micros  BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (run_id, node_id, attempt)
);
CREATE INDEX usage_records_org_created ON usage_records (org_id, created_at);

CREATE TABLE credit_ledger (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id         UUID NOT NULL,
    amount_micros  BIGINT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('grant', 'topup', 'usage', 'refund')),
    reference      TEXT NOT NULL,
    memo           TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, reference)
);
CREATE TRIGGER credit_ledger_append_only BEFORE UPDATE OR DELETE ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION aos_refuse_mutation();
CREATE TRIGGER credit_ledger_no_truncate BEFORE TRUNCATE ON credit_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION aos_refuse_mutation();
