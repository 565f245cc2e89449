//! Blog SQL: the feed (`blog_posts_published_idx`, tag filter through `post_tags_tag_idx`),
//! post pages, edits, and tags (unique ignoring case, `tags_name_lower_key`).

use lyceum_db::DbError;
use tokio_postgres::Row;

use super::Queries;
use super::page::fetch_page;
use crate::entity::blog::{
    Author, FeedQuery, PostDetail, PostForCreate, PostForUpdate, PostSummary, Tag,
};
use crate::entity::page::Page;

/// The post columns; the body only for a post page (a feed entry has none).
fn post_select(with_body: bool) -> String {
    format!(
        "SELECT p.id, p.title, p.topic, p.reading_minutes, p.cover_url, p.published_at, \
         u.id AS author_id, u.first_name || ' ' || u.last_name AS author_name, \
         ARRAY(SELECT t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id \
               WHERE pt.post_id = p.id ORDER BY lower(t.name)) AS tags, {} AS body \
         FROM blog_posts p JOIN users u ON u.id = p.author_id",
        if with_body { "p.body" } else { "NULL::text" }
    )
}

fn summary_from_row(r: &Row) -> PostSummary {
    PostSummary {
        id: r.get("id"),
        title: r.get("title"),
        topic: r.get("topic"),
        reading_minutes: r.get("reading_minutes"),
        cover_url: r.get("cover_url"),
        published_at: r.get("published_at"),
        author: Author {
            id: r.get("author_id"),
            name: r.get("author_name"),
        },
        tags: r.get("tags"),
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct BlogRepository;

impl BlogRepository {
    /// Published posts (`published_at <= now()`), newest first, optionally with one tag.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn feed(
        &self,
        c: &impl Queries,
        q: &FeedQuery,
    ) -> Result<Page<PostSummary>, DbError> {
        let sql = format!(
            "{} WHERE p.published_at IS NOT NULL AND p.published_at <= now() \
             AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM tags t \
                  JOIN post_tags pt ON pt.tag_id = t.id \
                  WHERE lower(t.name) = $1 AND pt.post_id = p.id)) \
             ORDER BY p.published_at DESC, p.id DESC",
            post_select(false)
        );
        fetch_page(c, &sql, &[&q.tag], q.page, |r| Ok(summary_from_row(r))).await
    }

    /// A post; drafts and scheduled posts only with `include_unpublished`.
    pub async fn detail(
        &self,
        c: &impl Queries,
        id: i64,
        include_unpublished: bool,
    ) -> Result<Option<PostDetail>, DbError> {
        let row = c
            .query_opt(
                &format!(
                    "{} WHERE p.id = $1 AND ($2 OR (p.published_at IS NOT NULL \
                     AND p.published_at <= now()))",
                    post_select(true)
                ),
                &[&id, &include_unpublished],
            )
            .await?;
        Ok(row.map(|r| PostDetail {
            post: summary_from_row(&r),
            body: r.get("body"),
        }))
    }

    pub async fn insert(
        &self,
        c: &impl Queries,
        author_id: i64,
        new: &PostForCreate,
    ) -> Result<i64, DbError> {
        let row = c
            .query_one(
                "INSERT INTO blog_posts (author_id, title, topic, reading_minutes, cover_url, \
                 body, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &author_id,
                    &new.title,
                    &new.topic,
                    &new.reading_minutes,
                    &new.cover_url,
                    &new.body,
                    &new.published_at,
                ],
            )
            .await?;
        Ok(row.get("id"))
    }

    /// Locks the post for an edit; `false` when there is none.
    pub async fn lock(&self, c: &impl Queries, id: i64) -> Result<bool, DbError> {
        let row = c
            .query_opt("SELECT 1 FROM blog_posts WHERE id = $1 FOR UPDATE", &[&id])
            .await?;
        Ok(row.is_some())
    }

    pub async fn update(
        &self,
        c: &impl Queries,
        id: i64,
        changes: &PostForUpdate,
    ) -> Result<(), DbError> {
        // For nullable columns a flag says whether to set them (possibly to NULL).
        let (set_cover, cover) = split(&changes.cover_url);
        let (set_published, published_at) = split(&changes.published_at);
        c.execute(
            "UPDATE blog_posts SET title = COALESCE($2, title), topic = COALESCE($3, topic), \
             reading_minutes = COALESCE($4, reading_minutes), body = COALESCE($5, body), \
             cover_url = CASE WHEN $6 THEN $7 ELSE cover_url END, \
             published_at = CASE WHEN $8 THEN $9 ELSE published_at END \
             WHERE id = $1",
            &[
                &id,
                &changes.title,
                &changes.topic,
                &changes.reading_minutes,
                &changes.body,
                &set_cover,
                &cover,
                &set_published,
                &published_at,
            ],
        )
        .await?;
        Ok(())
    }

    /// Replaces the post's tags, creating unknown ones. Names match ignoring case; an existing
    /// tag keeps its spelling.
    pub async fn set_tags(
        &self,
        c: &impl Queries,
        post_id: i64,
        names: &[String],
    ) -> Result<(), DbError> {
        c.execute("DELETE FROM post_tags WHERE post_id = $1", &[&post_id])
            .await?;
        if names.is_empty() {
            return Ok(());
        }
        c.execute(
            "INSERT INTO tags (name) SELECT unnest($1::text[]) \
             ON CONFLICT ((lower(name))) DO NOTHING",
            &[&names],
        )
        .await?;
        c.execute(
            "INSERT INTO post_tags (post_id, tag_id) \
             SELECT $1, id FROM tags WHERE lower(name) = ANY (SELECT lower(unnest($2::text[]))) \
             ON CONFLICT DO NOTHING",
            &[&post_id, &names],
        )
        .await?;
        Ok(())
    }

    /// `false` when there was no such post; its tag links go with it (CASCADE).
    pub async fn delete(&self, c: &impl Queries, id: i64) -> Result<bool, DbError> {
        let n = c
            .execute("DELETE FROM blog_posts WHERE id = $1", &[&id])
            .await?;
        Ok(n == 1)
    }

    /// Every tag, alphabetical.
    pub async fn tags(&self, c: &impl Queries) -> Result<Vec<Tag>, DbError> {
        let rows = c
            .query("SELECT id, name FROM tags ORDER BY lower(name), id", &[])
            .await?;
        Ok(rows
            .iter()
            .map(|r| Tag {
                id: r.get("id"),
                name: r.get("name"),
            })
            .collect())
    }
}

/// `Some(v)` → set to `v` (which may be NULL); `None` → leave as is.
fn split<T: Clone>(change: &Option<Option<T>>) -> (bool, Option<T>) {
    match change {
        Some(v) => (true, v.clone()),
        None => (false, None),
    }
}
