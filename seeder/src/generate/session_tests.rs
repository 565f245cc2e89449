//! Account lifecycle and sign-in sessions (`users.deactivated_at`, `users.tokens_valid_from`,
//! `refresh_tokens`, `revoked_tokens`), checked without a database. Kept apart from
//! `tests.rs` so neither passes check-structure's 500 lines.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::*;
use crate::{
    accounts::Position,
    copy::MemorySink,
    plan::{DAY, Params},
};

fn world(seed: u64, scale: f64) -> World {
    let params = Params {
        seed,
        scale,
        anchor: NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
    };
    World::build(params, Lookups::as_migrated())
}

/// Every row of `table`, decoded from the binary COPY stream: one `Option<bytes>` per column.
fn rows_of(world: &World, table: Table) -> Vec<Vec<Option<Vec<u8>>>> {
    let mut sink = MemorySink::default();
    let mut writer = crate::copy::RowWriter::new(&mut sink, table.columns().len());
    let mut rng = rng::stream(world.params.seed, &format!("rows:{}", table.name()));
    match table {
        Table::Users => people::write_users(world, &mut rng, &mut writer),
        Table::RefreshTokens => sessions::write_refresh_tokens(world, &mut rng, &mut writer),
        Table::RevokedTokens => sessions::write_revoked_tokens(world, &mut rng, &mut writer),
        _ => unreachable!("only the tables these tests read"),
    }
    .expect("memory sink never stops");
    writer.finish().expect("memory sink never stops");
    let b = &sink.bytes;
    let (mut at, mut rows) = (19, Vec::new());
    let take = |at: &mut usize, n: usize| {
        let s = &b[*at..*at + n];
        *at += n;
        s
    };
    loop {
        let fields = i16::from_be_bytes(take(&mut at, 2).try_into().expect("2 bytes"));
        if fields < 0 {
            break;
        }
        let row = (0..fields)
            .map(|_| {
                let len = i32::from_be_bytes(take(&mut at, 4).try_into().expect("4 bytes"));
                (len >= 0).then(|| take(&mut at, len as usize).to_vec())
            })
            .collect();
        rows.push(row);
    }
    rows
}

fn deactivated(w: &World) -> Vec<u32> {
    (1..=w.users.len() as u32)
        .filter(|&id| w.lifecycle[id as usize - 1].deactivated.is_some())
        .collect()
}

#[test]
fn known_accounts_stay_active_and_tokens_valid_from_is_past() {
    for scale in [0.01, 0.05, 0.3] {
        let w = world(21, scale);
        for k in &w.known {
            assert_eq!(
                w.lifecycle[k.user_id as usize - 1],
                Lifecycle::default(),
                "{} is never deactivated nor has its tokens cut off",
                k.email
            );
        }
        let course_staff: HashSet<u32> = w.staffing.iter().map(|s| s.user).collect();
        let authors: HashSet<u32> = w.posts.iter().map(|p| p.author).collect();
        for (i, (user, life)) in w.users.iter().zip(&w.lifecycle).enumerate() {
            let id = i as u32 + 1;
            if let Some(from) = life.tokens_valid_from {
                assert!(from <= w.time.now, "tokens_valid_from in the past");
                assert!(from > user.created);
            }
            if let Some(at) = life.deactivated {
                // As `set_active` does: tokens_valid_from one second after.
                assert_eq!(life.tokens_valid_from, Some(at + 1));
                assert!(at < w.time.now && at > user.created);
                assert!(matches!(user.position, None | Some(Position::Support)));
                assert!(!course_staff.contains(&id) && !authors.contains(&id));
            }
        }
    }
}

