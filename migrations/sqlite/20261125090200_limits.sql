-- Responsible play. A player's self-set stake limits and their block
-- (cool-off or self-exclusion), one row per player who ever set either.
-- A looser limit waits in *_next until *_next_at; *_next NULL with a
-- *_next_at is a pending removal.
CREATE TABLE play_limits (
    user_id          BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    daily            BIGINT,
    daily_next       BIGINT,
    daily_next_at    TEXT,
    weekly           BIGINT,
    weekly_next      BIGINT,
    weekly_next_at   TEXT,
    monthly          BIGINT,
    monthly_next     BIGINT,
    monthly_next_at  TEXT,
    block_kind       TEXT CHECK (block_kind IN ('cooloff', 'self_exclusion')),
    block_started_at TEXT,
    block_ends_at    TEXT,
    updated_at       TEXT NOT NULL
);

-- What each player staked in their current day, ISO week and month (keys
-- like '2026-11-24', '2026-11-23' for the Monday, '2026-11', in the
-- player's time zone). Placement checks and increments it with one
-- conditional upsert, so concurrent bets cannot pass a limit together.
-- Kept for every player, so a limit set mid-period counts the stakes
-- already placed in it.
CREATE TABLE stake_tally (
    user_id      BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    day          TEXT NOT NULL,
    day_amount   BIGINT NOT NULL,
    week         TEXT NOT NULL,
    week_amount  BIGINT NOT NULL,
    month        TEXT NOT NULL,
    month_amount BIGINT NOT NULL
);

-- One row per login, for the sessions count of the activity statement.
CREATE TABLE login_events (
    id      INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at      TEXT NOT NULL
);
CREATE INDEX login_events_user ON login_events(user_id, at);
