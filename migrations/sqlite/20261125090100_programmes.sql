-- Points programmes. Every credit is a ledger transaction with a unique
-- reference; these tables hold what the rules need between credits.

-- One row per player who used a programme, locked by each top-up and
-- check-in so that concurrent requests of one player queue on it.
CREATE TABLE programme_state (
    user_id          BIGINT PRIMARY KEY REFERENCES users(id),
    topups           INT NOT NULL DEFAULT 0,   -- the n of reference topup:<user>:<n>
    last_topup_at    TEXT,
    checkin_streak   INT NOT NULL DEFAULT 0,
    last_checkin_day TEXT                      -- YYYY-MM-DD in the player's zone
);

CREATE TABLE partners (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    rate_num          BIGINT NOT NULL CHECK (rate_num > 0),  -- points = floor(mileage * num / den)
    rate_den          BIGINT NOT NULL CHECK (rate_den > 0),
    daily_cap         BIGINT NOT NULL CHECK (daily_cap > 0), -- points per player per KST day
    secret_sealed     BLOB NOT NULL,                         -- AES-GCM under the secrets key
    created_at        TEXT NOT NULL,
    secret_rotated_at TEXT NOT NULL,
    disabled_at       TEXT
);

-- One row per credited partner transaction: the partner's id for it is
-- unique, which makes a retry return the first answer.
CREATE TABLE partner_credits (
    id            INTEGER PRIMARY KEY,
    partner_id    TEXT NOT NULL REFERENCES partners(id),
    partner_tx_id TEXT NOT NULL,
    user_id       BIGINT NOT NULL REFERENCES users(id),
    username      TEXT NOT NULL,
    mileage       BIGINT NOT NULL,
    points        BIGINT NOT NULL CHECK (points > 0),
    day           TEXT NOT NULL,                -- KST day, for the daily cap
    created_at    TEXT NOT NULL,
    UNIQUE (partner_id, partner_tx_id)
);
CREATE INDEX partner_credits_cap ON partner_credits(partner_id, user_id, day);

CREATE TABLE grants (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    admin_id   BIGINT NOT NULL REFERENCES users(id),
    points     BIGINT NOT NULL CHECK (points > 0),
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX grants_user ON grants(user_id, id);
