//! Project submissions: an enrolled student's attempts at a project, and their review.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::validation::{FieldError, ValidationErrors, long_text, text, url};

/// Longest note and feedback (the schema's `submissions_note_length`, `..._feedback_length`).
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Where a submission is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// Waiting in the course's review queue.
    Submitted,
    /// Claimed by a reviewer (back in the queue once `claimed_until` has passed).
    InReview,
    Accepted,
    /// Sent back with feedback; the student answers with a new attempt.
    Returned,
}

impl SubmissionStatus {
    /// The name stored in `submissions.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::InReview => "in_review",
            Self::Accepted => "accepted",
            Self::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Submitted,
            Self::InReview,
            Self::Accepted,
            Self::Returned,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Waiting for a review (in the queue or claimed).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Submitted | Self::InReview)
    }
}

/// One attempt at a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Submission {
    pub id: i64,
    pub user_id: i64,
    pub course_id: i64,
    pub project_id: i64,
    /// 1 for the first attempt at the project, 2 after a return, ...
    pub attempt: i32,
    pub repository_url: String,
    pub note: String,
    pub status: SubmissionStatus,
    /// The reviewer holding (or who last held) the claim.
    pub claimed_by: Option<i64>,
    /// Until when the claim holds; after it the submission is back in the queue.
    pub claimed_until: Option<DateTime<Utc>>,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<DateTime<Utc>>,
    /// The reviewer's words with a return (or an acceptance); may be empty.
    pub feedback: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A mentor's or reviewer's comment on a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SubmissionComment {
    pub id: i64,
    pub submission_id: i64,
    pub author_id: i64,
    /// The author's first and last name.
    pub author_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A submission with its comments, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SubmissionDetail {
    pub submission: Submission,
    pub comments: Vec<SubmissionComment>,
}

/// A comment's text: not blank, at most [`MAX_TEXT_CHARS`].
pub fn comment_body(input: &str) -> Result<String, FieldError> {
    text("body", input, MAX_TEXT_CHARS)
}

/// A valid new attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionForCreate {
    pub project_id: i64,
    pub repository_url: String,
    pub note: String,
}

impl SubmissionForCreate {
    pub fn parse(
        project_id: i64,
        repository_url: &str,
        note: Option<&str>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if project_id < 1 {
            errors.push("project_id", "must be a positive id");
        }
        let repository_url = errors.take(url("repository_url", repository_url));
        let note = errors.take(long_text("note", note.unwrap_or(""), MAX_TEXT_CHARS));
        errors.finish(|| Self {
            project_id,
            repository_url: repository_url.unwrap_or_default(),
            note: note.unwrap_or_default(),
        })
    }
}

/// What a reviewer decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept {
        feedback: String,
    },
    /// Feedback is required: a return without a reason helps nobody.
    Return {
        feedback: String,
    },
}

impl Verdict {
    pub fn accept(feedback: Option<&str>) -> Result<Self, FieldError> {
        long_text("feedback", feedback.unwrap_or(""), MAX_TEXT_CHARS)
            .map(|feedback| Self::Accept { feedback })
    }

    pub fn send_back(feedback: &str) -> Result<Self, FieldError> {
        text("feedback", feedback, MAX_TEXT_CHARS).map(|feedback| Self::Return { feedback })
    }

    pub fn status(&self) -> SubmissionStatus {
        match self {
            Self::Accept { .. } => SubmissionStatus::Accepted,
            Self::Return { .. } => SubmissionStatus::Returned,
        }
    }

    pub fn feedback(&self) -> &str {
        match self {
            Self::Accept { feedback } | Self::Return { feedback } => feedback,
        }
    }
}

/// A reviewer's decision, with the certificate it earned when it completed the course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reviewed {
    pub submission: Submission,
    /// Set when this acceptance was the student's last project of the course: the
    /// certificate was issued in the same transaction.
    pub certificate_serial: Option<String>,
}

