//! Who the load logs in as, read from the seeded database through the read port: students,
//! and the reviewers and mentors of courses with the courses they work on (docs/SEEDER.md:
//! the known accounts have their own passwords, every other user `lyceum-password`).

use lyceum_db::{Db, DbError};

use crate::journeys::Account;

/// The password of every seeded user that is not a known account.
const BULK_PASSWORD: &str = "lyceum-password";

/// A course staff member and the courses they are assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseStaffer {
    pub account: Account,
    pub courses: Vec<i64>,
}

/// Everyone the journeys may log in as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    pub students: Vec<Account>,
    pub reviewers: Vec<CourseStaffer>,
    pub mentors: Vec<CourseStaffer>,
}

/// How many reviewers and mentors the load works with: enough that concurrent goose users
/// rarely share one, few enough to log in quickly.
const STAFF_PER_ROLE: i64 = 20;

impl Roster {
    /// `students` bulk students picked at random after the five known ones; reviewers and
    /// mentors with at least one course, the known one first.
    pub async fn load(db: &Db, students: i64) -> Result<Self, DbError> {
        let mut all: Vec<Account> = (1..=5)
            .map(|i| Account::new(&format!("student{i}@lyceum.test"), "student-password"))
            .collect();
        all.extend(
            bulk_students(db, students)
                .await?
                .iter()
                .map(|e| Account::new(e, BULK_PASSWORD)),
        );
        Ok(Self {
            students: all,
            reviewers: course_staff(db, "reviewer", "reviewer-password").await?,
            mentors: course_staff(db, "mentor", "mentor-password").await?,
        })
    }
}

async fn bulk_students(db: &Db, limit: i64) -> Result<Vec<String>, DbError> {
    db.read(|c| {
        Box::pin(async move {
            let rows = c
                .query(
                    // Deactivated accounts (the seeder makes some) cannot log in.
                    "SELECT email FROM users \
                     WHERE role = 'student' AND email LIKE '%@example.%' \
                       AND deactivated_at IS NULL \
                     ORDER BY random() LIMIT $1",
                    &[&limit],
                )
                .await?;
            Ok::<_, DbError>(rows.iter().map(|r| r.get::<_, String>(0)).collect())
        })
    })
    .await
}

/// Active staff assigned to courses in `role`: `{role}1@lyceum.test` (password
/// `known_password`) first, then bulk ones at random.
async fn course_staff(
    db: &Db,
    role: &'static str,
    known_password: &'static str,
) -> Result<Vec<CourseStaffer>, DbError> {
    let known = format!("{role}1@lyceum.test");
    let rows = db
        .read(|c| {
            let known = known.clone();
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT u.email, array_agg(cs.course_id ORDER BY cs.course_id) AS courses \
                         FROM users u JOIN course_staff cs ON cs.user_id = u.id AND cs.role = $1 \
                         WHERE u.deactivated_at IS NULL \
                           AND (u.email = $2 OR u.email LIKE '%@example.%') \
                         GROUP BY u.id, u.email \
                         ORDER BY u.email = $2 DESC, random() LIMIT $3",
                        &[&role, &known, &STAFF_PER_ROLE],
                    )
                    .await?;
                Ok::<_, DbError>(
                    rows.iter()
                        .map(|r| (r.get::<_, String>(0), r.get::<_, Vec<i64>>(1)))
                        .collect::<Vec<_>>(),
                )
            })
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|(email, courses)| CourseStaffer {
            account: Account::new(
                &email,
                if email == known {
                    known_password
                } else {
                    BULK_PASSWORD
                },
            ),
            courses,
        })
        .collect())
}
