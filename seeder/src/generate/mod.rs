//! Pure, deterministic data generation: no I/O, unit-testable without a database.
//!
//! Generation has two steps:
//! 1. [`World::build`] lays out the skeleton every cross-table rule depends on (ids,
//!    references, times, statuses, counts), each part from its own `skeleton:<table>` stream.
//! 2. [`write_table`] turns one table's skeleton into binary COPY rows, adding text (names,
//!    titles, bodies) from that table's own `rows:<table>` stream.
//!
//! Because each table draws from its own streams, the rows are the same whatever the order
//! or parallelism of loading, and a resumed run regenerates exactly the rows it skipped.

mod blog;
mod career;
mod catalog;
mod commerce;
mod learning;
mod lifecycle;
mod people;
mod sessions;
pub mod text;

pub use blog::Post;
pub use career::{AppStatus, Application, Company, Track};
pub use catalog::{Course, Run, Staffing, Topic};
pub use commerce::{
    CERTIFICATE_SHARE, Certificate, NON_BUYER_SHARE, Purchase, RATING_WEIGHTS, REVIEW_SHARE,
    Review, Status, final_price,
};
pub use learning::{
    COMMENT_SHARE, Comment, LEARNING_DAYS, Learning, RETURN_SHARE, Submission, SubmissionStatus,
    Turnaround, turnaround_bucket,
};
pub use lifecycle::{
    DEACTIVATED_DOMAIN, DEACTIVATED_STUDENT_SHARE, DEACTIVATED_SUPPORT_SHARE, Lifecycle,
    PASSWORD_CHANGE_SHARE,
};
pub use people::User;
pub use sessions::{
    ACCESS_TTL, LOGOUT_SHARE, REFRESH_TTL, RefreshToken, RevokedToken, Sessions, WINDOW,
};

pub use crate::copy::ChunkSink as RowSink;
use crate::{
    accounts::{self, KnownAccount},
    copy::{RowWriter, Stopped},
    plan::{Counts, Params, Timeline},
    rng::{self, SeedRng},
};

/// One purchase plan as the database defines it (found by code, never by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanInfo {
    pub id: i32,
    pub discount_percent: i16,
    pub includes_career_support: bool,
}

/// The lookup rows the migration inserts, read from the database by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookups {
    /// Ids of `beginner`, `intermediate`, `advanced`.
    pub difficulty: [i32; 3],
    /// `basic`, `career_track`, `discounted`.
    pub plans: [PlanInfo; 3],
}

