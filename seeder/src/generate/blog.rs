//! The blog: posts by smm staff, tags and taggings.
//!
//! Authors are chosen by Zipf(s = 1) among smm staff. 88 % of posts are published (within
//! three days of writing), 8 % are drafts (`published_at` NULL) and 4 % are scheduled up to
//! 30 days after the anchor. A post has 1–5 distinct tags, chosen by Zipf(s = 1) over tags.

use fake::rand::RngExt;

use super::{RowSink, World, people::User, text};
use crate::{
    accounts::Position,
    copy::{RowWriter, Stopped},
    plan::{DAY, Timeline},
    rng::{SeedRng, Weighted, pick},
};

#[derive(Debug, Clone, Copy)]
pub struct Post {
    pub author: u32,
    pub created: i64,
    pub published: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Published,
    Draft,
    Scheduled,
}

pub(super) fn build_posts(
    count: u32,
    users: &[User],
    time: &Timeline,
    rng: &mut SeedRng,
) -> Vec<Post> {
    let authors: Vec<u32> = users
        .iter()
        .enumerate()
        .filter(|(_, u)| u.position == Some(Position::Smm))
        .map(|(i, _)| i as u32 + 1)
        .collect();
    let popularity = Weighted::zipf(authors.len(), 1.0);
    let mut posts: Vec<Post> = (0..count)
        .map(|_| {
            let author = authors[popularity.sample(rng)];
            let since = users[author as usize - 1].created.max(time.start);
            match pick(
                rng,
                &[
                    (88, Kind::Published),
                    (8, Kind::Draft),
                    (4, Kind::Scheduled),
                ],
            ) {
                Kind::Published => {
                    let created = rng.random_range(since..time.now);
                    let published = (created + rng.random_range(0..=3 * DAY)).min(time.now);
                    Post {
                        author,
                        created,
                        published: Some(published),
                    }
                }
                Kind::Draft => Post {
                    author,
                    created: rng.random_range(since..time.now),
                    published: None,
                },
                Kind::Scheduled => {
                    let created = rng.random_range(since.max(time.now - 30 * DAY)..time.now);
                    let published = time.now + rng.random_range(DAY..=30 * DAY);
                    Post {
                        author,
                        created,
                        published: Some(published),
                    }
                }
            }
        })
        .collect();
    posts.sort_by_key(|p| p.created);
    posts
}

/// (post id, tag id) pairs, sorted.
pub(super) fn build_post_tags(posts: usize, rng: &mut SeedRng) -> Vec<(u32, u32)> {
    let mut rank: Vec<u32> = (1..=text::TAGS.len() as u32).collect();
    crate::rng::shuffle(rng, &mut rank);
    let popularity = Weighted::zipf(rank.len(), 1.0);
    let mut pairs = Vec::with_capacity(posts * 3);
    for post in 1..=posts as u32 {
        let n = rng.random_range(1..=5);
        let mut tags: Vec<u32> = Vec::with_capacity(n);
        while tags.len() < n {
            let tag = rank[popularity.sample(rng)];
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        tags.sort_unstable();
        pairs.extend(tags.into_iter().map(|tag| (post, tag)));
    }
    pairs
}

pub(super) const POST_COLUMNS: &[&str] = &[
    "id",
    "author_id",
    "title",
    "topic",
    "reading_minutes",
    "cover_url",
    "body",
    "published_at",
    "created_at",
    "updated_at",
];

pub(super) fn write_posts<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, p) in world.posts.iter().enumerate() {
        let id = i as i64 + 1;
        let title = text::post_title(rng);
        let topic = text::BLOG_TOPICS[rng.random_range(0..text::BLOG_TOPICS.len())];
        let paragraphs = rng.random_range(3..=8);
        let (body, words) = text::post_body(rng, paragraphs);
        let cover = rng
            .random_bool(0.8)
            .then(|| format!("https://cdn.lyceum.test/blog/covers/{id}.jpg"));
        let updated = p
            .published
            .unwrap_or(p.created)
            .min(world.time.now)
            .max(p.created);
        out.begin()
            .i64(id)
            .i64(i64::from(p.author))
            .text(&title)
            .text(topic)
            // About 200 words a minute, at least one minute.
            .i32((words / 200).max(1) as i32)
            .opt_text(cover.as_deref())
            .text(&body)
            .opt_ts(p.published)
            .ts(p.created)
            .ts(updated);
        out.end()?;
    }
    Ok(())
}

pub(super) const TAG_COLUMNS: &[&str] = &["id", "name"];

pub(super) fn write_tags<S: RowSink>(
    _world: &World,
    _rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, name) in text::TAGS.iter().enumerate() {
        out.begin().i64(i as i64 + 1).text(name);
        out.end()?;
    }
    Ok(())
}

pub(super) const POST_TAG_COLUMNS: &[&str] = &["post_id", "tag_id"];

pub(super) fn write_post_tags<S: RowSink>(
    world: &World,
    _rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for &(post, tag) in &world.post_tags {
        out.begin().i64(i64::from(post)).i64(i64::from(tag));
        out.end()?;
    }
    Ok(())
}
