-- Account lifecycle: e-mail verification, password reset, deletion.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
-- Set when the account was deleted and its personal data anonymised; the
-- row stays because the wallet and the bets keep pointing at it.
ALTER TABLE users ADD COLUMN deleted_at TIMESTAMPTZ;

-- The current e-mail verification code of a user: only an HMAC of it under
-- a server key, so a copy of the database does not reveal live codes (a
-- 6-digit code's plain hash would be reversed by trying all 10^6).
CREATE TABLE email_codes (
    user_id    BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    attempts   INT NOT NULL DEFAULT 0,  -- wrong entries; the code dies at the limit
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- Password reset links: only the SHA-256 of the random token is kept.
CREATE TABLE password_resets (
    digest     TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX password_resets_user ON password_resets(user_id);

-- When mail was last sent for a key ('verify:<username>', 'reset:<e-mail>'),
-- whether or not the account exists, so the 60-second resend rule answers
-- the same for every name and cannot be used to find accounts.
CREATE TABLE mail_throttle (
    key     TEXT PRIMARY KEY,
    sent_at TIMESTAMPTZ NOT NULL
);
