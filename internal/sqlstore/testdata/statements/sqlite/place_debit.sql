WITH v(account_id, stake) AS (VALUES ($1, $2), ($3, $4)) UPDATE balances SET amount = balances.amount - v.stake FROM v
  WHERE balances.account_id = +v.account_id AND balances.shard = 0 AND balances.amount >= v.stake
  RETURNING balances.account_id, balances.amount
