//! Purchases, reviews and certificates.
//!
//! - Who buys: 22 % of students never buy; the others get a Pareto(α = 1.6) weight (capped
//!   at 40), so a few heavy buyers and a long tail of one-course students.
//! - What: course popularity is Zipf(s = 1) over published courses in a random rank order.
//!   A user buys a course at most once, so (user, run) and (user, course) are unique.
//! - When: inside the run's sales window, after the user registered, never after the anchor.
//! - Status: closed runs 86 % paid, 9 % cancelled, 5 % refunded; runs on sale 78 % paid,
//!   12 % pending (made in the last two days), 7 % cancelled, 3 % refunded.
//! - Plan: 60 % basic, 20 % career track, 20 % discounted; the price is the course price
//!   less the plan's discount, rounded half up.
//! - Reviews: 35 % of paid purchases whose run started at least a week ago; ratings
//!   5/4/3/2/1 with weights 53/30/10/4/3 (mean ≈ 4.26).
//! - Certificates: 70 % of paid purchases whose run is over; issued within two weeks.

use fake::rand::RngExt;

use super::{
    Lookups, RowSink, World,
    catalog::{Course, Run},
    people::User,
    text,
};
use crate::{
    copy::{RowWriter, Stopped},
    plan::{DAY, HOUR, Timeline},
    rng::{self, SeedRng, Weighted, pick},
};

