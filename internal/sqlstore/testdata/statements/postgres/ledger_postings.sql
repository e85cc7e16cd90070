WITH v(tx_id, account_id, amount, balance_after) AS (SELECT * FROM unnest(CAST($1 AS BIGINT[]), CAST($2 AS BIGINT[]), CAST($3 AS BIGINT[]), CAST($4 AS BIGINT[]))) INSERT INTO postings (tx_id, account_id, amount, balance_after, created_at)
  SELECT tx_id, account_id, amount, balance_after, CAST($5 AS TIMESTAMPTZ) FROM v
