INSERT INTO idempotency_keys (owner, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6), ($7, $8, $9, $10, $11, $12)
  ON CONFLICT DO NOTHING RETURNING owner, key
