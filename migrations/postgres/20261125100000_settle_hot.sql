-- Settlement rewrites every bet on a match, 100,000 of them at a time.
-- bets_open was never read by any query, yet it indexes the state column,
-- so it kept each of those updates from being a HOT update (a new row
-- version on the same page, no index entries). With half of each page
-- left free for that second version, settling 100,000 bets took a median
-- 3.5 s instead of 3.9 s (BenchmarkSettleMatch, docs/performance.md). The
-- price is bets taking up to twice the disk space.
DROP INDEX bets_open;
ALTER TABLE bets SET (fillfactor = 50);
