INSERT INTO bets (id, user_id, account_id, stake, odds, potential_payout, odds_policy, state, placed_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9), ($10, $11, $12, $13, $14, $15, $16, $17, $18)
