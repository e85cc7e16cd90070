WITH v(account_id, delta) AS (SELECT * FROM unnest(CAST($1 AS BIGINT[]), CAST($2 AS BIGINT[]))) UPDATE balances SET amount = balances.amount + v.delta FROM v
  WHERE balances.account_id = +v.account_id AND balances.shard = 0 AND balances.account_id = ANY($3)
  RETURNING balances.account_id, balances.amount
