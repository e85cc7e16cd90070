WITH v(bet_id, version, state, payout, delta) AS (SELECT * FROM unnest(CAST($1 AS BIGINT[]), CAST($2 AS BIGINT[]), CAST($3 AS TEXT[]), CAST($4 AS BIGINT[]), CAST($5 AS BIGINT[]))) INSERT INTO settlements (bet_id, version, state, payout, delta, reason, created_at)
  SELECT bet_id, version, state, payout, delta, CAST($6 AS TEXT), CAST($7 AS TIMESTAMPTZ) FROM v
