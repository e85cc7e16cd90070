-- OpenID Connect sign-in: a player is found by the issuer's (iss, sub)
-- pair, never by e-mail, so an identity provider cannot claim an existing
-- password account by asserting its address.
ALTER TABLE users ADD COLUMN nickname_confirmed INTEGER NOT NULL DEFAULT 1; -- 0: the provisional nickname of a first OIDC sign-in

CREATE TABLE user_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities(user_id);
