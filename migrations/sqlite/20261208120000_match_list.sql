-- The day's match list sorts a day's matches by state group, then
-- kick-off (sqlstore.FindMatches): this index answers the page's choice
-- from the index alone, without reading each match row for its state.
CREATE INDEX matches_day_list ON matches(kickoff_at, state, sport);
