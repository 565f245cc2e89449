//! Known logins: documented accounts per role with known passwords and real argon2id hashes.
//!
//! Each distinct password is hashed once (argon2id, default parameters, PHC string) and the
//! hash is shared by every user with that password; bulk users all share
//! [`BULK_PASSWORD`]. Salts come from the seed, so the hashes, like all data, are identical
//! for the same seed.

use argon2::{Argon2, PasswordHasher, password_hash::SaltString};
use fake::rand::RngExt;

use crate::rng;

/// A staff member's job; `staff_position` in `users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Position {
    Teacher,
    Mentor,
    Reviewer,
    Support,
    Smm,
    Admin,
}

impl Position {
    pub const ALL: [Position; 6] = [
        Self::Teacher,
        Self::Mentor,
        Self::Reviewer,
        Self::Support,
        Self::Smm,
        Self::Admin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Teacher => "teacher",
            Self::Mentor => "mentor",
            Self::Reviewer => "reviewer",
            Self::Support => "support",
            Self::Smm => "smm",
            Self::Admin => "admin",
        }
    }
}

/// The password of every user that is not a known account.
pub const BULK_PASSWORD: &str = "lyceum-password";

/// Known accounts per kind: `(position or None for students, how many, password)`.
/// Emails are `<kind><n>@lyceum.test`, e.g. `student3@lyceum.test`, `smm1@lyceum.test`.
pub const KNOWN_ACCOUNTS: &[(Option<Position>, u32, &str)] = &[
    (None, 5, "student-password"),
    (Some(Position::Teacher), 2, "teacher-password"),
    (Some(Position::Mentor), 1, "mentor-password"),
    (Some(Position::Reviewer), 1, "reviewer-password"),
    (Some(Position::Support), 1, "support-password"),
    (Some(Position::Smm), 1, "smm-password"),
    (Some(Position::Admin), 1, "admin-password"),
];

/// Every distinct password; index 0 is the bulk password, then one per known kind.
pub fn passwords() -> Vec<&'static str> {
    std::iter::once(BULK_PASSWORD)
        .chain(KNOWN_ACCOUNTS.iter().map(|(_, _, p)| *p))
        .collect()
}

/// One documented login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownAccount {
    pub user_id: u32,
    pub email: String,
    /// Index into [`passwords`].
    pub password: usize,
    /// `student` or the staff position.
    pub kind: &'static str,
}

impl KnownAccount {
    pub fn password_text(&self) -> &'static str {
        passwords()[self.password]
    }
}

/// Picks the first users of each kind (by id) as the known accounts.
pub fn pick_known(positions: &[Option<Position>]) -> Vec<KnownAccount> {
    let mut known = Vec::new();
    for (k, &(kind, count, _)) in KNOWN_ACCOUNTS.iter().enumerate() {
        let label = kind.map_or("student", Position::code);
        let ids = positions
            .iter()
            .enumerate()
            .filter(|(_, p)| **p == kind)
            .take(count as usize);
        for (n, (i, _)) in ids.enumerate() {
            known.push(KnownAccount {
                user_id: i as u32 + 1,
                email: format!("{label}{}@lyceum.test", n + 1),
                password: k + 1,
                kind: label,
            });
        }
    }
    known
}

/// argon2id PHC strings for [`passwords`], in the same order; salts derived from `seed`.
pub fn hash_passwords(seed: u64) -> Vec<String> {
    passwords()
        .iter()
        .map(|password| {
            let mut salt_rng = rng::stream(seed, &format!("salt:{password}"));
            let mut salt = [0u8; 16];
            for b in &mut salt {
                *b = salt_rng.random();
            }
            hash_with_salt(password, &salt)
        })
        .collect()
}

fn hash_with_salt(password: &str, salt: &[u8; 16]) -> String {
    // Both steps only fail for out-of-range lengths, which these constants never are.
    #[allow(clippy::expect_used)]
    let salt = SaltString::encode_b64(salt).expect("16-byte salt encodes");
    #[allow(clippy::expect_used)]
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 accepts the password")
        .to_string();
    hash
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHash, PasswordVerifier};

    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hashes = hash_passwords(1);
        assert_eq!(hashes.len(), passwords().len());
        for (hash, password) in hashes.iter().zip(passwords()) {
            assert!(hash.starts_with("$argon2id$"), "{hash}");
            let parsed = PasswordHash::new(hash).expect("PHC string");
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .expect("verifies");
            assert!(
                Argon2::default()
                    .verify_password(b"wrong", &parsed)
                    .is_err()
            );
        }
        assert_eq!(hashes, hash_passwords(1), "same seed, same salts");
    }

    #[test]
    fn known_accounts_cover_every_kind() {
        let mut positions = vec![None; 50];
        for (i, p) in Position::ALL.iter().enumerate() {
            positions[i * 3] = Some(*p);
            positions[i * 3 + 1] = Some(*p);
        }
        let known = pick_known(&positions);
        for kind in [
            "student", "teacher", "mentor", "reviewer", "support", "smm", "admin",
        ] {
            assert!(known.iter().any(|k| k.kind == kind), "{kind}");
        }
        assert!(known.iter().any(|k| k.email == "student5@lyceum.test"));
        assert!(known.iter().any(|k| k.email == "teacher2@lyceum.test"));
    }
}
