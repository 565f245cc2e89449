//! Rules and distributions of the generated world, checked without a database.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::*;
use crate::{
    accounts::Position,
    copy::MemorySink,
    plan::{DAY, Params},
};

fn params(seed: u64, scale: f64) -> Params {
    Params {
        seed,
        scale,
        anchor: NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
    }
}

fn world(seed: u64, scale: f64) -> World {
    World::build(params(seed, scale), Lookups::as_migrated())
}

fn bytes_of(world: &World, table: Table) -> Vec<u8> {
    let mut sink = MemorySink::default();
    let rows = write_table(world, table, &mut sink).expect("memory sink never stops");
    assert_eq!(rows, world.rows(table), "{table}");
    sink.bytes
}

impl RowSink for &mut MemorySink {
    fn accept(&mut self, chunk: bytes::Bytes, rows: u64) -> Result<(), Stopped> {
        (**self).accept(chunk, rows)
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let a = world(11, 0.05);
    let b = world(11, 0.05);
    let c = world(12, 0.05);
    for table in Table::ALL {
        assert_eq!(bytes_of(&a, table), bytes_of(&b, table), "{table}");
    }
    for table in [
        Table::Users,
        Table::Purchases,
        Table::Courses,
        Table::RefreshTokens,
        Table::RevokedTokens,
    ] {
        assert_ne!(bytes_of(&a, table), bytes_of(&c, table), "{table}");
    }
}

#[test]
fn dependencies_come_first_in_all() {
    for (i, t) in Table::ALL.iter().enumerate() {
        for dep in t.depends_on() {
            let j = Table::ALL.iter().position(|x| x == dep).expect("listed");
            assert!(j < i, "{dep} must precede {t}");
        }
    }
    assert!(!Table::Courses.columns().contains(&"search_vector"));
}

#[test]
fn seats_follow_the_purchases() {
    let w = world(3, 0.2);
    let mut active = vec![0i32; w.runs.len()];
    for p in &w.purchases {
        if p.status.holds_seat() {
            active[p.run as usize - 1] += 1;
        }
    }
    let mut sold_out = 0;
    for (run, taken) in w.runs.iter().zip(active) {
        assert!(run.seats_total > 0);
        assert_eq!(run.seats_left, run.seats_total - taken);
        assert!(run.seats_left >= 0 && run.seats_left <= run.seats_total);
        assert!(run.sales_end_day <= run.start_day);
        assert!(run.created <= run.opens);
        sold_out += i32::from(run.seats_left == 0 && run.opens <= w.time.now);
    }
    assert!(sold_out > 0, "some runs sell out");
    // Every published course has a run on sale at the anchor.
    for (i, c) in w.courses.iter().enumerate() {
        let on_sale = w.runs.iter().any(|r| {
            r.course as usize == i + 1 && r.opens <= w.time.now && r.sales_end() >= w.time.now
        });
        assert_eq!(on_sale, c.published, "course {}", i + 1);
    }
}

#[test]
fn purchases_tell_a_consistent_story() {
    let w = world(4, 0.2);
    let mut pairs = HashSet::new();
    for p in &w.purchases {
        let run = &w.runs[p.run as usize - 1];
        let user = &w.users[p.user as usize - 1];
        assert_eq!(run.course, p.course);
        assert!(user.position.is_none(), "only students buy");
        assert!(p.created >= run.opens && p.created >= user.created);
        assert!(p.created <= run.sales_end() && p.created <= w.time.now);
        assert!(w.courses[p.course as usize - 1].created < p.created);
        assert!(
            pairs.insert((p.user, p.course)),
            "one purchase per user and course"
        );
        match p.status {
            Status::Paid => {
                assert!(p.paid.is_some() && p.cancelled.is_none() && p.refunded.is_none())
            }
            Status::Pending => {
                assert!(p.paid.is_none() && p.cancelled.is_none() && p.refunded.is_none())
            }
            Status::Cancelled => {
                assert!(p.paid.is_none() && p.cancelled.is_some() && p.refunded.is_none())
            }
            Status::Refunded => assert!(p.paid.is_some() && p.refunded >= p.paid),
        }
        for t in [p.paid, p.cancelled, p.refunded].into_iter().flatten() {
            assert!(t >= p.created && t <= w.time.now);
        }
    }
    assert!(
        w.purchases.windows(2).all(|p| p[0].created <= p[1].created),
        "ids follow time"
    );
}

#[test]
fn only_buyers_review_and_graduate() {
    let w = world(5, 0.2);
    let paid: HashMap<(u32, u32), &Purchase> = w
        .purchases
        .iter()
        .filter(|p| p.status == Status::Paid)
        .map(|p| ((p.user, p.course), p))
        .collect();
    let mut seen = HashSet::new();
    for r in &w.reviews {
        let p = paid
            .get(&(r.user, r.course))
            .expect("a reviewer bought the course");
        assert!(r.created >= p.paid.unwrap_or(i64::MAX) && r.created <= w.time.now);
        assert!(seen.insert((r.user, r.course)));
        assert!((1..=5).contains(&r.rating));
    }
    let mut seen = HashSet::new();
    for c in &w.certificates {
        let p = paid
            .get(&(c.user, c.course))
            .expect("a graduate bought the course");
        let run = &w.runs[p.run as usize - 1];
        assert!(c.issued > run.end(&w.courses[c.course as usize - 1]));
        assert!(c.issued <= w.time.now);
        assert!(seen.insert((c.user, c.course)));
    }
    let certs: HashMap<(u32, u32), &Certificate> = w
        .certificates
        .iter()
        .map(|c| ((c.user, c.course), c))
        .collect();
    for t in &w.tracks {
        let c = certs
            .get(&(t.user, t.course))
            .expect("a track belongs to a graduate");
        assert!(w.lookups.plans[usize::from(c.plan)].includes_career_support);
        assert!(t.created >= c.issued);
    }
    assert_eq!(
        w.tracks.len(),
        w.certificates
            .iter()
            .filter(|c| w.lookups.plans[usize::from(c.plan)].includes_career_support)
            .count()
    );
}

#[test]
fn companies_count_their_hires() {
    let w = world(6, 0.3);
    let mut hired = vec![0u32; w.companies.len()];
    let mut per_track: HashMap<u32, u32> = HashMap::new();
    let mut pairs = HashSet::new();
    for a in &w.applications {
        let track = &w.tracks[a.track as usize - 1];
        assert!(a.created >= track.created && a.applied_day >= track.support_start_day);
        assert!(
            pairs.insert((a.track, a.company)),
            "one application per company and track"
        );
        if a.status == AppStatus::Hired {
            hired[a.company as usize - 1] += 1;
            *per_track.entry(a.track).or_default() += 1;
        }
    }
    for (c, n) in w.companies.iter().zip(hired) {
        assert_eq!(c.hired, n);
    }
    assert!(
        per_track.values().all(|&n| n == 1),
        "hired at most once per track"
    );
    assert!(!per_track.is_empty());
}

#[test]
fn roles_fit_positions() {
    let w = world(7, 0.2);
    let position = |id: u32| w.users[id as usize - 1].position;
    for s in &w.staffing {
        assert_eq!(position(s.user), Some(s.role));
        assert!(s.created >= w.courses[s.course as usize - 1].created);
    }
    for &(id, _) in &w.teachers {
        assert_eq!(position(id), Some(Position::Teacher));
    }
    for p in &w.posts {
        assert_eq!(position(p.author), Some(Position::Smm));
        assert!(p.created >= w.users[p.author as usize - 1].created);
        if let Some(published) = p.published {
            assert!(published >= p.created);
        }
    }
    for course in 1..=w.courses.len() as u32 {
        let staff: Vec<_> = w.staffing.iter().filter(|s| s.course == course).collect();
        assert!(staff.iter().any(|s| s.role == Position::Teacher));
        assert!(staff.iter().any(|s| s.role == Position::Mentor));
        assert!(staff.iter().any(|s| s.role == Position::Reviewer));
    }
}

#[test]
fn distributions_hold_within_their_documented_bounds() {
    let w = world(8, 1.0);
    // Staff are 1.5 % of users.
    let staff = w.users.iter().filter(|u| u.position.is_some()).count() as f64;
    let share = staff / w.users.len() as f64;
    assert!((0.013..=0.017).contains(&share), "staff share {share}");
    // Ratings lean positive: mean 4.1–4.4, at least 75 % four or five stars.
    let n = w.reviews.len() as f64;
    let mean = w.reviews.iter().map(|r| f64::from(r.rating)).sum::<f64>() / n;
    let high = w.reviews.iter().filter(|r| r.rating >= 4).count() as f64 / n;
    assert!((4.1..=4.4).contains(&mean), "rating mean {mean}");
    assert!(high >= 0.75, "share of 4-5 stars {high}");
    // Popular courses get most buyers: the top 10 % of courses take at least 40 %.
    let mut per_course: HashMap<u32, usize> = HashMap::new();
    for p in &w.purchases {
        *per_course.entry(p.course).or_default() += 1;
    }
    let mut counts: Vec<usize> = per_course.into_values().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let published = w.courses.iter().filter(|c| c.published).count();
    let top: usize = counts.iter().take(published.div_ceil(10)).sum();
    let top_share = top as f64 / w.purchases.len() as f64;
    assert!(
        (0.40..=0.75).contains(&top_share),
        "top-10% share {top_share}"
    );
    // Paid dominates; every status occurs.
    let paid = w
        .purchases
        .iter()
        .filter(|p| p.status == Status::Paid)
        .count() as f64
        / w.purchases.len() as f64;
    assert!((0.78..=0.90).contains(&paid), "paid share {paid}");
    for status in [Status::Pending, Status::Cancelled, Status::Refunded] {
        assert!(w.purchases.iter().any(|p| p.status == status), "{status:?}");
    }
    // At least a fifth of students never buy.
    let buyers: HashSet<u32> = w.purchases.iter().map(|p| p.user).collect();
    let students = w.users.len() as f64 - staff;
    let never = 1.0 - buyers.len() as f64 / students;
    assert!((0.20..=0.45).contains(&never), "non-buyers {never}");
    // Purchases per scale are exact.
    assert_eq!(w.purchases.len(), 50_000);
    assert_eq!(w.users.len(), 10_000);
}

#[test]
fn nothing_happens_after_the_anchor_except_the_future() {
    let w = world(9, 0.1);
    let now = w.time.now;
    assert!(
        w.users
            .iter()
            .all(|u| u.created < now && u.created >= w.time.start)
    );
    assert!(w.courses.iter().all(|c| c.created <= now - 45 * DAY));
    assert!(w.reviews.iter().all(|r| r.created <= now));
    assert!(w.applications.iter().all(|a| a.created <= now));
    // Some runs and some posts are in the future on purpose.
    assert!(w.runs.iter().any(|r| r.start() > now));
    assert!(w.posts.iter().any(|p| p.published.is_some_and(|t| t > now)));
    assert!(w.posts.iter().any(|p| p.published.is_none()));
}

#[test]
fn final_price_rounds_half_up() {
    assert_eq!(final_price(49_900, 20), 39_920);
    assert_eq!(final_price(99_999, 20), 79_999);
    assert_eq!(final_price(1, 50), 1);
    assert_eq!(final_price(10_000, 0), 10_000);
}

#[test]
fn known_accounts_are_distinct_users_of_the_right_kind() {
    let w = world(10, 0.05);
    let mut ids = HashSet::new();
    for k in &w.known {
        assert!(ids.insert(k.user_id));
        let position = w.users[k.user_id as usize - 1].position;
        assert_eq!(position.map_or("student", Position::code), k.kind);
    }
    assert_eq!(w.known.len(), 12);
}
