-- A recorded delivery keeps its URL's query string (as the run's trigger read it, a JSON object),
-- so "the last delivery" gives a test run the same body, headers and query. Older rows have none.
ALTER TABLE webhook_events ADD COLUMN query TEXT NOT NULL DEFAULT '{}';
