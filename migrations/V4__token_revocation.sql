-- Revoking access tokens before they expire (docs/API.md, Authentication): log out revokes
-- the presented token, a password change every token issued before it.
--
-- Tokens stay stateless JWTs; every authenticated request checks these two facts on a
-- server that has the user's latest write (the read-your-writes fence), so a revocation
-- holds at once on every backend instance and across restarts.

-- Tokens whose `iat` is before this instant are refused (NULL: none). Set by a password
-- change; the token issued with the change carries exactly this instant.
ALTER TABLE users ADD COLUMN tokens_valid_from timestamptz;

-- Single logged-out tokens, by their signature (the JWT's third part: unique per token and
-- no secret, since the token is dead). Rows are useless after `expires_at` (the token's own
-- `exp`) and are deleted on the user's next logout.
CREATE TABLE revoked_tokens (
    signature  text PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_user_idx ON revoked_tokens (user_id);
