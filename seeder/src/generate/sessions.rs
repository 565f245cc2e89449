//! Sign-in sessions: refresh-token families (`refresh_tokens`, V6) and the logged-out access
//! tokens still on record (`revoked_tokens`, V4), shaped like the rows the API writes
//! (`backend/src/usecase/refresh_token.rs`, `usecase/auth.rs`).
//!
//! A login starts a family; each exchange marks the presented token used (`used_at`) and
//! issues the next, so a family is a chain whose older tokens are used and whose newest is
//! not. A refresh token lives 30 days, an access token one hour. Log out revokes the
//! presented access token (a `revoked_tokens` row until its `exp`) and ends its family
//! (`revoked_at` on every token); a used token presented again (reuse) ends the family too.
//! Each of those also deletes the user's expired refresh tokens, and each log out the user's
//! expired `revoked_tokens` rows, so what remains is what the API would have left.
//!
//! Only the last [`WINDOW`] is modelled: older families are gone or long expired.

use fake::rand::RngExt;

use super::{Lifecycle, RowSink, User, World};
use crate::{
    copy::{RowWriter, Stopped},
    plan::{DAY, HOUR, Timeline},
    rng::{SeedRng, Weighted},
};

/// `auth.refresh_token_ttl_s`: a refresh token is good for 30 days.
pub const REFRESH_TTL: i64 = 30 * DAY;
/// `auth.token_ttl_s`: an access token is good for one hour.
pub const ACCESS_TTL: i64 = HOUR;
/// Families start in the last 45 days, so some have expired without being exchanged.
pub const WINDOW: i64 = 45 * DAY;
/// Share of students, and of staff, who signed in during the window.
pub const RECENT_STUDENT_SHARE: f64 = 0.35;
pub const RECENT_STAFF_SHARE: f64 = 0.9;
/// Families (devices) of a user who signed in: 1, 2 or 3 with these weights.
pub const FAMILY_WEIGHTS: [f64; 3] = [60.0, 30.0, 10.0];
/// After each token, the chance the client comes back for another: chains average 5 tokens.
pub const REFRESH_CONTINUES: f64 = 0.8;
pub const MAX_CHAIN: usize = 60;
/// How a family ended: logged out, or a copied token came back (reuse); the rest are live
/// or expired.
pub const LOGOUT_SHARE: f64 = 0.15;
pub const REUSE_SHARE: f64 = 0.01;

/// One stored refresh token; tokens of a family are consecutive and in issue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshToken {
    pub user: u32,
    /// Numbers the family (its random `family_id` is drawn when the rows are written).
    pub family: u32,
    pub family_started: i64,
    /// When it was issued (login or exchange); `expires_at` is 30 days later.
    pub issued: i64,
    /// When it was exchanged: the next token's `issued`.
    pub used: Option<i64>,
    pub revoked: Option<i64>,
}

impl RefreshToken {
    pub fn expires(&self) -> i64 {
        self.issued + REFRESH_TTL
    }
}

/// A logged-out access token, kept until the user's next log out after its `exp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedToken {
    pub user: u32,
    pub expires: i64,
}

#[derive(Debug, Default)]
pub struct Sessions {
    pub refresh: Vec<RefreshToken>,
    pub revoked: Vec<RevokedToken>,
}

