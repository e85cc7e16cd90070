-- The match rooms' chat: messages numbered per room (chat_rooms.last_id
-- hands out the next id in the posting transaction), reports (one per
-- player per message), mutes, and each room's slow mode.
CREATE TABLE chat_rooms (
    match_id     BIGINT PRIMARY KEY REFERENCES matches(id),
    last_id      BIGINT NOT NULL DEFAULT 0,
    slow_seconds INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE chat_messages (
    match_id   BIGINT NOT NULL REFERENCES matches(id),
    id         BIGINT NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (match_id, id)
);

CREATE TABLE chat_reports (
    match_id    BIGINT NOT NULL,
    message_id  BIGINT NOT NULL,
    reporter_id BIGINT NOT NULL REFERENCES users(id),
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (match_id, message_id, reporter_id),
    FOREIGN KEY (match_id, message_id) REFERENCES chat_messages(match_id, id)
);
CREATE INDEX chat_reports_created ON chat_reports (created_at);

CREATE TABLE chat_mutes (
    user_id    BIGINT NOT NULL REFERENCES users(id),
    until      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    muted_by   TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX chat_mutes_user ON chat_mutes (user_id, until);

-- A player's personal events (bet settled, points credited, limit
-- changed), written in the transaction of the change so none is lost
-- while the player is offline; the live event is published after commit.
CREATE TABLE notices (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notices_user ON notices (user_id, id);
