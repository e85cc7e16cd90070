WITH v(tx_id, account_id, amount, balance_after) AS (VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)) INSERT INTO postings (tx_id, account_id, amount, balance_after, created_at)
  SELECT tx_id, account_id, amount, balance_after, CAST($9 AS TEXT) FROM v
