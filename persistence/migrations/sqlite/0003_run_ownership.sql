-- Which node runs each unfinished run, and the nodes' heartbeats: a run whose node stopped beating
-- is adopted by another node (or by the same node when it comes back under the same id).
ALTER TABLE runs ADD COLUMN owner_node TEXT;
CREATE TABLE nodes (
    id            TEXT PRIMARY KEY,
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL
);
CREATE INDEX runs_unfinished ON runs (owner_node) WHERE status IN ('queued', 'running');
