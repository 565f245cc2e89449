//! Account lifecycle: deactivated accounts (`users.deactivated_at`, V5) and the instant before
//! which a user's tokens are refused (`users.tokens_valid_from`, V4).
//!
//! The API sets `tokens_valid_from` to "now + 1 s" on a password change and on a deactivation
//! (`usecase::auth::change_password`, `usecase::account_admin::set_active`), so the seeder
//! does the same: a deactivated account's `tokens_valid_from` is one second after its
//! `deactivated_at`, a password change's is one second after the change.
//!
//! Who is never touched: the known accounts (tests and the load generator log in as them).
//! The load generator's other students are any `student` whose email matches
//! `%@example.%` (`loadtest/src/cli.rs`), so a deactivated student's address is at
//! [`DEACTIVATED_DOMAIN`] instead, which that pattern does not match (see `people.rs`).
//! A `tokens_valid_from` is always at or before the anchor: login issues tokens from it.

use fake::rand::RngExt;

use super::{Application, Certificate, Post, Purchase, Review, Submission, Track, User};
use crate::{
    accounts::{KnownAccount, Position},
    plan::{DAY, HOUR, Timeline},
    rng::SeedRng,
};

/// Share of (non-known) students whose account an admin switched off.
pub const DEACTIVATED_STUDENT_SHARE: f64 = 0.03;
/// Share of (non-known) support staff who left and whose account was switched off. Only
/// support: they hold no course role and write no posts, so no page loses anyone, and the
/// admins are never all deactivated (the API refuses that).
pub const DEACTIVATED_SUPPORT_SHARE: f64 = 0.15;
/// Share of the remaining active (non-known) users who changed their password once. Bulk
/// users keep the bulk hash (they "changed" to the same documented password), so they can
/// still log in.
pub const PASSWORD_CHANGE_SHARE: f64 = 0.07;
/// A deactivation comes at least this long after the user's last recorded activity, and
/// nobody active in the last week is deactivated (no pending purchase is left dangling).
pub const QUIET_BEFORE_DEACTIVATION: i64 = 7 * DAY;

/// The domain of a deactivated student's email: not `example.*`, so the load generator,
/// which logs in as students matching `%@example.%`, never picks one.
pub const DEACTIVATED_DOMAIN: &str = "inactive.example.org";

/// One user's account state at the anchor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub deactivated: Option<i64>,
    pub tokens_valid_from: Option<i64>,
}

/// Everything a user did that the data records, to place a deactivation after it.
pub(super) struct Activity<'a> {
    pub purchases: &'a [Purchase],
    pub reviews: &'a [Review],
    pub certificates: &'a [Certificate],
    pub tracks: &'a [Track],
    pub applications: &'a [Application],
    pub posts: &'a [Post],
    pub submissions: &'a [Submission],
}

impl Activity<'_> {
    /// The latest recorded instant of each user (index `id - 1`), at least their registration.
    fn last_per_user(&self, users: &[User]) -> Vec<i64> {
        let mut last: Vec<i64> = users.iter().map(|u| u.created).collect();
        let mut see = |user: u32, t: i64| {
            let slot = &mut last[user as usize - 1];
            *slot = (*slot).max(t);
        };
        for p in self.purchases {
            for t in [Some(p.created), p.paid, p.cancelled, p.refunded]
                .into_iter()
                .flatten()
            {
                see(p.user, t);
            }
        }
        for r in self.reviews {
            see(r.user, r.created);
        }
        for c in self.certificates {
            see(c.user, c.issued);
        }
        for t in self.tracks {
            see(t.user, t.created);
        }
        for a in self.applications {
            see(self.tracks[a.track as usize - 1].user, a.created);
        }
        for p in self.posts {
            see(p.author, p.published.unwrap_or(p.created).max(p.created));
        }
        for s in self.submissions {
            see(s.user, s.created);
        }
        last
    }
}

/// The lifecycle of every user (index `id - 1`).
pub(super) fn build_lifecycle(
    users: &[User],
    known: &[KnownAccount],
    activity: &Activity<'_>,
    time: &Timeline,
    rng: &mut SeedRng,
) -> Vec<Lifecycle> {
    let last = activity.last_per_user(users);
    let mut protected = vec![false; users.len()];
    for k in known {
        protected[k.user_id as usize - 1] = true;
    }
    let quiet = |last: i64| last <= time.now - QUIET_BEFORE_DEACTIVATION;
    // Only quiet users can be deactivated, and recent buyers are many: the chance among
    // the quiet is raised so the share holds over all users of the kind.
    let share = |position: Option<Position>| match position {
        None => DEACTIVATED_STUDENT_SHARE,
        Some(Position::Support) => DEACTIVATED_SUPPORT_SHARE,
        Some(_) => 0.0,
    };
    let mut kinds: std::collections::HashMap<Option<Position>, (f64, f64)> = Default::default();
    for ((user, &last), &protected) in users.iter().zip(&last).zip(&protected) {
        let (all, eligible) = kinds.entry(user.position).or_default();
        *all += 1.0;
        *eligible += f64::from(u8::from(quiet(last) && !protected));
    }
    let chance = |position: Option<Position>| {
        let (all, eligible) = kinds[&position];
        (share(position) * all / eligible.max(1.0)).min(1.0)
    };
    users
        .iter()
        .zip(last)
        .zip(protected)
        .map(|((user, last), protected)| {
            // Drawn for every user, so one user's fate never shifts another's.
            let (deactivate, change, a, b) = (
                rng.random::<f64>(),
                rng.random::<f64>(),
                rng.random::<f64>(),
                rng.random::<f64>(),
            );
            if protected {
                return Lifecycle::default();
            }
            let earliest = last + DAY;
            if quiet(last) && deactivate < chance(user.position) {
                let at = earliest + ((time.now - HOUR - earliest) as f64 * a) as i64;
                return Lifecycle {
                    deactivated: Some(at),
                    tokens_valid_from: Some(at + 1),
                };
            }
            let from = user.created + DAY;
            if change < PASSWORD_CHANGE_SHARE && from < time.now - HOUR {
                let at = from + ((time.now - HOUR - from) as f64 * b) as i64;
                return Lifecycle {
                    deactivated: None,
                    tokens_valid_from: Some(at + 1),
                };
            }
            Lifecycle::default()
        })
        .collect()
}
