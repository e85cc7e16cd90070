WITH v(kind, reference) AS (SELECT * FROM unnest(CAST($1 AS TEXT[]), CAST($2 AS TEXT[]))) INSERT INTO ledger_tx (kind, reference, created_at)
  SELECT kind, reference, CAST($3 AS TIMESTAMPTZ) FROM v
  RETURNING id, reference