/// The sessions of every user, in user order.
pub(super) fn build_sessions(
    users: &[User],
    lifecycle: &[Lifecycle],
    time: &Timeline,
    rng: &mut SeedRng,
) -> Sessions {
    let families_per_user = Weighted::new(FAMILY_WEIGHTS);
    let mut out = Sessions::default();
    let mut family = 0u32;
    for (i, (user, life)) in users.iter().zip(lifecycle).enumerate() {
        let id = i as u32 + 1;
        // A deactivated account signs in no more; refreshes stop at the deactivation.
        let end = life.deactivated.unwrap_or(time.now);
        let from = (time.now - WINDOW).max(user.created);
        let share = match user.position {
            Some(_) => RECENT_STAFF_SHARE,
            None => RECENT_STUDENT_SHARE,
        };
        let mut starts = Vec::new();
        if rng.random_bool(share) && end > from {
            for _ in 0..=families_per_user.sample(rng) {
                starts.push(rng.random_range(from..end));
            }
        }
        // A password change hands out a new family starting at `tokens_valid_from`.
        if let (Some(p), None) = (life.tokens_valid_from, life.deactivated)
            && p >= from
        {
            starts.push(p);
        }
        starts.sort_unstable();

        let (first, first_revoked) = (out.refresh.len(), out.revoked.len());
        let (mut last_end, mut last_logout) = (i64::MIN, i64::MIN);
        for start in starts {
            // Tokens issued before `tokens_valid_from` cannot be exchanged any more.
            let limit = match life.tokens_valid_from {
                Some(p) if p > start => end.min(p - 1),
                _ => end,
            };
            let chain = chain(start, limit, rng);
            let newest = chain[chain.len() - 1];
            let how = rng.random::<f64>();
            let ended = if how < LOGOUT_SHARE {
                // Log out presents the access token issued with the newest refresh token.
                let at = newest + rng.random_range(60..ACCESS_TTL);
                (at <= limit).then(|| {
                    out.revoked.push(RevokedToken {
                        user: id,
                        expires: newest + ACCESS_TTL,
                    });
                    last_logout = at;
                    at
                })
            } else if how < LOGOUT_SHARE + REUSE_SHARE && chain.len() >= 2 {
                let at = newest + rng.random_range(60..2 * DAY);
                (at <= limit).then_some(at)
            } else {
                None
            };
            if let Some(at) = ended {
                last_end = last_end.max(at);
            }
            for (k, &issued) in chain.iter().enumerate() {
                out.refresh.push(RefreshToken {
                    user: id,
                    family,
                    family_started: start,
                    issued,
                    used: chain.get(k + 1).copied(),
                    revoked: ended,
                });
            }
            family += 1;
        }
        // The deletions the user's last log out (or reuse) made.
        if last_end > i64::MIN {
            let mine = out.refresh.split_off(first);
            out.refresh
                .extend(mine.into_iter().filter(|t| t.expires() >= last_end));
            let mine = out.revoked.split_off(first_revoked);
            out.revoked
                .extend(mine.into_iter().filter(|r| r.expires >= last_logout));
        }
    }
    out
}

/// Issue times of one family from `start` (the login) on, none after `limit`: the client
/// comes back after its access token expired, an hour to five days later (log-uniform).
fn chain(start: i64, limit: i64, rng: &mut SeedRng) -> Vec<i64> {
    let mut issued = vec![start];
    while issued.len() < MAX_CHAIN && rng.random_bool(REFRESH_CONTINUES) {
        let gap = (HOUR as f64 * (120.0f64).powf(rng.random::<f64>())) as i64;
        let next = issued[issued.len() - 1] + gap;
        if next > limit {
            break;
        }
        issued.push(next);
    }
    issued
}

pub(super) const REFRESH_TOKEN_COLUMNS: &[&str] = &[
    "token_hash",
    "family_id",
    "user_id",
    "family_started_at",
    "expires_at",
    "used_at",
    "revoked_at",
];

/// The hash is 32 random bytes (a SHA-256 of a random token is indistinguishable from one),
/// the family id 128 random bits in hex, as `access_token::random_hex(16)` makes it.
pub(super) fn write_refresh_tokens<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    let mut family_id = String::new();
    let mut current = None;
    for t in &world.sessions.refresh {
        if current != Some(t.family) {
            current = Some(t.family);
            family_id = random_hex(rng, 16);
        }
        let hash: [u8; 32] = rng.random();
        out.begin()
            .bytes(&hash)
            .text(&family_id)
            .i64(i64::from(t.user))
            .ts(t.family_started)
            .ts(t.expires())
            .opt_ts(t.used)
            .opt_ts(t.revoked);
        out.end()?;
    }
    Ok(())
}

pub(super) const REVOKED_TOKEN_COLUMNS: &[&str] = &["signature", "user_id", "expires_at"];

/// The signature of an HS256 JWT: 32 bytes, base64url without padding (43 characters).
pub(super) fn write_revoked_tokens<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for r in &world.sessions.revoked {
        let signature: [u8; 32] = rng.random();
        out.begin()
            .text(&base64url(&signature))
            .i64(i64::from(r.user))
            .ts(r.expires);
        out.end()?;
    }
    Ok(())
}

pub(super) fn random_hex(rng: &mut SeedRng, bytes: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        let b: u8 = rng.random();
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// Base64url without padding (RFC 4648 §5), as JWTs encode their parts.
pub(super) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=group.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
