//! `reviews` rows with their author's name.

use lyceum_db::DbError;
use tokio_postgres::Row;

use super::Queries;
use crate::entity::{
    catalog::{Page, PageRequest, page_of},
    review::{Review, ReviewForCreate, ReviewForUpdate},
};

const REVIEW_SELECT: &str = "SELECT r.id, r.course_id, r.user_id, \
     u.first_name || ' ' || u.last_name, r.rating, r.body, r.created_at, r.updated_at \
     FROM reviews r JOIN users u ON u.id = r.user_id";

fn review_from_row(r: &Row) -> Review {
    Review {
        id: r.get(0),
        course_id: r.get(1),
        user_id: r.get(2),
        author_name: r.get(3),
        rating: r.get(4),
        body: r.get(5),
        created_at: r.get(6),
        updated_at: r.get(7),
    }
}

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
        let rows = c
            .query(
                &format!(
                    "{REVIEW_SELECT} WHERE r.course_id = $1 \
                     ORDER BY r.created_at DESC, r.id DESC LIMIT $2 OFFSET $3"
                ),
                &[&course_id, &(i64::from(page.page_size) + 1), &page.offset()],
            )
            .await?;
        Ok(page_of(
            rows.iter().map(review_from_row).collect(),
            page.page,
            page.page_size,
        ))
    }

    /// A user's reviews, newest first.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
    pub async fn list_for_user(
        &self,
        c: &impl Queries,
        user_id: i64,
        page: PageRequest,
    ) -> Result<Page<Review>, DbError> {
        let rows = c
            .query(
                &format!(
                    "{REVIEW_SELECT} WHERE r.user_id = $1 \
                     ORDER BY r.created_at DESC, r.id DESC LIMIT $2 OFFSET $3"
                ),
                &[&user_id, &(i64::from(page.page_size) + 1), &page.offset()],
            )
            .await?;
        Ok(page_of(
            rows.iter().map(review_from_row).collect(),
            page.page,
            page.page_size,
        ))
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
        Ok(row.map(|r| (r.get(0), r.get(1))))
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
        Ok(row.get(0))
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
