INSERT INTO ledger_tx (id, kind, reference, created_at) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)