/// Purchase status; `pending` and `paid` hold a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Paid,
    Cancelled,
    Refunded,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }

    pub fn holds_seat(self) -> bool {
        matches!(self, Self::Pending | Self::Paid)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Purchase {
    pub user: u32,
    pub run: u32,
    pub course: u32,
    /// Index into [`Lookups::plans`]: 0 basic, 1 career track, 2 discounted.
    pub plan: u8,
    pub status: Status,
    pub created: i64,
    pub paid: Option<i64>,
    pub cancelled: Option<i64>,
    pub refunded: Option<i64>,
}

impl Purchase {
    /// The latest thing that happened to the purchase.
    pub fn updated(&self) -> i64 {
        [self.paid, self.cancelled, self.refunded]
            .into_iter()
            .flatten()
            .fold(self.created, i64::max)
    }
}

/// The share of students who never buy.
pub const NON_BUYER_SHARE: f64 = 0.22;
/// Zipf exponent of course popularity.
pub const COURSE_ZIPF: f64 = 1.0;
/// Most courses one user buys.
pub const MAX_COURSES_PER_USER: usize = 40;

pub(super) struct Sales {
    pub purchases: Vec<Purchase>,
    /// Purchases holding a seat, per run (index = run id - 1).
    pub active: Vec<u32>,
    /// Latest purchase event per run, for its `updated_at`.
    pub last_sale: Vec<i64>,
}

pub(super) fn build_purchases(
    count: u32,
    users: &[User],
    courses: &[Course],
    runs: &[Run],
    time: &Timeline,
    rng: &mut SeedRng,
) -> Sales {
    let students: Vec<u32> = users
        .iter()
        .enumerate()
        .filter(|(_, u)| u.position.is_none())
        .map(|(i, _)| i as u32 + 1)
        .collect();
    let mut published: Vec<u32> = courses
        .iter()
        .enumerate()
        .filter(|(_, c)| c.published)
        .map(|(i, _)| i as u32 + 1)
        .collect();
    rng::shuffle(rng, &mut published); // rank order: published[0] is the most popular
    let popularity = Weighted::zipf(published.len(), COURSE_ZIPF);
    let mut runs_of: Vec<Vec<u32>> = vec![Vec::new(); courses.len()];
    for (i, run) in runs.iter().enumerate() {
        runs_of[run.course as usize - 1].push(i as u32 + 1);
    }
    let cap = published.len().min(MAX_COURSES_PER_USER) as u8;

    let quota = purchase_quota(count, students.len(), cap, rng);
    // Purchases arrive grouped by user, so the courses of the current user suffice.
    let mut current = (0u32, Vec::<u32>::with_capacity(MAX_COURSES_PER_USER));
    let mut purchases = Vec::with_capacity(count as usize);
    let mut eligible: Vec<u32> = Vec::with_capacity(32);
    let buyers = students
        .iter()
        .zip(&quota)
        .flat_map(|(&user, &n)| std::iter::repeat_n(user, usize::from(n)));
    for user in buyers {
        if current.0 != user {
            current.0 = user;
            current.1.clear();
        }
        let u = &users[user as usize - 1];
        let mut course = 0;
        for attempt in 0..256 {
            let candidate = if attempt < 12 {
                published[popularity.sample(rng)]
            } else {
                published[rng.random_range(0..published.len())]
            };
            if !current.1.contains(&candidate) {
                course = candidate;
                break;
            }
        }
        if course == 0 {
            continue;
        }
        eligible.clear();
        eligible.extend(runs_of[course as usize - 1].iter().copied().filter(|&r| {
            let run = &runs[r as usize - 1];
            run.opens <= time.now && run.sales_end().min(time.now) >= run.opens.max(u.created)
        }));
        if eligible.is_empty() {
            continue;
        }
        let run_id = eligible[rng.random_range(0..eligible.len())];
        let run = &runs[run_id as usize - 1];
        let lo = run.opens.max(u.created);
        let hi = run.sales_end().min(time.now);
        let on_sale = run.sales_end() >= time.now;
        let status = if on_sale {
            pick(
                rng,
                &[
                    (78, Status::Paid),
                    (12, Status::Pending),
                    (7, Status::Cancelled),
                    (3, Status::Refunded),
                ],
            )
        } else {
            pick(
                rng,
                &[
                    (86, Status::Paid),
                    (9, Status::Cancelled),
                    (5, Status::Refunded),
                ],
            )
        };
        let created = if status == Status::Pending {
            rng.random_range(lo.max(hi - 2 * DAY)..=hi)
        } else {
            rng.random_range(lo..=hi)
        };
        let paid = matches!(status, Status::Paid | Status::Refunded)
            .then(|| (created + rng.random_range(30..=2 * DAY)).min(time.now));
        let cancelled = (status == Status::Cancelled)
            .then(|| (created + rng.random_range(600..=5 * DAY)).min(time.now));
        let refunded = match (status, paid) {
            (Status::Refunded, Some(p)) => {
                Some((p + rng.random_range(DAY..=20 * DAY)).min(time.now))
            }
            _ => None,
        };
        current.1.push(course);
        purchases.push(Purchase {
            user,
            run: run_id,
            course,
            plan: pick(rng, &[(60, 0), (20, 1), (20, 2)]),
            status,
            created,
            paid,
            cancelled,
            refunded,
        });
    }
    // Ids in the order purchases were made, as an identity column would give them.
    // (user, course) is unique, so the key is total and the order deterministic.
    purchases.sort_unstable_by_key(|p| (p.created, p.user, p.course));
    let mut active = vec![0u32; runs.len()];
    let mut last_sale = vec![i64::MIN; runs.len()];
    for p in &purchases {
        let r = p.run as usize - 1;
        if p.status.holds_seat() {
            active[r] += 1;
        }
        last_sale[r] = last_sale[r].max(p.updated());
    }
    Sales {
        purchases,
        active,
        last_sale,
    }
}

/// Purchases per student: 22 % buy nothing, the others in proportion to a Pareto(α = 1.6)
/// weight, at most `cap` each, adding up to exactly `count`.
fn purchase_quota(count: u32, students: usize, cap: u8, rng: &mut SeedRng) -> Vec<u8> {
    let weights: Vec<f64> = (0..students)
        .map(|_| {
            if rng.random_bool(NON_BUYER_SHARE) {
                0.0
            } else {
                (1.0 - rng.random::<f64>()).powf(-1.0 / 1.6).min(40.0)
            }
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let per_weight = f64::from(count) / total.max(1.0);
    let mut quota: Vec<u8> = weights
        .iter()
        .map(|w| {
            let x = w * per_weight;
            let n = x.floor() + f64::from(u8::from(rng.random::<f64>() < x.fract()));
            n.min(f64::from(cap)) as u8
        })
        .collect();
    // Rounding and the cap leave the sum a little off: settle it on random buyers.
    let mut sum: i64 = quota.iter().map(|&q| i64::from(q)).sum();
    let target = i64::from(count);
    while sum != target {
        let i = rng.random_range(0..students);
        if weights[i] == 0.0 && sum < target && rng.random_bool(0.9) {
            continue;
        }
        if sum < target && quota[i] < cap {
            quota[i] += 1;
            sum += 1;
        } else if sum > target && quota[i] > 0 {
            quota[i] -= 1;
            sum -= 1;
        }
    }
    quota
}

/// Final price: course price less the plan discount, rounded half up.
pub fn final_price(price: i64, discount_percent: i16) -> i64 {
    (price * (100 - i64::from(discount_percent)) + 50) / 100
}

#[derive(Debug, Clone, Copy)]
pub struct Review {
    pub user: u32,
    pub course: u32,
    pub rating: i16,
    pub created: i64,
}

pub const RATING_WEIGHTS: [(u32, i16); 5] = [(3, 1), (4, 2), (10, 3), (30, 4), (53, 5)];
pub const REVIEW_SHARE: f64 = 0.35;
pub const CERTIFICATE_SHARE: f64 = 0.7;

pub(super) fn build_reviews(
    purchases: &[Purchase],
    courses: &[Course],
    runs: &[Run],
    time: &Timeline,
    rng: &mut SeedRng,
) -> Vec<Review> {
    let mut reviews = Vec::new();
    for p in purchases {
        let (Status::Paid, Some(paid)) = (p.status, p.paid) else {
            continue;
        };
        let run = &runs[p.run as usize - 1];
        if run.start() + 7 * DAY > time.now || !rng.random_bool(REVIEW_SHARE) {
            continue;
        }
        let course = &courses[p.course as usize - 1];
        let lo = (run.start() + 7 * DAY).max(paid);
        let hi = (run.end(course) + 60 * DAY).min(time.now);
        if lo > hi {
            continue;
        }
        reviews.push(Review {
            user: p.user,
            course: p.course,
            rating: pick(rng, &RATING_WEIGHTS),
            created: rng.random_range(lo..=hi),
        });
    }
    reviews.sort_by_key(|r| r.created);
    reviews
}

#[derive(Debug, Clone, Copy)]
pub struct Certificate {
    pub user: u32,
    pub course: u32,
    /// The plan the graduate bought (career support leads to a career track).
    pub plan: u8,
    pub issued: i64,
}

pub(super) fn build_certificates(
    purchases: &[Purchase],
    courses: &[Course],
    runs: &[Run],
    time: &Timeline,
    rng: &mut SeedRng,
) -> Vec<Certificate> {
    let mut certificates = Vec::new();
    for p in purchases {
        if p.status != Status::Paid {
            continue;
        }
        let run = &runs[p.run as usize - 1];
        let end = run.end(&courses[p.course as usize - 1]);
        if end + DAY > time.now || !rng.random_bool(CERTIFICATE_SHARE) {
            continue;
        }
        certificates.push(Certificate {
            user: p.user,
            course: p.course,
            plan: p.plan,
            issued: (end + rng.random_range(HOUR..=14 * DAY)).min(time.now),
        });
    }
    certificates.sort_by_key(|c| c.issued);
    certificates
}

pub(super) const PURCHASE_COLUMNS: &[&str] = &[
    "id",
    "user_id",
    "course_run_id",
    "plan_id",
    "final_price",
    "status",
    "idempotency_key",
    "request_fingerprint",
    "created_at",
    "updated_at",
    "paid_at",
    "cancelled_at",
    "refunded_at",
];

pub(super) fn write_purchases<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    let Lookups { plans, .. } = &world.lookups;
    for (i, p) in world.purchases.iter().enumerate() {
        let plan = &plans[usize::from(p.plan)];
        let price = final_price(
            world.courses[p.course as usize - 1].price,
            plan.discount_percent,
        );
        let key = rng::uuid_v4(rng);
        let fingerprint = rng::hex128(rng);
        out.begin()
            .i64(i as i64 + 1)
            .i64(i64::from(p.user))
            .i64(i64::from(p.run))
            .i32(plan.id)
            .i64(price)
            .text(p.status.code())
            .bytes(&key)
            .bytes(&fingerprint)
            .ts(p.created)
            .ts(p.updated())
            .opt_ts(p.paid)
            .opt_ts(p.cancelled)
            .opt_ts(p.refunded);
        out.end()?;
    }
    Ok(())
}

pub(super) const REVIEW_COLUMNS: &[&str] = &[
    "id",
    "user_id",
    "course_id",
    "rating",
    "body",
    "created_at",
    "updated_at",
];

pub(super) fn write_reviews<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, r) in world.reviews.iter().enumerate() {
        let body = text::review_body(rng, r.rating);
        let updated = if rng.random_bool(0.1) {
            r.created + rng.random_range(0..=(world.time.now - r.created))
        } else {
            r.created
        };
        out.begin()
            .i64(i as i64 + 1)
            .i64(i64::from(r.user))
            .i64(i64::from(r.course))
            .i16(r.rating)
            .text(&body)
            .ts(r.created)
            .ts(updated);
        out.end()?;
    }
    Ok(())
}

pub(super) const CERTIFICATE_COLUMNS: &[&str] =
    &["id", "serial_number", "user_id", "course_id", "issued_at"];

pub(super) fn write_certificates<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, c) in world.certificates.iter().enumerate() {
        let serial = rng::uuid_v4(rng);
        out.begin()
            .i64(i as i64 + 1)
            .bytes(&serial)
            .i64(i64::from(c.user))
            .i64(i64::from(c.course))
            .ts(c.issued);
        out.end()?;
    }
    Ok(())
}
