-- Ingestion: one instance at a time polls the provider, holding a lease
-- that it renews; another takes over when it expires.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Where each market's current prices came from (a bookmaker or "model").
ALTER TABLE markets ADD COLUMN source TEXT NOT NULL DEFAULT 'operator';
-- The kick-off first announced: a postponed match is voided if it is not
-- played within a set time of it.
ALTER TABLE matches ADD COLUMN original_kickoff_at TEXT;
ALTER TABLE matches ADD COLUMN provider_status TEXT;
-- The running score of a match in play, for live pages; the result proper
-- lives in match_results.
ALTER TABLE matches ADD COLUMN live_home INT;
ALTER TABLE matches ADD COLUMN live_away INT;
