WITH v(bet_id, version, state, payout, delta) AS (VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)) INSERT INTO settlements (bet_id, version, state, payout, delta, reason, created_at)
  SELECT bet_id, version, state, payout, delta, CAST($11 AS TEXT), CAST($12 AS TEXT) FROM v
