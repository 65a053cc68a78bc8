-- The W3C trace context of what started a run (the webhook request, the API call), so every step
-- of the run, on any node and in a remote engine, continues that one trace.
ALTER TABLE runs ADD COLUMN traceparent TEXT;
