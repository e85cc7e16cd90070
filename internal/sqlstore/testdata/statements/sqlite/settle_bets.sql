WITH v(id, state, payout, version) AS (VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)) UPDATE bets SET state = v.state, payout = v.payout, version = bets.version + 1,
    settled_at = CASE WHEN v.state = 'open' THEN NULL ELSE CAST($9 AS TEXT) END
  FROM v WHERE bets.id = +v.id AND bets.version = +v.version
