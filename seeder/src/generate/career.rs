//! The career center: tracks, partner companies and job applications.
//!
//! Every certificate earned under a plan with career support opens a career track. A track
//! sends 0–6 applications (mean ≈ 2.9) to distinct companies, chosen by Zipf(s = 1)
//! popularity (companies whose agreement ended get a fifth of their weight); 55 % of tracks
//! with applications end in exactly one `hired`. `graduates_hired` counts those.

use std::collections::HashSet;

use fake::{
    Fake,
    faker::company::en::{CompanyName, CompanySuffix},
    rand::RngExt,
};

use super::{RowSink, World, commerce::Certificate, text};
use crate::{
    copy::{RowWriter, Stopped},
    plan::{DAY, HOUR, Timeline, day_of},
    rng::{self, SeedRng, Weighted, pick},
};

#[derive(Debug, Clone, Copy)]
pub struct Track {
    pub user: u32,
    pub course: u32,
    pub support_start_day: i32,
    pub created: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct Company {
    pub created: i64,
    pub active: bool,
    pub hired: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppStatus {
    Applied,
    Interview,
    Offer,
    Hired,
    Rejected,
}

impl AppStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Interview => "interview",
            Self::Offer => "offer",
            Self::Hired => "hired",
            Self::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Application {
    pub track: u32,
    pub company: u32,
    pub applied_day: i32,
    pub status: AppStatus,
    pub created: i64,
}

pub const HIRED_SHARE: f64 = 0.55;

pub(super) fn build_tracks(
    certificates: &[Certificate],
    career_plan: &[bool; 3],
    time: &Timeline,
    rng: &mut SeedRng,
) -> Vec<Track> {
    let mut tracks: Vec<Track> = certificates
        .iter()
        .filter(|c| career_plan[usize::from(c.plan)])
        .map(|c| {
            let support_start_day =
                (day_of(c.issued) + rng.random_range(0..=14)).min(time.now_day());
            let created = (i64::from(support_start_day) * DAY
                + rng.random_range(9 * HOUR..=18 * HOUR))
            .clamp(c.issued, time.now);
            Track {
                user: c.user,
                course: c.course,
                support_start_day,
                created,
            }
        })
        .collect();
    tracks.sort_by_key(|t| t.created);
    tracks
}

pub(super) fn build_companies(count: u32, time: &Timeline, rng: &mut SeedRng) -> Vec<Company> {
    // The partner network was built around the platform's first two years.
    let mut created: Vec<i64> = (0..count)
        .map(|_| rng.random_range(time.start - 365 * DAY..time.start + 365 * DAY))
        .collect();
    created.sort_unstable();
    created
        .into_iter()
        .map(|created| Company {
            created,
            active: rng.random_bool(0.85),
            hired: 0,
        })
        .collect()
}

/// Applications of every track; fills in `graduates_hired`.
pub(super) fn build_applications(
    tracks: &[Track],
    companies: &mut [Company],
    time: &Timeline,
    rng: &mut SeedRng,
) -> Vec<Application> {
    let mut rank: Vec<usize> = (0..companies.len()).collect();
    rng::shuffle(rng, &mut rank);
    let zipf = Weighted::zipf(companies.len(), 1.0);
    let mut weights = vec![0.0; companies.len()];
    for (r, &c) in rank.iter().enumerate() {
        let w = zipf.weight(r);
        weights[c] = if companies[c].active { w } else { w / 5.0 };
    }
    let pick_company = Weighted::new(weights);
    let mut applications = Vec::new();
    for (t, track) in tracks.iter().enumerate() {
        let n: usize = pick(
            rng,
            &[
                (10, 0),
                (15, 1),
                (20, 2),
                (20, 3),
                (15, 4),
                (10, 5),
                (10, 6),
            ],
        );
        let mut chosen: Vec<usize> = Vec::with_capacity(n);
        let mut tries = 0;
        while chosen.len() < n.min(companies.len()) && tries < 100 {
            tries += 1;
            let c = pick_company.sample(rng);
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        let hired = (!chosen.is_empty() && rng.random_bool(HIRED_SHARE))
            .then(|| rng.random_range(0..chosen.len()));
        for (k, &c) in chosen.iter().enumerate() {
            let from = track
                .support_start_day
                .max(day_of(companies[c].created) + 1);
            let applied_day = rng.random_range(from.min(time.now_day())..=time.now_day());
            let status = if hired == Some(k) {
                companies[c].hired += 1;
                AppStatus::Hired
            } else {
                pick(
                    rng,
                    &[
                        (25, AppStatus::Applied),
                        (20, AppStatus::Interview),
                        (5, AppStatus::Offer),
                        (50, AppStatus::Rejected),
                    ],
                )
            };
            let created = (i64::from(applied_day) * DAY + rng.random_range(8 * HOUR..=20 * HOUR))
                .clamp(track.created, time.now);
            applications.push(Application {
                track: t as u32 + 1,
                company: c as u32 + 1,
                applied_day,
                status,
                created,
            });
        }
    }
    applications.sort_by_key(|a| a.created);
    applications
}

pub(super) const TRACK_COLUMNS: &[&str] = &[
    "id",
    "user_id",
    "course_id",
    "resume_url",
    "support_start",
    "support_extended",
    "created_at",
    "updated_at",
];

pub(super) fn write_tracks<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, t) in world.tracks.iter().enumerate() {
        let id = i as i64 + 1;
        let resume = rng
            .random_bool(0.75)
            .then(|| format!("https://cdn.lyceum.test/resumes/{id}.pdf"));
        let updated = t.created + rng.random_range(0..=(world.time.now - t.created));
        out.begin()
            .i64(id)
            .i64(i64::from(t.user))
            .i64(i64::from(t.course))
            .opt_text(resume.as_deref())
            .date(t.support_start_day)
            .bool(rng.random_bool(0.15))
            .ts(t.created)
            .ts(updated);
        out.end()?;
    }
    Ok(())
}

pub(super) const COMPANY_COLUMNS: &[&str] = &[
    "id",
    "short_name",
    "legal_name",
    "graduates_hired",
    "requirements",
    "agreement_active",
    "created_at",
    "updated_at",
];

pub(super) fn write_companies<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    let mut legal_names = HashSet::new();
    for (i, c) in world.companies.iter().enumerate() {
        let short: String = CompanyName().fake_with_rng(rng);
        let suffix: String = CompanySuffix().fake_with_rng(rng);
        let mut legal = format!("{short} {suffix}");
        let mut n = 1;
        while !legal_names.insert(legal.clone()) {
            n += 1;
            legal = format!("{short} {suffix} {n}");
        }
        let updated = c.created + rng.random_range(0..=(world.time.now - c.created));
        out.begin()
            .i64(i as i64 + 1)
            .text(&short)
            .text(&legal)
            .i32(c.hired as i32)
            .text(&text::company_requirements(rng))
            .bool(c.active)
            .ts(c.created)
            .ts(updated);
        out.end()?;
    }
    Ok(())
}

pub(super) const APPLICATION_COLUMNS: &[&str] = &[
    "id",
    "career_track_id",
    "company_id",
    "applied_on",
    "status",
    "created_at",
    "updated_at",
];

pub(super) fn write_applications<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, a) in world.applications.iter().enumerate() {
        let updated = if a.status == AppStatus::Applied {
            a.created
        } else {
            a.created + rng.random_range(0..=(world.time.now - a.created))
        };
        out.begin()
            .i64(i as i64 + 1)
            .i64(i64::from(a.track))
            .i64(i64::from(a.company))
            .date(a.applied_day)
            .text(a.status.code())
            .ts(a.created)
            .ts(updated);
        out.end()?;
    }
    Ok(())
}
