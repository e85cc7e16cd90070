-- A team's results (form, season records, head-to-head) are read by team
-- and kick-off; the simulator's history makes a full scan of matches costly.
CREATE INDEX matches_home_kickoff ON matches(home_id, kickoff_at);
CREATE INDEX matches_away_kickoff ON matches(away_id, kickoff_at);
