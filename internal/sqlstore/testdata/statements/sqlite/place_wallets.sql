SELECT user_id, id FROM accounts WHERE user_id IN ($1, $2)
