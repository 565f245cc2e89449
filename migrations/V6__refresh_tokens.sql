-- Refresh tokens (docs/API.md, Authentication): a login starts a *family*; each refresh uses
-- the presented token up and issues the next one of the same family (rotation). A token used
-- twice means it was copied: the whole family is ended, the thief's copy and the owner's
-- alike, and both must log in again.
--
-- Only a SHA-256 of each token is stored, so a copy of this table opens no session.
CREATE TABLE refresh_tokens (
    token_hash        bytea PRIMARY KEY,
    -- 128 random bits in hex, also carried by the family's access tokens (`sid`), so log
    -- out can end the family of the token it is given.
    family_id         text NOT NULL,
    user_id           bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- When the family's login happened (the access token's `iat`), copied to every token of
    -- the family: a password change, role change or deactivation (`users.tokens_valid_from`)
    -- ends every family started before it, however recently it was rotated.
    family_started_at timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    -- Set when the token is exchanged; a second exchange is reuse.
    used_at           timestamptz,
    -- Set on every token of a family ended by reuse or log out.
    revoked_at        timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
