//! The blog against the real stack: editors only, smm authorship, drafts and scheduled posts
//! hidden from readers, tag filter, pagination, and the cached feed following every edit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::fixtures::user_id;
use crate::support::{TestApp, item_titles, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn post_body(title: &str, tags: &[&str], published_at: Option<&str>) -> Value {
    json!({
        "title": title,
        "topic": "engineering",
        "reading_minutes": 7,
        "cover_url": "https://cdn.example/cover.png",
        "body": format!("All about {title}."),
        "tags": tags,
        "published_at": published_at,
    })
}

async fn create(app: &TestApp, token: &str, body: Value) -> i64 {
    let r = app.post("/api/v1/blog/posts", Some(token), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editors_write_posts_and_readers_see_only_published_ones() {
    let app = spawn_app("blog_rules").await;
    let smm = app.staff("smm@example.com", "smm").await;
    let admin = app.staff("admin@example.com", "admin").await;
    let teacher = app.staff("teacher@example.com", "teacher").await;
    let student = app.register("student@example.com").await;
    let smm_id = user_id(&app, "smm@example.com").await;
    let student_id = user_id(&app, "student@example.com").await;

    let body = post_body(
        "Failover in practice",
        &["PostgreSQL", "HA", "postgresql"],
        Some("2026-01-05T10:00:00Z"),
    );
    app.post("/api/v1/blog/posts", None, body.clone())
        .await
        .assert_problem(401, "missing_token");
    for token in [&student, &teacher] {
        app.post("/api/v1/blog/posts", Some(token), body.clone())
            .await
            .assert_problem(403, "forbidden");
    }
    // An admin writes on behalf of an smm member, never as themselves or a student.
    // (409: the request is well formed; who the author is, is stored state.)
    app.post("/api/v1/blog/posts", Some(&admin), body.clone())
        .await
        .assert_problem(409, "conflict");
    let mut for_student = body.clone();
    for_student["author_id"] = json!(student_id);
    app.post("/api/v1/blog/posts", Some(&admin), for_student)
        .await
        .assert_problem(409, "conflict");
    let mut for_nobody = body.clone();
    for_nobody["author_id"] = json!(999_999_999);
    app.post("/api/v1/blog/posts", Some(&admin), for_nobody)
        .await
        .assert_problem(404, "unknown_reference");
    let r = app
        .post(
            "/api/v1/blog/posts",
            Some(&smm),
            json!({"title": " ", "topic": "x", "reading_minutes": 0, "body": "", "cover_url": "nope", "tags": ["", "ok"]}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["title", "reading_minutes", "cover_url", "body", "tags[0]"]
    );

    let r = app
        .post("/api/v1/blog/posts", Some(&smm), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body["author"],
        json!({"id": smm_id, "name": "Ada Lovelace"})
    );
    assert_eq!(
        r.body["tags"],
        json!(["HA", "PostgreSQL"]),
        "deduplicated ignoring case"
    );
    assert_eq!(r.body["body"], "All about Failover in practice.");
    let published = r.body["id"].as_i64().unwrap();
    let mut on_behalf = post_body("Written by admin", &["ha"], Some("2026-01-06T10:00:00Z"));
    on_behalf["author_id"] = json!(smm_id);
    let by_admin = create(&app, &admin, on_behalf).await;
    let draft = create(&app, &smm, post_body("Draft", &[], None)).await;
    let scheduled = create(
        &app,
        &smm,
        post_body("Scheduled", &[], Some("2099-01-01T00:00:00Z")),
    )
    .await;

    // Readers: published only. Editors: everything, from the primary.
    crate::support::fixtures::replicated(&app, "blog_posts", 4).await;
    let feed = app.get("/api/v1/blog/posts").await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    assert_eq!(
        item_titles(&feed.body),
        ["Written by admin", "Failover in practice"]
    );
    assert!(
        feed.body["items"][0].get("body").is_none(),
        "no body in the feed"
    );
    let page = app.get(&format!("/api/v1/blog/posts/{published}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body["tags"], json!(["HA", "PostgreSQL"]));
    for hidden in [draft, scheduled] {
        app.get(&format!("/api/v1/blog/posts/{hidden}"))
            .await
            .assert_problem(404, "not_found");
        app.get_as(&format!("/api/v1/blog/posts/{hidden}"), &student)
            .await
            .assert_problem(404, "not_found");
        let seen = app
            .get_as(&format!("/api/v1/blog/posts/{hidden}"), &smm)
            .await;
        assert_eq!(
            seen.status,
            StatusCode::OK,
            "editors see drafts and scheduled posts"
        );
    }
    app.get("/api/v1/blog/posts/abc")
        .await
        .assert_problem(400, "invalid_path");

    // Tags are shared ignoring case.
    let tags = app.get("/api/v1/blog/tags").await;
    let names: Vec<&str> = tags
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["HA", "PostgreSQL"]);

    // Edits and deletes: editors only; 404 for unknown posts.
    app.patch(
        &format!("/api/v1/blog/posts/{by_admin}"),
        Some(&student),
        json!({"title": "x"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.delete(&format!("/api/v1/blog/posts/{by_admin}"), Some(&teacher))
        .await
        .assert_problem(403, "forbidden");
    app.patch(
        "/api/v1/blog/posts/999999",
        Some(&smm),
        json!({"title": "x"}),
    )
    .await
    .assert_problem(404, "not_found");
    app.delete("/api/v1/blog/posts/999999", Some(&smm))
        .await
        .assert_problem(404, "not_found");
    let d = app
        .delete(&format!("/api/v1/blog/posts/{by_admin}"), Some(&admin))
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    app.get_as(&format!("/api/v1/blog/posts/{by_admin}"), &smm)
        .await
        .assert_problem(404, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_filters_by_tag_paginates_and_follows_edits_at_once() {
    let app = spawn_app("blog_feed").await;
    let smm = app.staff("smm@example.com", "smm").await;
    for day in 1..=5 {
        let tags: &[&str] = if day % 2 == 1 { &["Rust"] } else { &["SQL"] };
        create(
            &app,
            &smm,
            post_body(
                &format!("Post {day}"),
                tags,
                Some(&format!("2026-03-0{day}T09:00:00Z")),
            ),
        )
        .await;
    }
    crate::support::fixtures::replicated(&app, "post_tags", 5).await;

    // Pagination, newest first.
    let mut seen = Vec::new();
    for page in 1..=3 {
        let r = app
            .get(&format!("/api/v1/blog/posts?page={page}&page_size=2"))
            .await;
        assert_eq!(r.body["has_more"], page < 3, "{}", r.body);
        seen.extend(item_titles(&r.body));
    }
    assert_eq!(seen, ["Post 5", "Post 4", "Post 3", "Post 2", "Post 1"]);
    // Tag filter, any case.
    let rust = app.get("/api/v1/blog/posts?tag=rUsT").await;
    assert_eq!(item_titles(&rust.body), ["Post 5", "Post 3", "Post 1"]);
    let none = app.get("/api/v1/blog/posts?tag=cobol").await;
    assert_eq!(item_titles(&none.body), Vec::<String>::new());
    app.get("/api/v1/blog/posts?page_size=0")
        .await
        .assert_problem(422, "validation_failed");
    app.get(&format!("/api/v1/blog/posts?tag={}", "x".repeat(51)))
        .await
        .assert_problem(422, "validation_failed");

    // A first page is cached (the second read hits); every edit shows on the next read.
    app.get("/api/v1/blog/posts").await;
    app.get("/api/v1/blog/posts").await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"lyceum_cache_lookups_total{kind="blog_feed",result="hit"}"#),
        "the second read was a cache hit"
    );
    let newest = create(
        &app,
        &smm,
        post_body("Breaking news", &["Rust"], Some("2026-04-01T00:00:00Z")),
    )
    .await;
    assert_eq!(
        item_titles(&app.get("/api/v1/blog/posts").await.body)[0],
        "Breaking news"
    );
    assert_eq!(
        item_titles(&app.get("/api/v1/blog/posts?tag=rust").await.body)[0],
        "Breaking news"
    );

    let r = app
        .patch(
            &format!("/api/v1/blog/posts/{newest}"),
            Some(&smm),
            json!({"title": "Breaking news, corrected", "tags": ["SQL"], "cover_url": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["cover_url"], Value::Null);
    assert_eq!(r.body["tags"], json!(["SQL"]));
    assert_eq!(r.body["reading_minutes"], 7, "absent fields stay");
    assert_eq!(
        item_titles(&app.get("/api/v1/blog/posts").await.body)[0],
        "Breaking news, corrected"
    );
    assert_eq!(
        item_titles(&app.get("/api/v1/blog/posts?tag=rust").await.body)[0],
        "Post 5"
    );

    // Back to draft: gone from the feed at once.
    let r = app
        .patch(
            &format!("/api/v1/blog/posts/{newest}"),
            Some(&smm),
            json!({"published_at": null}),
        )
        .await;
    assert_eq!(r.body["published_at"], Value::Null);
    assert_eq!(
        item_titles(&app.get("/api/v1/blog/posts").await.body)[0],
        "Post 5"
    );
    app.stop().await;
}
