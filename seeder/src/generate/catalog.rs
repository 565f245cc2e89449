//! The catalog: specializations, courses, their topics, projects, staff and runs.
//!
//! Courses appear evenly over the history (until 45 days before the anchor); 90 % are
//! published. Each published course runs every 7–15 weeks from 30–90 days after it was
//! created until a year past the anchor; sales open 150 days before a start and close 0–7
//! days before it, so every published course always has a run on sale at the anchor.

use fake::rand::RngExt;

use super::{RowSink, World, text};
use crate::{
    accounts::Position,
    copy::{RowWriter, Stopped},
    plan::{Counts, DAY, HOUR, Timeline, day_of},
    rng::{SeedRng, Weighted, pick},
};

/// `0` beginner, `1` intermediate, `2` advanced.
pub type Level = u8;

#[derive(Debug, Clone, Copy)]
pub struct Course {
    pub created: i64,
    /// Index into [`text::SPECIALIZATIONS`].
    pub spec: u8,
    pub level: Level,
    pub weeks: i32,
    pub price: i64,
    pub published: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Topic {
    pub course: u32,
    pub position: i32,
    pub created: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct Project {
    pub topic: u32,
    pub created: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct Staffing {
    pub course: u32,
    pub user: u32,
    pub role: Position,
    pub created: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub course: u32,
    /// `created_at` of the row.
    pub created: i64,
    /// When sales open (purchases are made from here to the end of `sales_end_day`).
    pub opens: i64,
    pub start_day: i32,
    pub sales_end_day: i32,
    pub seats_total: i32,
    pub seats_left: i32,
}

impl Run {
    /// The last second on which the run can be bought.
    pub fn sales_end(&self) -> i64 {
        i64::from(self.sales_end_day) * DAY + DAY - 1
    }

    pub fn start(&self) -> i64 {
        i64::from(self.start_day) * DAY + 9 * HOUR
    }

    /// When the last week of the course is over.
    pub fn end(&self, course: &Course) -> i64 {
        self.start() + i64::from(course.weeks) * 7 * DAY
    }
}

pub(super) fn build_courses(counts: &Counts, time: &Timeline, rng: &mut SeedRng) -> Vec<Course> {
    let specs = Weighted::new(text::SPECIALIZATIONS.iter().map(|s| f64::from(s.weight)));
    let latest = time.now - 45 * DAY;
    let mut created: Vec<i64> = (0..counts.courses)
        .map(|_| rng.random_range(time.start..latest))
        .collect();
    created.sort_unstable();
    created
        .into_iter()
        .enumerate()
        .map(|(i, created)| {
            let level = pick(rng, &[(45, 0), (38, 1), (17, 2)]);
            let weeks = match level {
                0 => rng.random_range(4..=16),
                1 => rng.random_range(8..=26),
                _ => rng.random_range(12..=40),
            };
            // Prices like 49 900 minor units, higher for longer and harder courses.
            let base = 15 + weeks * 2 + i32::from(level) * 30;
            let price = i64::from(rng.random_range(base..=base * 3)) * 1_000 - 100;
            Course {
                created,
                spec: specs.sample(rng) as u8,
                level,
                weeks,
                price,
                published: i == 0 || rng.random_bool(0.9),
            }
        })
        .collect()
}

pub(super) fn build_topics(courses: &[Course], time: &Timeline, rng: &mut SeedRng) -> Vec<Topic> {
    let mut topics = Vec::with_capacity(courses.len() * 9);
    for (i, course) in courses.iter().enumerate() {
        for position in 1..=rng.random_range(5..=12) {
            topics.push(Topic {
                course: i as u32 + 1,
                position,
                created: (course.created + rng.random_range(0..=7 * DAY)).min(time.now),
            });
        }
    }
    topics
}

pub(super) fn build_projects(topics: &[Topic], time: &Timeline, rng: &mut SeedRng) -> Vec<Project> {
    let mut projects = Vec::with_capacity(topics.len() * 3 / 2);
    for (i, topic) in topics.iter().enumerate() {
        for _ in 0..pick(rng, &[(20, 0), (35, 1), (30, 2), (15, 3)]) {
            projects.push(Project {
                topic: i as u32 + 1,
                created: (topic.created + rng.random_range(0..=3 * DAY)).min(time.now),
            });
        }
    }
    projects
}

/// Teachers (user id, specialization index), and the staff of every course.
pub(super) fn build_staffing(
    courses: &[Course],
    users: &[super::people::User],
    time: &Timeline,
    rng: &mut SeedRng,
) -> (Vec<(u32, u8)>, Vec<Staffing>) {
    let by_position = |p: Position| -> Vec<u32> {
        users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.position == Some(p))
            .map(|(i, _)| i as u32 + 1)
            .collect()
    };
    let specs = Weighted::new(text::SPECIALIZATIONS.iter().map(|s| f64::from(s.weight)));
    let teachers: Vec<(u32, u8)> = by_position(Position::Teacher)
        .into_iter()
        .map(|id| (id, specs.sample(rng) as u8))
        .collect();
    let mentors = by_position(Position::Mentor);
    let reviewers = by_position(Position::Reviewer);
    let mut staffing = Vec::with_capacity(courses.len() * 5);
    for (i, course) in courses.iter().enumerate() {
        let course_id = i as u32 + 1;
        let same_spec: Vec<u32> = teachers
            .iter()
            .filter(|(_, s)| *s == course.spec)
            .map(|(id, _)| *id)
            .collect();
        let all_teachers: Vec<u32> = teachers.iter().map(|(id, _)| *id).collect();
        let wanted = pick(rng, &[(50, 1), (35, 2), (15, 3)]);
        let mut chosen: Vec<(u32, Position)> = Vec::new();
        let mut add = |pool: &[u32], n: usize, role: Position, rng: &mut SeedRng| {
            let mut taken = 0;
            let mut tries = 0;
            while taken < n.min(pool.len()) && tries < 50 {
                tries += 1;
                let user = pool[rng.random_range(0..pool.len())];
                if !chosen.contains(&(user, role)) {
                    chosen.push((user, role));
                    taken += 1;
                }
            }
            taken
        };
        // Prefer teachers of the course's own specialization; fill up from everyone.
        let got = add(&same_spec, wanted, Position::Teacher, rng);
        if got < wanted {
            add(&all_teachers, wanted - got, Position::Teacher, rng);
        }
        let n = rng.random_range(1..=2);
        add(&mentors, n, Position::Mentor, rng);
        let n = rng.random_range(1..=2);
        add(&reviewers, n, Position::Reviewer, rng);
        for (user, role) in chosen {
            let joined = course.created.max(users[user as usize - 1].created);
            staffing.push(Staffing {
                course: course_id,
                user,
                role,
                created: (joined + rng.random_range(0..=14 * DAY)).min(time.now),
            });
        }
    }
    (teachers, staffing)
}

/// Runs of every published course; seats are filled in once purchases are known.
pub(super) fn build_runs(courses: &[Course], time: &Timeline, rng: &mut SeedRng) -> Vec<Run> {
    let now_day = time.now_day();
    let mut runs = Vec::with_capacity(courses.len() * 12);
    for (i, course) in courses.iter().enumerate() {
        if !course.published {
            continue;
        }
        let mut start_day = day_of(course.created) + rng.random_range(30..=90);
        while start_day <= now_day + 365 {
            let opens = course
                .created
                .max(i64::from(start_day - 150) * DAY + rng.random_range(8 * HOUR..=12 * HOUR));
            let created = course
                .created
                .max(opens.min(time.now - rng.random_range(DAY..=30 * DAY)));
            runs.push(Run {
                course: i as u32 + 1,
                created,
                opens,
                start_day,
                sales_end_day: start_day - rng.random_range(0..=7),
                seats_total: rng.random_range(2..=30) * 10,
                seats_left: 0,
            });
            start_day += rng.random_range(49..=105);
        }
    }
    runs
}

/// Seats follow the purchases: `seats_left = seats_total - active purchases`. Past runs that
/// sold more than their planned capacity are sold out; runs on sale keep a few seats free
/// (one in twelve is sold out); runs not yet on sale are empty.
pub(super) fn settle_seats(runs: &mut [Run], active: &[u32], time: &Timeline, rng: &mut SeedRng) {
    for (run, &taken) in runs.iter_mut().zip(active) {
        let taken = taken as i32;
        run.seats_total = if run.opens > time.now {
            run.seats_total
        } else if run.sales_end() >= time.now {
            let spare = if rng.random_bool(1.0 / 12.0) {
                0
            } else {
                rng.random_range(5..=150)
            };
            (taken + spare).max(1)
        } else {
            run.seats_total.max(taken)
        };
        run.seats_left = run.seats_total - taken;
    }
}

pub(super) const SPECIALIZATION_COLUMNS: &[&str] = &["id", "slug", "name", "description"];

pub(super) fn write_specializations<S: RowSink>(
    _world: &World,
    _rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, s) in text::SPECIALIZATIONS.iter().enumerate() {
        out.begin()
            .i32(i as i32 + 1)
            .text(s.slug)
            .text(s.name)
            .text(s.description);
        out.end()?;
    }
    Ok(())
}

pub(super) const COURSE_COLUMNS: &[&str] = &[
    "id",
    "title",
    "description",
    "specialization_id",
    "difficulty_level_id",
    "duration_weeks",
    "price",
    "published",
    "created_at",
    "updated_at",
];

pub(super) fn write_courses<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, c) in world.courses.iter().enumerate() {
        let spec = &text::SPECIALIZATIONS[usize::from(c.spec)];
        let title = text::course_title(rng, spec, usize::from(c.level));
        let description = text::course_description(rng, spec, c.weeks);
        let updated = c.created + rng.random_range(0..=(world.time.now - c.created));
        out.begin()
            .i64(i as i64 + 1)
            .text(&title)
            .text(&description)
            .i32(i32::from(c.spec) + 1)
            .i32(world.lookups.difficulty[usize::from(c.level)])
            .i32(c.weeks)
            .i64(c.price)
            .bool(c.published)
            .ts(c.created)
            .ts(updated);
        out.end()?;
    }
    Ok(())
}

