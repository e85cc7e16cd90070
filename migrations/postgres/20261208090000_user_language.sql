-- The language a signed-in player chose for pages and messages: 'ko' or
-- 'en'. Empty means not chosen, so the browser's Accept-Language decides.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
