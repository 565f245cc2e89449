//! Keeps the cached public course page in step with writes outside the catalog that change
//! its statistics (reviews: rating and count; hires: graduates employed).

use lyceum_db::Db;

use super::ServiceError;
use crate::{
    entity::catalog::CourseDetail,
    repository::{
        cache::{Cache, CacheKey, CourseDetailKey},
        course::CourseRepository,
        pg,
    },
};

/// Reads the course page back from the primary and *replaces* the cached copy (readers only
/// fill empty slots, so a reader on a lagging replica cannot bring the old statistics back).
/// If the page cannot be read, the cached copy is dropped instead.
pub async fn refresh_course_page(db: &Db, cache: &Cache, course_id: i64) {
    let courses = CourseRepository;
    let fresh = db
        .write(|c| {
            Box::pin(async move {
                Ok::<_, ServiceError>(courses.detail(pg(c), course_id, false).await?)
            })
        })
        .await;
    match fresh {
        Ok(page) => replace_course_page(cache, course_id, page.as_ref()).await,
        Err(err) => {
            tracing::warn!(course_id, error = %err, "cannot re-read the course page; dropping its cached copy");
            cache.invalidate(&[CourseDetailKey(course_id).slot()]).await;
            cache.announce_course_change(course_id).await;
        }
    }
}

/// *Replaces* the cached public page of course `course_id` with `detail`, a page read on the
/// primary after (or in) the write: the page itself when published, a "no such public
/// course" entry when unpublished or gone (`None`); then tells the other instances.
pub async fn replace_course_page(cache: &Cache, course_id: i64, detail: Option<&CourseDetail>) {
    let public = detail.filter(|d| d.course.published).cloned();
    cache.replace(&CourseDetailKey(course_id), &public).await;
    cache.announce_course_change(course_id).await;
}
