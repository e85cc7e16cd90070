-- Accounts and sessions.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE,   -- lower-cased: availability is case-insensitive
    nickname      TEXT NOT NULL,
    nickname_key  TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('player', 'admin')),
    time_zone     TEXT NOT NULL DEFAULT 'Asia/Seoul',
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    digest     TEXT PRIMARY KEY,          -- SHA-256 of the token; the token itself is never stored
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Ledger.
CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('player', 'house', 'programme')),
    code       TEXT NOT NULL UNIQUE,      -- 'house', 'programme:signup', 'player:<user id>'
    user_id    BIGINT UNIQUE REFERENCES users(id),
    created_at TEXT NOT NULL
);

-- A balance is the sum of its shards. Player wallets use shard 0 only, so
-- the no-overdraft check is one conditional UPDATE; operator accounts are
-- spread over shards so that every stake flowing into the one house
-- account does not serialise on a single row.
CREATE TABLE balances (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    shard      INT NOT NULL,
    amount     BIGINT NOT NULL,
    PRIMARY KEY (account_id, shard)
);

CREATE TABLE ledger_tx (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    reference  TEXT NOT NULL UNIQUE,      -- one movement per cause, ever
    created_at TEXT NOT NULL
);

CREATE TABLE postings (
    id            INTEGER PRIMARY KEY,
    tx_id         BIGINT NOT NULL REFERENCES ledger_tx(id),
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    amount        BIGINT NOT NULL CHECK (amount <> 0),
    balance_after BIGINT,                 -- set for player wallets, for statements
    created_at    TEXT NOT NULL
);
CREATE INDEX postings_account ON postings(account_id, id);
CREATE INDEX postings_tx ON postings(tx_id);

CREATE TABLE idempotency_keys (
    owner        TEXT NOT NULL,           -- 'user:<id>', 'partner:<id>'
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INT NOT NULL,
    body         BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- Catalog.
CREATE TABLE leagues (
    id           INTEGER PRIMARY KEY,
    sport        TEXT NOT NULL,
    name         TEXT NOT NULL,
    external_ref TEXT UNIQUE
);

CREATE TABLE teams (
    id           INTEGER PRIMARY KEY,
    sport        TEXT NOT NULL,
    name         TEXT NOT NULL,
    external_ref TEXT UNIQUE
);

CREATE TABLE matches (
    id           INTEGER PRIMARY KEY,
    sport        TEXT NOT NULL,
    league_id    BIGINT NOT NULL REFERENCES leagues(id),
    home_id      BIGINT NOT NULL REFERENCES teams(id),
    away_id      BIGINT NOT NULL REFERENCES teams(id),
    kickoff_at   TEXT NOT NULL,
    state        TEXT NOT NULL,
    result_id    BIGINT,                  -- the result in force
    settle_pending INTEGER NOT NULL DEFAULT 0, -- a result not yet applied to every bet
    locked       INTEGER NOT NULL DEFAULT 0,
    external_ref TEXT UNIQUE,
    updated_at   TEXT NOT NULL
);
CREATE INDEX matches_kickoff ON matches(kickoff_at);

-- Every result a match ever had, newest wins; corrections keep history.
CREATE TABLE match_results (
    id                INTEGER PRIMARY KEY,
    match_id          BIGINT NOT NULL REFERENCES matches(id),
    outcome           TEXT NOT NULL CHECK (outcome IN ('result', 'void')),
    home              INT,
    away              INT,
    reg_home          INT,
    reg_away          INT,
    source            TEXT NOT NULL,
    provider_match_id TEXT,
    status            TEXT NOT NULL,
    fetched_at        TEXT NOT NULL,
    actor             TEXT,
    reason            TEXT,
    created_at        TEXT NOT NULL
);
CREATE INDEX match_results_match ON match_results(match_id, id);

CREATE TABLE markets (
    id       INTEGER PRIMARY KEY,
    match_id BIGINT NOT NULL REFERENCES matches(id),
    kind     TEXT NOT NULL CHECK (kind IN ('1x2', 'moneyline', 'total', 'handicap')),
    line     BIGINT,                      -- hundredths
    open     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX markets_match ON markets(match_id);

CREATE TABLE selections (
    id          INTEGER PRIMARY KEY,
    market_id   BIGINT NOT NULL REFERENCES markets(id),
    name        TEXT NOT NULL,
    odds        BIGINT NOT NULL,          -- hundredths, never a float
    implied_ppm BIGINT NOT NULL,          -- margin-free probability, parts per million
    UNIQUE (market_id, name)
);

CREATE TABLE odds_versions (
    id           INTEGER PRIMARY KEY,
    selection_id BIGINT NOT NULL REFERENCES selections(id),
    odds         BIGINT NOT NULL,
    implied_ppm  BIGINT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX odds_versions_selection ON odds_versions(selection_id, id);

-- Bets.
CREATE TABLE bets (
    id               INTEGER PRIMARY KEY,
    user_id          BIGINT NOT NULL REFERENCES users(id),
    account_id       BIGINT NOT NULL REFERENCES accounts(id),
    stake            BIGINT NOT NULL CHECK (stake > 0),
    odds             BIGINT NOT NULL,
    potential_payout BIGINT NOT NULL,
    odds_policy      TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('open', 'won', 'lost', 'void')),
    payout           BIGINT NOT NULL DEFAULT 0,
    version          INT NOT NULL DEFAULT 0,  -- settlements applied; guards exactly-once
    placed_at        TEXT NOT NULL,
    settled_at       TEXT
);
CREATE INDEX bets_user ON bets(user_id, id);
CREATE INDEX bets_open ON bets(state) WHERE state = 'open';

CREATE TABLE bet_legs (
    bet_id         BIGINT NOT NULL REFERENCES bets(id),
    leg_no         INT NOT NULL,
    match_id       BIGINT NOT NULL REFERENCES matches(id),
    market_id      BIGINT NOT NULL REFERENCES markets(id),
    selection_id   BIGINT NOT NULL REFERENCES selections(id),
    market_kind    TEXT NOT NULL,
    selection_name TEXT NOT NULL,
    line           BIGINT,
    odds           BIGINT NOT NULL,
    implied_ppm    BIGINT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('open', 'won', 'lost', 'void', 'push')),
    result_id      BIGINT REFERENCES match_results(id),
    rule           TEXT,
    PRIMARY KEY (bet_id, leg_no)
);
CREATE INDEX bet_legs_match ON bet_legs(match_id, bet_id);

-- One row per settlement or correction of a bet: the receipt history.
CREATE TABLE settlements (
    id         INTEGER PRIMARY KEY,
    bet_id     BIGINT NOT NULL REFERENCES bets(id),
    version    INT NOT NULL,
    state      TEXT NOT NULL,
    payout     BIGINT NOT NULL,
    delta      BIGINT NOT NULL,
    reason     TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (bet_id, version)
);