impl Lookups {
    pub const DIFFICULTY_CODES: [&'static str; 3] = ["beginner", "intermediate", "advanced"];
    pub const PLAN_CODES: [&'static str; 3] = ["basic", "career_track", "discounted"];

    /// What `V1__initial_schema.sql` inserts into a fresh database; for offline planning.
    pub fn as_migrated() -> Self {
        Self {
            difficulty: [1, 2, 3],
            plans: [
                PlanInfo {
                    id: 1,
                    discount_percent: 0,
                    includes_career_support: false,
                },
                PlanInfo {
                    id: 2,
                    discount_percent: 0,
                    includes_career_support: true,
                },
                PlanInfo {
                    id: 3,
                    discount_percent: 20,
                    includes_career_support: false,
                },
            ],
        }
    }
}

/// Every table the seeder fills, in a dependency-respecting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Specializations,
    Users,
    PartnerCompanies,
    Tags,
    TeacherProfiles,
    Courses,
    BlogPosts,
    Topics,
    Projects,
    CourseStaff,
    CourseRuns,
    Purchases,
    Reviews,
    Certificates,
    CareerTracks,
    JobApplications,
    PostTags,
    RefreshTokens,
    RevokedTokens,
    Submissions,
    SubmissionComments,
    ReviewTurnaround,
}

impl Table {
    pub const ALL: [Table; 22] = [
        Self::Specializations,
        Self::Users,
        Self::PartnerCompanies,
        Self::Tags,
        Self::TeacherProfiles,
        Self::Courses,
        Self::BlogPosts,
        Self::Topics,
        Self::Projects,
        Self::CourseStaff,
        Self::CourseRuns,
        Self::Purchases,
        Self::Reviews,
        Self::Certificates,
        Self::CareerTracks,
        Self::JobApplications,
        Self::PostTags,
        Self::RefreshTokens,
        Self::RevokedTokens,
        Self::Submissions,
        Self::SubmissionComments,
        Self::ReviewTurnaround,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Specializations => "specializations",
            Self::Users => "users",
            Self::PartnerCompanies => "partner_companies",
            Self::Tags => "tags",
            Self::TeacherProfiles => "teacher_profiles",
            Self::Courses => "courses",
            Self::BlogPosts => "blog_posts",
            Self::Topics => "topics",
            Self::Projects => "projects",
            Self::CourseStaff => "course_staff",
            Self::CourseRuns => "course_runs",
            Self::Purchases => "purchases",
            Self::Reviews => "reviews",
            Self::Certificates => "certificates",
            Self::CareerTracks => "career_tracks",
            Self::JobApplications => "job_applications",
            Self::PostTags => "post_tags",
            Self::RefreshTokens => "refresh_tokens",
            Self::RevokedTokens => "revoked_tokens",
            Self::Submissions => "submissions",
            Self::SubmissionComments => "submission_comments",
            Self::ReviewTurnaround => "review_turnaround",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Tables whose rows this table references (seeded ones only; plans and difficulty
    /// levels come with the migration).
    pub fn depends_on(self) -> &'static [Table] {
        use Table::*;
        match self {
            Specializations | Users | PartnerCompanies | Tags => &[],
            TeacherProfiles => &[Users, Specializations],
            Courses => &[Specializations],
            BlogPosts => &[Users],
            Topics => &[Courses],
            Projects => &[Topics],
            CourseStaff => &[Courses, Users],
            CourseRuns => &[Courses],
            Purchases => &[Users, CourseRuns],
            Reviews | Certificates | CareerTracks => &[Users, Courses],
            JobApplications => &[CareerTracks, PartnerCompanies],
            PostTags => &[BlogPosts, Tags],
            RefreshTokens | RevokedTokens => &[Users],
            Submissions => &[Users, Courses, Projects],
            SubmissionComments => &[Submissions, Users],
            ReviewTurnaround => &[Courses],
        }
    }

    /// The COPY column list. `courses.search_vector` is generated and never listed.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Specializations => catalog::SPECIALIZATION_COLUMNS,
            Self::Users => people::USER_COLUMNS,
            Self::PartnerCompanies => career::COMPANY_COLUMNS,
            Self::Tags => blog::TAG_COLUMNS,
            Self::TeacherProfiles => people::TEACHER_PROFILE_COLUMNS,
            Self::Courses => catalog::COURSE_COLUMNS,
            Self::BlogPosts => blog::POST_COLUMNS,
            Self::Topics => catalog::TOPIC_COLUMNS,
            Self::Projects => catalog::PROJECT_COLUMNS,
            Self::CourseStaff => catalog::COURSE_STAFF_COLUMNS,
            Self::CourseRuns => catalog::COURSE_RUN_COLUMNS,
            Self::Purchases => commerce::PURCHASE_COLUMNS,
            Self::Reviews => commerce::REVIEW_COLUMNS,
            Self::Certificates => commerce::CERTIFICATE_COLUMNS,
            Self::CareerTracks => career::TRACK_COLUMNS,
            Self::JobApplications => career::APPLICATION_COLUMNS,
            Self::PostTags => blog::POST_TAG_COLUMNS,
            Self::RefreshTokens => sessions::REFRESH_TOKEN_COLUMNS,
            Self::RevokedTokens => sessions::REVOKED_TOKEN_COLUMNS,
            Self::Submissions => learning::SUBMISSION_COLUMNS,
            Self::SubmissionComments => learning::COMMENT_COLUMNS,
            Self::ReviewTurnaround => learning::TURNAROUND_COLUMNS,
        }
    }

