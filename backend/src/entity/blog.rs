//! The blog: posts by smm staff with tags; readers see posts whose `published_at` has passed,
//! editors (smm, admin) also see drafts (`published_at` absent) and scheduled posts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page::PageRequest;
use super::{
    user::{Principal, StaffPosition},
    validation::{FieldError, ValidationErrors, in_range, long_text, text, url},
};

/// At most this many tags per post.
pub const MAX_TAGS: usize = 10;
pub const TITLE_MAX: usize = 300;
pub const TOPIC_MAX: usize = 100;
pub const READING_MINUTES_MAX: i32 = 600;
pub const BODY_MAX: usize = 200_000;
/// Characters per tag name.
pub const TAG_MAX: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Author {
    pub id: i64,
    pub name: String,
}

/// A post as it appears in the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PostSummary {
    pub id: i64,
    pub title: String,
    pub topic: String,
    pub reading_minutes: i32,
    pub cover_url: Option<String>,
    /// Absent for a draft; in the future for a scheduled post.
    pub published_at: Option<DateTime<Utc>>,
    pub author: Author,
    /// Tag names, alphabetical.
    pub tags: Vec<String>,
}

/// A post with its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PostDetail {
    #[serde(flatten)]
    pub post: PostSummary,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Tag {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostForCreate {
    /// `None`: the caller writes under their own name.
    pub author_id: Option<i64>,
    pub title: String,
    pub topic: String,
    pub reading_minutes: i32,
    pub cover_url: Option<String>,
    pub body: String,
    pub tags: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
}

/// Post changes. `Some(None)` clears a nullable field (`published_at: null` makes a draft).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostForUpdate {
    pub title: Option<String>,
    pub topic: Option<String>,
    pub reading_minutes: Option<i32>,
    pub cover_url: Option<Option<String>>,
    pub body: Option<String>,
    /// Replaces every tag of the post.
    pub tags: Option<Vec<String>>,
    pub published_at: Option<Option<DateTime<Utc>>>,
}

/// Query string of the feed.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Only posts with this tag (case-insensitive).
    pub tag: Option<String>,
    /// 1-based page number (at most 500).
    pub page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    pub page_size: Option<u32>,
}

/// A valid feed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedQuery {
    /// Lowercased.
    pub tag: Option<String>,
    pub page: PageRequest,
}

impl FeedQuery {
    pub fn parse(p: FeedParams) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let page = PageRequest::take_from(&mut errors, p.page, p.page_size);
        let tag = p
            .tag
            .filter(|t| !t.trim().is_empty())
            .and_then(|t| errors.take(tag_name("tag", &t)))
            .map(|t| t.to_lowercase());
        errors.finish(|| Self { tag, page })
    }

    /// Names the page in the cache; only first pages are cached.
    pub fn cache_field(&self) -> Option<String> {
        (self.page.page == 1).then(|| {
            format!(
                "tag={}|n={}",
                self.tag.as_deref().unwrap_or(""),
                self.page.page_size
            )
        })
    }
}

/// Who writes the blog: smm staff and admins.
pub fn may_edit(who: &Principal) -> bool {
    who.is_staff()
        && matches!(
            who.position,
            Some(StaffPosition::Smm | StaffPosition::Admin)
        )
}

pub fn title(input: &str) -> Result<String, FieldError> {
    text("title", input, TITLE_MAX)
}
pub fn topic(input: &str) -> Result<String, FieldError> {
    text("topic", input, TOPIC_MAX)
}
pub fn reading_minutes(v: i32) -> Result<i32, FieldError> {
    in_range("reading_minutes", v, 1, READING_MINUTES_MAX)
}
pub fn cover_url(input: &str) -> Result<String, FieldError> {
    url("cover_url", input)
}
pub fn body(input: &str) -> Result<String, FieldError> {
    let b = long_text("body", input, BODY_MAX)?;
    if b.is_empty() {
        return Err(FieldError::new("body", "must not be blank"));
    }
    Ok(b)
}

fn tag_name(field: &str, input: &str) -> Result<String, FieldError> {
    text(field, input, TAG_MAX)
}

/// Trimmed, non-blank, at most 50 characters each, at most [`MAX_TAGS`], duplicates (ignoring
/// case) dropped; the first spelling wins.
pub fn tags(input: Vec<String>) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for (i, t) in input.iter().enumerate() {
        let name = tag_name(&format!("tags[{i}]"), t)?;
        if !out.iter().any(|o| o.to_lowercase() == name.to_lowercase()) {
            out.push(name);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(FieldError::new("tags", format!("at most {MAX_TAGS} tags")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    #[test]
    fn tags_are_trimmed_and_deduplicated_ignoring_case() {
        let t = tags(vec![" Rust ".into(), "rust".into(), "SQL".into()]).expect("valid");
        assert_eq!(t, vec!["Rust".to_string(), "SQL".to_string()]);
        assert!(tags(vec!["  ".into()]).is_err());
        assert!(tags((0..11).map(|i| format!("t{i}")).collect()).is_err());
    }

    #[test]
    fn only_first_feed_pages_have_a_cache_field() {
        let q = FeedQuery::parse(FeedParams {
            tag: Some("Rust".into()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(q.cache_field().as_deref(), Some("tag=rust|n=20"));
        let q2 = FeedQuery::parse(FeedParams {
            page: Some(2),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(q2.cache_field(), None);
    }
}