pub(super) const TOPIC_COLUMNS: &[&str] = &[
    "id",
    "course_id",
    "position",
    "name",
    "description",
    "technologies",
    "effort_hours",
    "created_at",
    "updated_at",
];

pub(super) fn write_topics<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, t) in world.topics.iter().enumerate() {
        let course = &world.courses[t.course as usize - 1];
        let spec = &text::SPECIALIZATIONS[usize::from(course.spec)];
        let name = text::topic_name(rng, spec, t.position);
        let description = text::topic_description(rng, spec);
        let n = rng.random_range(1..=4);
        let techs = text::choose_distinct(rng, spec.technologies, n);
        let updated = t.created + rng.random_range(0..=(world.time.now - t.created) / 4);
        out.begin()
            .i64(i as i64 + 1)
            .i64(i64::from(t.course))
            .i32(t.position)
            .text(&name)
            .text(&description)
            .text_array(&techs)
            .i32(rng.random_range(4..=40))
            .ts(t.created)
            .ts(updated);
        out.end()?;
    }
    Ok(())
}

pub(super) const PROJECT_COLUMNS: &[&str] = &[
    "id",
    "topic_id",
    "title",
    "description",
    "created_at",
    "updated_at",
];

pub(super) fn write_projects<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, p) in world.projects.iter().enumerate() {
        let topic = &world.topics[p.topic as usize - 1];
        let course = &world.courses[topic.course as usize - 1];
        let spec = &text::SPECIALIZATIONS[usize::from(course.spec)];
        let title = text::project_title(rng, spec);
        let description = text::project_description(rng);
        out.begin()
            .i64(i as i64 + 1)
            .i64(i64::from(p.topic))
            .text(&title)
            .text(&description)
            .ts(p.created)
            .ts(p.created);
        out.end()?;
    }
    Ok(())
}

pub(super) const COURSE_STAFF_COLUMNS: &[&str] = &["course_id", "user_id", "role", "created_at"];

pub(super) fn write_course_staff<S: RowSink>(
    world: &World,
    _rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for s in &world.staffing {
        out.begin()
            .i64(i64::from(s.course))
            .i64(i64::from(s.user))
            .text(s.role.code())
            .ts(s.created);
        out.end()?;
    }
    Ok(())
}

pub(super) const COURSE_RUN_COLUMNS: &[&str] = &[
    "id",
    "course_id",
    "start_date",
    "sales_end_date",
    "seats_total",
    "seats_left",
    "created_at",
    "updated_at",
];

pub(super) fn write_course_runs<S: RowSink>(
    world: &World,
    _rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, r) in world.runs.iter().enumerate() {
        // Last touched by its latest seat change, or when it was planned.
        let updated = world.run_last_sale[i].max(r.created);
        out.begin()
            .i64(i as i64 + 1)
            .i64(i64::from(r.course))
            .date(r.start_day)
            .date(r.sales_end_day)
            .i32(r.seats_total)
            .i32(r.seats_left)
            .ts(r.created)
            .ts(updated);
        out.end()?;
    }
    Ok(())
}