    /// Whether the table has an identity `id` whose sequence must follow the loaded ids.
    pub fn has_identity(self) -> bool {
        self.columns().first() == Some(&"id")
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The skeleton of the whole data set. Index `i` of each vector is the row with id `i + 1`.
#[derive(Debug)]
pub struct World {
    pub params: Params,
    pub counts: Counts,
    pub time: Timeline,
    pub lookups: Lookups,
    /// argon2id hashes, index 0 for bulk users, then per known-account kind.
    pub password_hashes: Vec<String>,
    pub known: Vec<KnownAccount>,
    pub users: Vec<User>,
    /// (user id, specialization index) of every teacher.
    pub teachers: Vec<(u32, u8)>,
    pub courses: Vec<Course>,
    pub topics: Vec<Topic>,
    pub projects: Vec<catalog::Project>,
    pub staffing: Vec<Staffing>,
    pub runs: Vec<Run>,
    pub run_last_sale: Vec<i64>,
    pub purchases: Vec<Purchase>,
    pub reviews: Vec<Review>,
    pub certificates: Vec<Certificate>,
    pub tracks: Vec<Track>,
    pub companies: Vec<Company>,
    pub applications: Vec<Application>,
    pub posts: Vec<Post>,
    pub post_tags: Vec<(u32, u32)>,
    /// Submissions, mentors' comments and the turnaround histogram.
    pub learning: Learning,
    /// Deactivation and `tokens_valid_from` per user (index `id - 1`).
    pub lifecycle: Vec<Lifecycle>,
    pub sessions: Sessions,
}

impl World {
    /// Builds the skeleton for `params`. Pure: the same inputs give the same world.
    pub fn build(params: Params, lookups: Lookups) -> Self {
        let counts = Counts::for_scale(params.scale);
        let time = Timeline::new(params.anchor);
        let s = |table: &str| rng::stream(params.seed, &format!("skeleton:{table}"));

        let users = people::build_users(&counts, &time, &mut s("users"));
        let positions: Vec<_> = users.iter().map(|u| u.position).collect();
        let known = accounts::pick_known(&positions);
        let courses = catalog::build_courses(&counts, &time, &mut s("courses"));
        let topics = catalog::build_topics(&courses, &time, &mut s("topics"));
        let projects = catalog::build_projects(&topics, &time, &mut s("projects"));
        let (teachers, staffing) =
            catalog::build_staffing(&courses, &users, &time, &mut s("course_staff"));
        let mut runs = catalog::build_runs(&courses, &time, &mut s("course_runs"));
        let sales = commerce::build_purchases(
            counts.purchases,
            &users,
            &courses,
            &runs,
            &time,
            &mut s("purchases"),
        );
        catalog::settle_seats(&mut runs, &sales.active, &time, &mut s("seats"));
        let purchases = sales.purchases;
        let reviews =
            commerce::build_reviews(&purchases, &courses, &runs, &time, &mut s("reviews"));
        let certificates = commerce::build_certificates(
            &purchases,
            &courses,
            &runs,
            &time,
            &mut s("certificates"),
        );
        let career_plan = lookups.plans.map(|p| p.includes_career_support);
        let tracks =
            career::build_tracks(&certificates, &career_plan, &time, &mut s("career_tracks"));
        let mut companies =
            career::build_companies(counts.companies, &time, &mut s("partner_companies"));
        let applications =
            career::build_applications(&tracks, &mut companies, &time, &mut s("job_applications"));
        let posts = blog::build_posts(counts.posts, &users, &time, &mut s("blog_posts"));
        let post_tags = blog::build_post_tags(posts.len(), &mut s("post_tags"));
        let learning = learning::build_learning(
            &learning::Inputs {
                purchases: &purchases,
                courses: &courses,
                runs: &runs,
                topics: &topics,
                projects: &projects,
                staffing: &staffing,
                certificates: &certificates,
            },
            &time,
            &mut s("submissions"),
        );
        // After everything a user did: a deactivation follows the user's last activity.
        let activity = lifecycle::Activity {
            purchases: &purchases,
            reviews: &reviews,
            certificates: &certificates,
            tracks: &tracks,
            applications: &applications,
            posts: &posts,
            submissions: &learning.submissions,
        };
        let lifecycle =
            lifecycle::build_lifecycle(&users, &known, &activity, &time, &mut s("lifecycle"));
        let sessions =
            sessions::build_sessions(&users, &lifecycle, &time, &mut s("refresh_tokens"));

        Self {
            params,
            counts,
            time,
            lookups,
            password_hashes: accounts::hash_passwords(params.seed),
            known,
            users,
            teachers,
            courses,
            topics,
            projects,
            staffing,
            runs,
            run_last_sale: sales.last_sale,
            purchases,
            reviews,
            certificates,
            tracks,
            companies,
            applications,
            posts,
            post_tags,
            learning,
            lifecycle,
            sessions,
        }
    }

    /// How many rows `table` gets.
    pub fn rows(&self, table: Table) -> u64 {
        (match table {
            Table::Specializations => text::SPECIALIZATIONS.len(),
            Table::Users => self.users.len(),
            Table::PartnerCompanies => self.companies.len(),
            Table::Tags => text::TAGS.len(),
            Table::TeacherProfiles => self.teachers.len(),
            Table::Courses => self.courses.len(),
            Table::BlogPosts => self.posts.len(),
            Table::Topics => self.topics.len(),
            Table::Projects => self.projects.len(),
            Table::CourseStaff => self.staffing.len(),
            Table::CourseRuns => self.runs.len(),
            Table::Purchases => self.purchases.len(),
            Table::Reviews => self.reviews.len(),
            Table::Certificates => self.certificates.len(),
            Table::CareerTracks => self.tracks.len(),
            Table::JobApplications => self.applications.len(),
            Table::PostTags => self.post_tags.len(),
            Table::RefreshTokens => self.sessions.refresh.len(),
            Table::RevokedTokens => self.sessions.revoked.len(),
            Table::Submissions => self.learning.submissions.len(),
            Table::SubmissionComments => self.learning.comments.len(),
            Table::ReviewTurnaround => self.learning.turnaround.len(),
        }) as u64
    }

    pub fn total_rows(&self) -> u64 {
        Table::ALL.iter().map(|&t| self.rows(t)).sum()
    }
}

/// Encodes every row of `table` into `sink`; returns the row count.
pub fn write_table<S: RowSink>(world: &World, table: Table, sink: S) -> Result<u64, Stopped> {
    let mut rng: SeedRng = rng::stream(world.params.seed, &format!("rows:{}", table.name()));
    let mut out = RowWriter::new(sink, table.columns().len());
    let rng = &mut rng;
    let w = &mut out;
    match table {
        Table::Specializations => catalog::write_specializations(world, rng, w),
        Table::Users => people::write_users(world, rng, w),
        Table::PartnerCompanies => career::write_companies(world, rng, w),
        Table::Tags => blog::write_tags(world, rng, w),
        Table::TeacherProfiles => people::write_teacher_profiles(world, rng, w),
        Table::Courses => catalog::write_courses(world, rng, w),
        Table::BlogPosts => blog::write_posts(world, rng, w),
        Table::Topics => catalog::write_topics(world, rng, w),
        Table::Projects => catalog::write_projects(world, rng, w),
        Table::CourseStaff => catalog::write_course_staff(world, rng, w),
        Table::CourseRuns => catalog::write_course_runs(world, rng, w),
        Table::Purchases => commerce::write_purchases(world, rng, w),
        Table::Reviews => commerce::write_reviews(world, rng, w),
        Table::Certificates => commerce::write_certificates(world, rng, w),
        Table::CareerTracks => career::write_tracks(world, rng, w),
        Table::JobApplications => career::write_applications(world, rng, w),
        Table::PostTags => blog::write_post_tags(world, rng, w),
        Table::RefreshTokens => sessions::write_refresh_tokens(world, rng, w),
        Table::RevokedTokens => sessions::write_revoked_tokens(world, rng, w),
        Table::Submissions => learning::write_submissions(world, rng, w),
        Table::SubmissionComments => learning::write_comments(world, rng, w),
        Table::ReviewTurnaround => learning::write_turnaround(world, rng, w),
    }?;
    out.finish()
}

#[cfg(test)]
mod learning_tests;
#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