#[test]
fn a_deactivation_follows_everything_the_user_did() {
    let w = world(22, 0.3);
    let when: HashMap<u32, i64> = deactivated(&w)
        .into_iter()
        .map(|id| (id, w.lifecycle[id as usize - 1].deactivated.unwrap_or(0)))
        .collect();
    assert!(!when.is_empty());
    let after = |user: u32, t: i64| {
        if let Some(&at) = when.get(&user) {
            assert!(at >= t + DAY, "user {user} deactivated before its activity");
        }
    };
    for p in &w.purchases {
        after(
            p.user,
            [p.paid, p.cancelled, p.refunded]
                .into_iter()
                .flatten()
                .fold(p.created, i64::max),
        );
        assert!(
            p.status != Status::Pending || !when.contains_key(&p.user),
            "no pending purchase is left to a deactivated account"
        );
    }
    w.reviews.iter().for_each(|r| after(r.user, r.created));
    w.certificates.iter().for_each(|c| after(c.user, c.issued));
    w.tracks.iter().for_each(|t| after(t.user, t.created));
}

#[test]
fn deactivated_students_are_not_the_load_generators() {
    let w = world(23, 0.05);
    let gone: HashSet<u32> = deactivated(&w).into_iter().collect();
    for (i, row) in rows_of(&w, Table::Users).iter().enumerate() {
        let email = String::from_utf8(row[1].clone().expect("email")).expect("utf-8");
        let matches_loadtest = email.contains("@example.");
        let id = i as u32 + 1;
        // loadtest/src/cli.rs: role = 'student' AND email LIKE '%@example.%'
        assert_eq!(
            matches_loadtest,
            !gone.contains(&id) && !email.ends_with("@lyceum.test"),
            "{email}"
        );
        assert_eq!(
            row[14].is_some(),
            gone.contains(&id),
            "deactivated_at column"
        );
    }
}

#[test]
fn every_family_is_a_consistent_chain() {
    for scale in [0.01, 0.3] {
        let w = world(24, scale);
        let tokens = &w.sessions.refresh;
        let mut seen = HashSet::new();
        let mut ends: HashMap<u32, i64> = HashMap::new();
        for family in tokens.chunk_by(|a, b| a.family == b.family) {
            assert!(
                seen.insert(family[0].family),
                "a family's tokens are consecutive"
            );
            let (user, life) = (family[0].user, w.lifecycle[family[0].user as usize - 1]);
            let started = family[0].family_started;
            assert!(started >= w.users[user as usize - 1].created);
            assert!(started >= w.time.now - WINDOW);
            for pair in family.windows(2) {
                assert_eq!(pair[0].used, Some(pair[1].issued), "older tokens are used");
                assert!(pair[1].issued > pair[0].issued);
            }
            let newest = family[family.len() - 1];
            assert_eq!(newest.used, None, "the newest token is unused");
            for t in family {
                assert_eq!(
                    (t.user, t.family_started, t.revoked),
                    (user, started, newest.revoked)
                );
                assert!(t.issued >= started && t.issued <= w.time.now);
                if let Some(from) = life.tokens_valid_from.filter(|&f| f > started) {
                    assert!(t.issued < from, "no exchange after tokens_valid_from");
                }
            }
            if let Some(at) = newest.revoked {
                assert!(at > newest.issued && at <= w.time.now);
                let end = ends.entry(user).or_insert(at);
                *end = (*end).max(at);
            }
            if let Some(at) = life.deactivated {
                assert!(started < at && newest.issued <= at);
            }
        }
        // A log out or reuse deleted the user's expired tokens.
        for t in tokens {
            assert!(ends.get(&t.user).is_none_or(|&end| t.expires() >= end));
        }
        // Every logged-out token belongs to a family its log out ended.
        for r in &w.sessions.revoked {
            assert!(tokens.iter().any(|t| t.user == r.user
                && t.used.is_none()
                && t.issued + ACCESS_TTL == r.expires
                && t.revoked.is_some_and(|at| at < r.expires)));
        }
    }
}

