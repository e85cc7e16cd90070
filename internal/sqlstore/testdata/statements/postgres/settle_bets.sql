WITH v(id, state, payout, version) AS (SELECT * FROM unnest(CAST($1 AS BIGINT[]), CAST($2 AS TEXT[]), CAST($3 AS BIGINT[]), CAST($4 AS BIGINT[]))) UPDATE bets SET state = v.state, payout = v.payout, version = bets.version + 1,
    settled_at = CASE WHEN v.state = 'open' THEN NULL ELSE CAST($5 AS TIMESTAMPTZ) END
  FROM v WHERE bets.id = +v.id AND bets.version = +v.version AND bets.id = ANY($6)
