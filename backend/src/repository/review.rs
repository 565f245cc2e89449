//! `reviews` rows with their author's name.

use lyceum_db::DbError;
use tokio_postgres::Row;

use super::Queries;
use super::page::fetch_page;
use crate::entity::page::{Page, PageRequest};
use crate::entity::review::{Review, ReviewForCreate, ReviewForUpdate};

const REVIEW_SELECT: &str = "SELECT r.id, r.course_id, r.user_id, \
     u.first_name || ' ' || u.last_name AS author_name, r.rating, r.body, r.created_at, \
     r.updated_at \
     FROM reviews r JOIN users u ON u.id = r.user_id";

fn review_from_row(r: &Row) -> Review {
    Review {
        id: r.get("id"),
        course_id: r.get("course_id"),
        user_id: r.get("user_id"),
        author_name: r.get("author_name"),
        rating: r.get("rating"),
        body: r.get("body"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

const NEWEST_FIRST: &str = "ORDER BY r.created_at DESC, r.id DESC";

#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewRepository;

impl ReviewRepository {
    /// A course's reviews, newest first (`reviews_course_created_idx`).
    #[tracing::instrument(level = "debug", skip_all, fields(course_id))]
    pub async fn list_for_course(
        &self,
        c: &impl Queries,
        course_id: i64,
        page: PageRequest,
    ) -> Result<Page<Review>, DbError> {
        let sql = format!("{REVIEW_SELECT} WHERE r.course_id = $1 {NEWEST_FIRST}");
        fetch_page(c, &sql, &[&course_id], page, |r| Ok(review_from_row(r))).await
    }

    /// A user's reviews, newest first.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
    pub async fn list_for_user(
        &self,
        c: &impl Queries,
        user_id: i64,
        page: PageRequest,
    ) -> Result<Page<Review>, DbError> {
        let sql = format!("{REVIEW_SELECT} WHERE r.user_id = $1 {NEWEST_FIRST}");
        fetch_page(c, &sql, &[&user_id], page, |r| Ok(review_from_row(r))).await
    }

    pub async fn find(&self, c: &impl Queries, id: i64) -> Result<Option<Review>, DbError> {
        let row = c
            .query_opt(&format!("{REVIEW_SELECT} WHERE r.id = $1"), &[&id])
            .await?;
        Ok(row.as_ref().map(review_from_row))
    }

    /// Locks the review for a change; its `(user_id, course_id)` when it exists.
    pub async fn lock(&self, c: &impl Queries, id: i64) -> Result<Option<(i64, i64)>, DbError> {
        let row = c
            .query_opt(
                "SELECT user_id, course_id FROM reviews WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
        Ok(row.map(|r| (r.get("user_id"), r.get("course_id"))))
    }

    /// Fails with `reviews_user_course_key` for a second review of the same course.
    pub async fn insert(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
        new: &ReviewForCreate,
    ) -> Result<i64, DbError> {
        let row = c
            .query_one(
                "INSERT INTO reviews (user_id, course_id, rating, body) VALUES ($1, $2, $3, $4) \
                 RETURNING id",
                &[&user_id, &course_id, &new.rating, &new.body],
            )
            .await?;
        Ok(row.get("id"))
    }

    pub async fn update(
        &self,
        c: &impl Queries,
        id: i64,
        changes: &ReviewForUpdate,
    ) -> Result<(), DbError> {
        c.execute(
            "UPDATE reviews SET rating = COALESCE($2, rating), body = COALESCE($3, body) \
             WHERE id = $1",
            &[&id, &changes.rating, &changes.body],
        )
        .await?;
        Ok(())
    }

    pub async fn delete(&self, c: &impl Queries, id: i64) -> Result<(), DbError> {
        c.execute("DELETE FROM reviews WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }
}