/// One project of a course with the caller's attempts at it, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectProgress {
    pub project_id: i64,
    pub title: String,
    /// The latest attempt's status; `None` when never submitted.
    pub status: Option<SubmissionStatus>,
    pub attempts: Vec<Submission>,
}

/// A topic's projects, and how many of them are accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TopicProgress {
    pub topic_id: i64,
    pub position: i32,
    pub name: String,
    pub accepted: usize,
    pub total: usize,
    pub projects: Vec<ProjectProgress>,
}

/// A student's progress in a course: accepted projects out of the total, per topic and in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CourseProgress {
    pub course_id: i64,
    pub accepted: usize,
    pub total: usize,
    /// In syllabus order.
    pub topics: Vec<TopicProgress>,
}

impl CourseProgress {
    /// Groups `(topic_id, position, name, project)` rows, in syllabus order, into topics.
    pub fn from_projects(
        course_id: i64,
        projects: impl IntoIterator<Item = (i64, i32, String, ProjectProgress)>,
    ) -> Self {
        let mut topics: Vec<TopicProgress> = Vec::new();
        for (topic_id, position, name, project) in projects {
            if topics.last().is_none_or(|t| t.topic_id != topic_id) {
                topics.push(TopicProgress {
                    topic_id,
                    position,
                    name,
                    accepted: 0,
                    total: 0,
                    projects: Vec::new(),
                });
            }
            if let Some(topic) = topics.last_mut() {
                topic.total += 1;
                topic.accepted += usize::from(project.status == Some(SubmissionStatus::Accepted));
                topic.projects.push(project);
            }
        }
        Self {
            course_id,
            accepted: topics.iter().map(|t| t.accepted).sum(),
            total: topics.iter().map(|t| t.total).sum(),
            topics,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_open_ones_are_known() {
        for s in ["submitted", "in_review", "accepted", "returned"] {
            assert_eq!(SubmissionStatus::parse(s).unwrap().as_str(), s);
        }
        assert!(SubmissionStatus::parse("done").is_none());
        assert!(SubmissionStatus::InReview.is_open());
        assert!(!SubmissionStatus::Returned.is_open());
    }

    #[test]
    fn a_submission_needs_an_http_url_and_a_bounded_note() {
        let ok = SubmissionForCreate::parse(3, " https://git.example/a/b ", None).unwrap();
        assert_eq!(ok.repository_url, "https://git.example/a/b");
        assert_eq!(ok.note, "");
        let bad = SubmissionForCreate::parse(0, "ftp://x", Some(&"n".repeat(10_001))).unwrap_err();
        let fields: Vec<_> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["project_id", "repository_url", "note"]);
    }

    #[test]
    fn progress_counts_accepted_projects_per_topic_and_course() {
        let project = |id, status| ProjectProgress {
            project_id: id,
            title: format!("p{id}"),
            status,
            attempts: vec![],
        };
        let p = CourseProgress::from_projects(
            7,
            [
                (
                    1,
                    1,
                    "a".into(),
                    project(1, Some(SubmissionStatus::Accepted)),
                ),
                (
                    2,
                    2,
                    "b".into(),
                    project(2, Some(SubmissionStatus::Returned)),
                ),
                (
                    2,
                    2,
                    "b".into(),
                    project(3, Some(SubmissionStatus::Accepted)),
                ),
                (2, 2, "b".into(), project(4, None)),
            ],
        );
        assert_eq!((p.accepted, p.total), (2, 4));
        let per_topic: Vec<_> = p.topics.iter().map(|t| (t.accepted, t.total)).collect();
        assert_eq!(per_topic, [(1, 1), (1, 3)]);
    }

    #[test]
    fn a_return_needs_feedback_and_an_acceptance_may_have_none() {
        assert!(Verdict::send_back("  ").is_err());
        assert_eq!(
            Verdict::send_back("add tests").unwrap().status(),
            SubmissionStatus::Returned
        );
        assert_eq!(Verdict::accept(None).unwrap().feedback(), "");
    }
}
