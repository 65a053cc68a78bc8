-- Per-source webhook settings: signature secret name, dedupe header, rate and size limits.
ALTER TABLE webhook_sources ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
