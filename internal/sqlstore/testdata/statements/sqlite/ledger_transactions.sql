WITH v(kind, reference) AS (VALUES ($1, $2), ($3, $4)) INSERT INTO ledger_tx (kind, reference, created_at)
  SELECT kind, reference, CAST($5 AS TEXT) FROM v
  RETURNING id, reference
