WITH v(i, id, uid, stake, odds, potential, policy, day, week, month, cap_d, cap_w, cap_m, owner, key, hash, status, body, ref) AS (SELECT * FROM unnest(CAST($1 AS BIGINT[]), CAST($2 AS BIGINT[]), CAST($3 AS BIGINT[]), CAST($4 AS BIGINT[]), CAST($5 AS BIGINT[]), CAST($6 AS BIGINT[]), CAST($7 AS TEXT[]), CAST($8 AS TEXT[]), CAST($9 AS TEXT[]), CAST($10 AS TEXT[]), CAST($11 AS BIGINT[]), CAST($12 AS BIGINT[]), CAST($13 AS BIGINT[]), CAST($14 AS TEXT[]), CAST($15 AS TEXT[]), CAST($16 AS TEXT[]), CAST($17 AS BIGINT[]), CAST($18 AS BYTEA[]), CAST($19 AS TEXT[]))), lv(bet_id, leg_no, match_id, market_id, selection_id, market_kind, selection_name, line, odds, implied_ppm, state) AS (SELECT * FROM unnest(CAST($20 AS BIGINT[]), CAST($21 AS BIGINT[]), CAST($22 AS BIGINT[]), CAST($23 AS BIGINT[]), CAST($24 AS BIGINT[]), CAST($25 AS TEXT[]), CAST($26 AS TEXT[]), CAST($27 AS BIGINT[]), CAST($28 AS BIGINT[]), CAST($29 AS BIGINT[]), CAST($30 AS TEXT[]))),
  k AS (
    INSERT INTO idempotency_keys (owner, key, request_hash, status, body, created_at)
    SELECT owner, key, hash, status, body, CAST($31 AS TIMESTAMPTZ) FROM v WHERE owner IS NOT NULL
    ON CONFLICT DO NOTHING RETURNING owner, key),
  c AS (SELECT v.* FROM v WHERE v.owner IS NULL OR (v.owner, v.key) IN (SELECT owner, key FROM k)),
  g AS (INSERT INTO stake_tally (user_id, day, day_amount, week, week_amount, month, month_amount)
  SELECT uid, day, stake, week, stake, month, stake FROM c WHERE TRUE
  ON CONFLICT (user_id) DO UPDATE SET
    day_amount = CASE WHEN excluded.day > stake_tally.day THEN 0 ELSE stake_tally.day_amount END + excluded.day_amount, day = CASE WHEN excluded.day > stake_tally.day THEN excluded.day ELSE stake_tally.day END,
    week_amount = CASE WHEN excluded.week > stake_tally.week THEN 0 ELSE stake_tally.week_amount END + excluded.week_amount, week = CASE WHEN excluded.week > stake_tally.week THEN excluded.week ELSE stake_tally.week END,
    month_amount = CASE WHEN excluded.month > stake_tally.month THEN 0 ELSE stake_tally.month_amount END + excluded.month_amount, month = CASE WHEN excluded.month > stake_tally.month THEN excluded.month ELSE stake_tally.month END
  WHERE EXISTS (SELECT 1 FROM c WHERE c.uid = stake_tally.user_id AND CASE WHEN excluded.day > stake_tally.day THEN 0 ELSE stake_tally.day_amount END + excluded.day_amount <= c.cap_d AND CASE WHEN excluded.week > stake_tally.week THEN 0 ELSE stake_tally.week_amount END + excluded.week_amount <= c.cap_w AND CASE WHEN excluded.month > stake_tally.month THEN 0 ELSE stake_tally.month_amount END + excluded.month_amount <= c.cap_m) RETURNING user_id),
  d AS (
    UPDATE balances SET amount = balances.amount - c.stake
    FROM c JOIN accounts a ON a.user_id = c.uid
    WHERE balances.account_id = a.id AND balances.shard = 0 AND balances.amount >= c.stake
      AND c.uid IN (SELECT user_id FROM g)
    RETURNING c.i, balances.account_id, balances.amount),
  b AS (
    INSERT INTO bets (id, user_id, account_id, stake, odds, potential_payout, odds_policy, state, placed_at)
    SELECT c.id, c.uid, d.account_id, c.stake, c.odds, c.potential, c.policy, 'open', CAST($31 AS TIMESTAMPTZ) FROM c JOIN d ON d.i = c.i
    RETURNING id),
  l AS (
    INSERT INTO bet_legs (bet_id, leg_no, match_id, market_id, selection_id, market_kind, selection_name, line, odds, implied_ppm, state)
    SELECT bet_id, leg_no, match_id, market_id, selection_id, market_kind, selection_name, line, odds, implied_ppm, state FROM lv WHERE lv.bet_id IN (SELECT id FROM b)),
  t AS (
    INSERT INTO ledger_tx (kind, reference, created_at)
    SELECT 'stake', c.ref, CAST($31 AS TIMESTAMPTZ) FROM c JOIN b ON b.id = c.id RETURNING id, reference),
  sp AS (
    SELECT t.id AS tx_id, CASE WHEN side.house THEN CAST($32 AS BIGINT) ELSE d.account_id END AS account_id,
      CASE WHEN side.house THEN c.stake ELSE -c.stake END AS amount,
      CASE WHEN side.house THEN NULL ELSE d.amount END AS balance_after
    FROM c JOIN d ON d.i = c.i JOIN t ON t.reference = c.ref,
      (VALUES (FALSE), (TRUE)) AS side(house)
    ORDER BY c.i, side.house),
  p AS (INSERT INTO postings (tx_id, account_id, amount, balance_after, created_at)
  SELECT tx_id, account_id, amount, balance_after, CAST($31 AS TIMESTAMPTZ) FROM sp)
  SELECT v.i, EXISTS (SELECT 1 FROM c WHERE c.i = v.i), EXISTS (SELECT 1 FROM g WHERE g.user_id = v.uid),
    EXISTS (SELECT 1 FROM d WHERE d.i = v.i)
  FROM v
