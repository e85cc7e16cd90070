WITH v(account_id, delta) AS (VALUES ($1, $2), ($3, $4)) UPDATE balances SET amount = balances.amount + v.delta FROM v
  WHERE balances.account_id = +v.account_id AND balances.shard = 0
  RETURNING balances.account_id, balances.amount
