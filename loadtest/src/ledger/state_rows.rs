//! Reading, on the primary, the rows that the acknowledged state changes ([`super::state`]) name.

use std::collections::{BTreeMap, BTreeSet};

use lyceum_db::DbError;

use super::state::Change;

/// A user as the state check needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserRow {
    /// `tokens_valid_from` as Unix seconds.
    pub tokens_valid_from: Option<f64>,
    pub deactivated: bool,
    pub photo_url: Option<String>,
}

/// A submission as the learning checks need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmissionRow {
    pub user_id: i64,
    pub project_id: i64,
    pub status: String,
    /// Set while `in_review` (the claim's holder).
    pub claimed_by: Option<i64>,
    pub reviewed_by: Option<i64>,
    /// Accepted attempts of the same student at the same project.
    pub accepted_of_project: i64,
}

/// A comment as the learning checks need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommentRow {
    pub submission_id: i64,
    pub author_id: i64,
    /// Comments with the same submission, author and text: a retry stored twice shows here.
    pub copies: i64,
}

/// What the database says about the acknowledged changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateRows {
    /// Purchase id → status.
    pub purchase_status: BTreeMap<i64, String>,
    /// Signatures present in `revoked_tokens`, with their user.
    pub revoked_signatures: BTreeMap<String, i64>,
    /// Refresh token → (tokens in its family, of which revoked).
    pub families: BTreeMap<String, (i64, i64)>,
    pub users: BTreeMap<i64, UserRow>,
    /// Serial → (user, course).
    pub certificates: BTreeMap<String, (i64, i64)>,
    /// (user, course) → certificates held.
    pub certificates_per_pair: BTreeMap<(i64, i64), i64>,
    /// Review id → (user, course).
    pub reviews: BTreeMap<i64, (i64, i64)>,
    /// Of the runs acknowledged deleted, those that exist.
    pub runs_present: BTreeSet<i64>,
    /// Post id → published.
    pub posts: BTreeMap<i64, bool>,
    /// Application id → status.
    pub applications: BTreeMap<i64, String>,
    pub submissions: BTreeMap<i64, SubmissionRow>,
    pub comments: BTreeMap<i64, CommentRow>,
}

/// The ids and keys the changes name, by table.
#[derive(Debug, Default)]
struct Wanted {
    purchases: Vec<i64>,
    signatures: Vec<String>,
    refresh_tokens: Vec<String>,
    users: Vec<i64>,
    serials: Vec<String>,
    cert_users: Vec<i64>,
    cert_courses: Vec<i64>,
    reviews: Vec<i64>,
    runs: Vec<i64>,
    posts: Vec<i64>,
    applications: Vec<i64>,
    submissions: Vec<i64>,
    comments: Vec<i64>,
}

impl Wanted {
    fn of(changes: &[Change]) -> Self {
        let mut w = Self::default();
        for change in changes {
            match change {
                Change::Paid { purchase_id, .. } => w.purchases.push(*purchase_id),
                Change::LoggedOut {
                    signature,
                    refresh_token,
                    ..
                } => {
                    w.signatures.push(signature.clone());
                    w.refresh_tokens.push(refresh_token.clone());
                }
                Change::PasswordChanged { user_id, .. }
                | Change::Deactivated { user_id }
                | Change::ProfileEdited { user_id, .. } => w.users.push(*user_id),
                Change::CertificateIssued {
                    serial_number,
                    user_id,
                    course_id,
                } => {
                    w.serials.push(serial_number.clone());
                    w.cert_users.push(*user_id);
                    w.cert_courses.push(*course_id);
                }
                Change::Reviewed { review_id, .. } => w.reviews.push(*review_id),
                Change::RunDeleted { run_id } => w.runs.push(*run_id),
                Change::PostPublished { post_id } | Change::PostDeleted { post_id } => {
                    w.posts.push(*post_id)
                }
                Change::ApplicationMoved { application_id, .. } => {
                    w.applications.push(*application_id)
                }
                Change::Submitted { submission_id, .. }
                | Change::Claimed { submission_id, .. }
                | Change::Decided { submission_id, .. } => w.submissions.push(*submission_id),
                Change::Commented { comment_id, .. } => w.comments.push(*comment_id),
            }
        }
        w
    }
}

