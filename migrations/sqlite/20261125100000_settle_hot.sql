-- bets_open was never read by any query; settlement had to maintain it.
DROP INDEX bets_open;
