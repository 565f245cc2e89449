//! The learning report against the real stack: review turnaround percentiles read from the
//! per-course histogram the decisions keep, checked against the exact percentiles of the
//! submissions; completion per course; and the career track a certificate opens for buyers
//! of a plan with career support (earned or issued by staff).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::submissions::{claim, decide, reviewer, rust_course};
use crate::support::fixtures::{purchase, replicated};
use crate::support::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

/// Seconds each student's last project has waited when the reviewer claims it: eight short
/// waits and two long ones, so p50 is a short one and p90 a long one.
const WAITED_S: [i64; 10] = [100, 100, 100, 100, 100, 100, 100, 100, 10_000, 10_000];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_learning_report_reads_turnaround_and_completion_per_course() {
    let app = spawn_app("learning_report").await;
    let (course, p) = rust_course(&app).await;
    let admin = app.staff("admin@report.test", "admin").await;
    let rev = reviewer(&app, &admin, "rev@report.test", course).await;
    let students = app.students("learner", WAITED_S.len()).await;
    for (i, ((id, _), waited)) in students.iter().zip(WAITED_S).enumerate() {
        // learner0 and learner1 bought the plan with career support.
        let plan = if i < 2 { "career_track" } else { "basic" };
        purchase(
            &app,
            &format!("learner{i}@example.com"),
            course,
            plan,
            "paid",
        )
        .await;
        // learner0 has the first two projects accepted already.
        if i == 0 {
            app.sql(&format!(
                "INSERT INTO submissions (user_id, course_id, project_id, attempt, repository_url, \
                   status, reviewed_at) \
                 SELECT {id}, {course}, unnest(ARRAY[{}, {}]), 1, 'https://git.example/a', \
                   'accepted', now()",
                p[0], p[1]
            ))
            .await;
        }
        app.sql(&format!(
            "INSERT INTO submissions (user_id, course_id, project_id, attempt, repository_url, \
               created_at) VALUES ({id}, {course}, {}, 1, 'https://git.example/w', \
               now() - interval '{waited} seconds')",
            p[2]
        ))
        .await;
    }
    // Every waiting submission decided: learner0's accepted (their last project), the rest
    // alternately accepted and returned.
    let learner0 = students[0].0;
    for n in 0..WAITED_S.len() {
        let held = claim(&app, &rev).await.expect("a waiting submission");
        let id = held["id"].as_i64().unwrap();
        if held["user_id"] == learner0 || n % 2 == 0 {
            decide(&app, &rev, id, "accept", "").await;
        } else {
            decide(&app, &rev, id, "return", "more tests").await;
        }
    }
    assert!(claim(&app, &rev).await.is_none());

    // Staff issue certificates to learner1 (career plan) and learner2 (basic) by hand.
    for i in [1, 2] {
        let r = app
            .post(
                "/api/v1/certificates",
                Some(&admin),
                json!({"user_id": students[i].0, "course_id": course}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    // A certificate opens a career track for buyers of the career plan only: learner0 (earned)
    // and learner1 (issued); learner2's basic plan has no career support.
    let tracks = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM career_tracks WHERE course_id = {course} AND user_id IN ({}, {}) \
               AND support_start = current_date",
            students[0].0, students[1].0
        ))
        .await;
    assert_eq!(tracks, 2);
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM career_tracks").await,
        2
    );
    replicated(&app, "career_tracks", 2).await;
    let mine = app.get_as("/api/v1/career/tracks", &students[0].1).await;
    assert_eq!(mine.body["items"][0]["course_id"], course, "{}", mine.body);

    // The report: bad limits, then the course's row against the exact figures.
    for bad in ["limit=0", "limit=101"] {
        app.get_as(&format!("/api/v1/reports/learning?{bad}"), &admin)
            .await
            .assert_problem(422, "validation_failed");
    }
    app.get_as("/api/v1/reports/learning", &students[0].1)
        .await
        .assert_problem(403, "forbidden");
    let report = app.get_as("/api/v1/reports/learning", &admin).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let items = report.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only the course with decisions: {items:?}");
    let row = &items[0];
    assert_eq!(row["course_id"], course);
    assert_eq!(row["decisions"], 10, "{row}");
    // The catalog fixture's buyers are enrolled too.
    let enrolled = app
        .scalar_i64(&format!(
            "SELECT count(DISTINCT p.user_id) FROM purchases p \
               JOIN course_runs r ON r.id = p.course_run_id \
              WHERE r.course_id = {course} AND p.status = 'paid'"
        ))
        .await;
    assert!(enrolled >= 10);
    assert_eq!(row["enrolled"].as_i64(), Some(enrolled), "{row}");
    assert_eq!(row["graduates"], 3, "{row}");
    assert_eq!(row["completion_rate"].as_f64(), Some(3.0 / enrolled as f64));
    // Nearest rank over the exact turnarounds: the 5th and the 9th of 10.
    for (field, rank) in [("turnaround_p50_s", 5), ("turnaround_p90_s", 9)] {
        let exact = app
            .scalar_i64(&format!(
                "SELECT (extract(epoch FROM reviewed_at - created_at) * 1000)::bigint \
                   FROM submissions WHERE project_id = {} AND reviewed_at IS NOT NULL \
                  ORDER BY 1 OFFSET {} LIMIT 1",
                p[2],
                rank - 1
            ))
            .await as f64
            / 1000.0;
        let read = row[field].as_f64().unwrap();
        assert!(
            read >= exact - 0.05 && read <= exact * 1.0905 + 0.05,
            "{field}: {read} s read, {exact} s exact"
        );
    }
    assert_eq!(row["turnaround_p50_s"].as_f64(), Some(107.6), "{row}");
    assert_eq!(row["turnaround_p90_s"].as_f64(), Some(10623.7), "{row}");
    app.stop().await;
}