/// Reads the rows the changes name, on `c` (a connection to the primary).
pub async fn read_rows(
    c: &tokio_postgres::Client,
    changes: &[Change],
) -> Result<StateRows, DbError> {
    let w = Wanted::of(changes);
    let mut rows = StateRows::default();
    for r in c
        .query(
            "SELECT id, status::text FROM purchases WHERE id = ANY($1)",
            &[&w.purchases],
        )
        .await?
    {
        rows.purchase_status.insert(r.get(0), r.get(1));
    }
    for r in c
        .query(
            "SELECT signature, user_id FROM revoked_tokens WHERE signature = ANY($1)",
            &[&w.signatures],
        )
        .await?
    {
        rows.revoked_signatures.insert(r.get(0), r.get(1));
    }
    // The same hash the backend stores (repository/refresh_token.rs).
    for r in c
        .query(
            "SELECT k.token, count(f.*), count(f.revoked_at) \
             FROM unnest($1::text[]) AS k(token) \
             JOIN refresh_tokens t ON t.token_hash = sha256(convert_to(k.token, 'UTF8')) \
             JOIN refresh_tokens f ON f.family_id = t.family_id \
             GROUP BY k.token",
            &[&w.refresh_tokens],
        )
        .await?
    {
        rows.families.insert(r.get(0), (r.get(1), r.get(2)));
    }
    for r in c
        .query(
            "SELECT id, extract(epoch FROM tokens_valid_from)::float8, \
                    deactivated_at IS NOT NULL, photo_url \
             FROM users WHERE id = ANY($1)",
            &[&w.users],
        )
        .await?
    {
        let user = UserRow {
            tokens_valid_from: r.get(1),
            deactivated: r.get(2),
            photo_url: r.get(3),
        };
        rows.users.insert(r.get(0), user);
    }
    for r in c
        .query(
            "SELECT serial_number, user_id, course_id FROM certificates \
             WHERE serial_number = ANY($1)",
            &[&w.serials],
        )
        .await?
    {
        rows.certificates.insert(r.get(0), (r.get(1), r.get(2)));
    }
    for r in c
        .query(
            "SELECT c.user_id, c.course_id, count(*) FROM certificates c \
             JOIN (SELECT DISTINCT * FROM unnest($1::bigint[], $2::bigint[])) AS k(user_id, course_id) \
               ON c.user_id = k.user_id AND c.course_id = k.course_id \
             GROUP BY c.user_id, c.course_id",
            &[&w.cert_users, &w.cert_courses],
        )
        .await?
    {
        rows.certificates_per_pair
            .insert((r.get(0), r.get(1)), r.get(2));
    }
    for r in c
        .query(
            "SELECT id, user_id, course_id FROM reviews WHERE id = ANY($1)",
            &[&w.reviews],
        )
        .await?
    {
        rows.reviews.insert(r.get(0), (r.get(1), r.get(2)));
    }
    for r in c
        .query("SELECT id FROM course_runs WHERE id = ANY($1)", &[&w.runs])
        .await?
    {
        rows.runs_present.insert(r.get(0));
    }
    for r in c
        .query(
            "SELECT id, published_at IS NOT NULL FROM blog_posts WHERE id = ANY($1)",
            &[&w.posts],
        )
        .await?
    {
        rows.posts.insert(r.get(0), r.get(1));
    }
    for r in c
        .query(
            "SELECT id, status::text FROM job_applications WHERE id = ANY($1)",
            &[&w.applications],
        )
        .await?
    {
        rows.applications.insert(r.get(0), r.get(1));
    }
    for r in c
        .query(
            "SELECT s.id, s.user_id, s.project_id, s.status, s.claimed_by, s.reviewed_by, \
                    (SELECT count(*) FROM submissions a WHERE a.user_id = s.user_id \
                        AND a.project_id = s.project_id AND a.status = 'accepted') \
             FROM submissions s WHERE s.id = ANY($1)",
            &[&w.submissions],
        )
        .await?
    {
        let row = SubmissionRow {
            user_id: r.get(1),
            project_id: r.get(2),
            status: r.get(3),
            claimed_by: r.get(4),
            reviewed_by: r.get(5),
            accepted_of_project: r.get(6),
        };
        rows.submissions.insert(r.get(0), row);
    }
    for r in c
        .query(
            "SELECT m.id, m.submission_id, m.author_id, \
                    (SELECT count(*) FROM submission_comments d WHERE d.submission_id = m.submission_id \
                        AND d.author_id = m.author_id AND d.body = m.body) \
             FROM submission_comments m WHERE m.id = ANY($1)",
            &[&w.comments],
        )
        .await?
    {
        let row = CommentRow {
            submission_id: r.get(1),
            author_id: r.get(2),
            copies: r.get(3),
        };
        rows.comments.insert(r.get(0), row);
    }
    Ok(rows)
}
