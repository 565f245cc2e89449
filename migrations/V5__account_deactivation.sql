-- Deactivated accounts (docs/API.md, Staff administration): an admin switches an account off
-- instead of deleting it, so its purchases, reviews, posts and certificates stay.
--
-- NULL: active. While set, login is refused and every token of the user is refused by the
-- revocation check (`SessionRepository::token_valid`), on every instance at once. Reactivation
-- clears it; tokens issued before the deactivation stay dead (`tokens_valid_from` is moved
-- with it).
ALTER TABLE users ADD COLUMN deactivated_at timestamptz;
