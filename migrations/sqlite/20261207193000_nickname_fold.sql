-- Nicknames are unique by their fold key (NFKC with case folding), so
-- "ＫＩＭ" is taken when "kim" is; nickname_key only lower-cases. SQL
-- cannot compute the key the way the Go code does, so existing rows are
-- filled in by the store right after the migrations run (sqlstore's
-- backfillNicknameFolds); a row whose key another row already holds keeps
-- NULL, which the unique index allows, and keeps its nickname.
ALTER TABLE users ADD COLUMN nickname_fold TEXT;
CREATE UNIQUE INDEX users_nickname_fold ON users(nickname_fold);