#[test]
fn hashes_signatures_and_family_ids_are_unique_and_random_looking() {
    let w = world(25, 0.3);
    let rows = rows_of(&w, Table::RefreshTokens);
    assert_eq!(rows.len(), w.sessions.refresh.len());
    let mut hashes = HashSet::new();
    let mut family_ids: HashMap<u32, Vec<u8>> = HashMap::new();
    for (row, t) in rows.iter().zip(&w.sessions.refresh) {
        let hash = row[0].clone().expect("hash");
        assert_eq!(hash.len(), 32, "SHA-256");
        assert!(hashes.insert(hash));
        let id = row[1].clone().expect("family id");
        assert!(id.len() == 32 && id.iter().all(u8::is_ascii_hexdigit));
        assert_eq!(
            family_ids.entry(t.family).or_insert_with(|| id.clone()),
            &id
        );
    }
    let distinct: HashSet<&Vec<u8>> = family_ids.values().collect();
    assert_eq!(distinct.len(), family_ids.len(), "one id per family");
    let mut signatures = HashSet::new();
    for row in rows_of(&w, Table::RevokedTokens) {
        let s = row[0].clone().expect("signature");
        assert_eq!(s.len(), 43, "base64url of an HS256 signature");
        assert!(
            s.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        );
        assert!(signatures.insert(s));
    }
    assert_eq!(sessions::base64url(b"\xfb\xff"), "-_8");
}

#[test]
fn proportions_hold_within_their_documented_bounds() {
    let w = world(26, 1.0);
    let students: Vec<usize> = (0..w.users.len())
        .filter(|&i| w.users[i].position.is_none())
        .collect();
    let share = |n: usize, of: usize| n as f64 / of as f64;
    let gone = students
        .iter()
        .filter(|&&i| w.lifecycle[i].deactivated.is_some())
        .count();
    let gone = share(gone, students.len());
    assert!((0.02..=0.04).contains(&gone), "deactivated students {gone}");
    let changed = w
        .lifecycle
        .iter()
        .filter(|l| l.deactivated.is_none() && l.tokens_valid_from.is_some())
        .count();
    let changed = share(changed, w.users.len());
    assert!(
        (0.05..=0.09).contains(&changed),
        "password changes {changed}"
    );
    let signed_in: HashSet<u32> = w.sessions.refresh.iter().map(|t| t.user).collect();
    let signed_in = share(signed_in.len(), w.users.len());
    assert!(
        (0.3..=0.45).contains(&signed_in),
        "users with a family {signed_in}"
    );
    let families: Vec<&[RefreshToken]> = w
        .sessions
        .refresh
        .chunk_by(|a, b| a.family == b.family)
        .collect();
    let ended = families.iter().filter(|f| f[0].revoked.is_some()).count();
    let ended = share(ended, families.len());
    assert!((0.10..=0.20).contains(&ended), "ended families {ended}");
    let mean = share(w.sessions.refresh.len(), families.len());
    assert!((3.0..=6.0).contains(&mean), "tokens per family {mean}");
    let live = families
        .iter()
        .filter(|f| f[f.len() - 1].revoked.is_none() && f[f.len() - 1].expires() > w.time.now)
        .count();
    assert!(share(live, families.len()) > 0.6, "most families are live");
    assert!(
        families.iter().any(|f| f[0].expires() < w.time.now),
        "some expired"
    );
    assert!(
        w.sessions
            .revoked
            .iter()
            .all(|r| r.expires <= w.time.now + ACCESS_TTL)
    );
}

#[test]
fn the_smallest_scales_still_get_every_kind_of_row() {
    for scale in [0.01, 0.05] {
        let w = world(42, scale);
        let gone = deactivated(&w).len();
        let changed = w
            .lifecycle
            .iter()
            .filter(|l| l.deactivated.is_none() && l.tokens_valid_from.is_some())
            .count();
        let t = &w.sessions.refresh;
        let used = t.iter().filter(|t| t.used.is_some()).count();
        let revoked = t.iter().filter(|t| t.revoked.is_some()).count();
        let counts = [
            gone,
            changed,
            t.len(),
            used,
            revoked,
            w.sessions.revoked.len(),
        ];
        assert!(counts.iter().all(|&n| n >= 3), "scale {scale}: {counts:?}");
        assert_eq!(w.rows(Table::RefreshTokens), t.len() as u64);
    }
}
