//! The files of the report folder this crate writes at the end of a run: `summary.txt`,
//! `drill.json`, `ledger.json`, the charts (`charts/*.svg`: all requests, then one per
//! transaction group) and `index.html`, which shows them all offline. Goose writes its own
//! `report.html` and `report.json` beside them.

use std::path::Path;

use clap::ValueEnum;

use crate::{
    chart::{self, DrillMarks},
    ledger::{Ack, Change},
    page::{self, Figure},
    recorder::Tally,
    summary::RunReport,
    timeline::Window,
};

/// The run second by second, overall and per transaction group, for the charts.
#[derive(Debug, Clone, Default)]
pub struct Timelines {
    pub all: Vec<Window>,
    pub groups: Vec<(String, Vec<Window>)>,
}

impl Timelines {
    /// Every chart spans the whole run, so the drill is at the same place in each.
    pub fn from_tally(tally: &Tally) -> Self {
        let seconds = tally.timeline.seconds().len();
        Self {
            all: tally.timeline.per_second(seconds),
            groups: tally
                .groups
                .iter()
                .map(|(name, t)| (name.clone(), t.per_second(seconds)))
                .collect(),
        }
    }
}

/// The drill as the charts show it: shaded from the fault until the command had finished and
/// reads and writes were back (the drill phase of the live metrics), the leader change at the
/// moment the command saw the new leader serve.
pub fn drill_marks(report: &RunReport, run_end_s: f64) -> Option<DrillMarks> {
    let run = report.drill.as_ref()?;
    let back = |r: &crate::summary::Recovery| match r.recovery_s {
        None => run_end_s,
        Some(_) => r.clock.recovered_s.unwrap_or(run.finished_s),
    };
    let until_s = run
        .finished_s
        .max(back(&report.reads))
        .max(back(&report.writes));
    Some(DrillMarks {
        what: run
            .kind
            .to_possible_value()
            .map_or_else(|| "drill".to_owned(), |v| v.get_name().to_owned()),
        started_s: run.started_s,
        until_s,
        leader_change: run.succeeded.then(|| {
            let name = run.new_leader.clone().unwrap_or_else(|| "?".into());
            (run.finished_s, name)
        }),
    })
}

/// Writes the folder's files (goose's are already there).
pub fn write_folder(
    dir: &Path,
    report: &RunReport,
    summary: &str,
    acks: &[Ack],
    changes: &[Change],
    timelines: &Timelines,
) -> anyhow::Result<()> {
    let write = |name: &str, content: &str| {
        std::fs::write(dir.join(name), content)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", dir.join(name).display()))
    };
    let marks = drill_marks(report, timelines.all.len() as f64);
    let mut figures = vec![figure(
        "all",
        "All requests",
        &timelines.all,
        marks.as_ref(),
    )?];
    for (group, seconds) in &timelines.groups {
        let title = format!(
            "{group}: {} requests",
            seconds.iter().map(|s| s.requests).sum::<u64>()
        );
        figures.push(figure(group, &title, seconds, marks.as_ref())?);
    }
    std::fs::create_dir_all(dir.join("charts"))?;
    for f in &figures {
        write(&f.file, &f.svg)?;
    }

    let mut text = summary.to_owned();
    text.push_str("\nCharts (open index.html in a browser; it needs no network):\n");
    for f in &figures {
        text.push_str(&format!("  {:<24} {}\n", f.file, f.title));
    }
    write("summary.txt", &text)?;
    write("drill.json", &serde_json::to_string_pretty(report)?)?;
    write("ledger.json", &serde_json::to_string_pretty(acks)?)?;
    write("changes.json", &serde_json::to_string_pretty(changes)?)?;

    let files: Vec<(&str, &str)> = [
        ("summary.txt", "the summary above, as text"),
        ("drill.json", "the verdict and every figure behind it"),
        ("ledger.json", "every purchase acknowledged to a client"),
        (
            "changes.json",
            "every other state change acknowledged to a client",
        ),
        ("drill-command.log", "the drill command's output"),
        (
            "report.html",
            "goose's report (its charts need the internet)",
        ),
        ("report.json", "goose's figures"),
    ]
    .into_iter()
    .filter(|(name, _)| dir.join(name).exists())
    .collect();
    let note = marks.as_ref().map(drill_note);
    write(
        "index.html",
        &page::index_html(report, &text, note.as_deref(), &figures, &files),
    )
}

fn figure(
    name: &str,
    title: &str,
    seconds: &[Window],
    marks: Option<&DrillMarks>,
) -> anyhow::Result<Figure> {
    Ok(Figure {
        name: name.to_owned(),
        title: title.to_owned(),
        file: format!("charts/{}.svg", page::slug(name)),
        svg: chart::svg(title, seconds, marks).map_err(anyhow::Error::msg)?,
    })
}

/// What the shading and the line of the charts stand for, in words.
fn drill_note(m: &DrillMarks) -> String {
    let leader = match &m.leader_change {
        Some((at, name)) => format!("new leader {name} serving writes at {at:.1} s (the line)"),
        None => "the drill command failed: no leader change seen".into(),
    };
    format!(
        "Shaded: the drill, {} at {:.1} s until reads and writes were back at {:.1} s; {leader}.",
        m.what, m.started_s, m.until_s
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use std::path::PathBuf;

    use super::*;
    use crate::{
        drill::{DrillKind, DrillRun, RecoveryClock},
        summary::LedgerOutcome,
    };

    fn tally() -> Tally {
        let mut t = Tally {
            reads: RecoveryClock::watch_from(10.0),
            writes: RecoveryClock::watch_from(10.0),
            ..Tally::default()
        };
        for i in 0..300 {
            let at = f64::from(i) / 10.0;
            let failed = (12.0..14.0).contains(&at);
            t.timeline.record(at, 5_000 + 100 * i, failed);
            // `student` stops half way; its chart still spans the run.
            let group = if i % 3 == 0 && i < 150 {
                "student"
            } else {
                "browse"
            };
            t.groups
                .entry(group.to_owned())
                .or_default()
                .record(at, 5_000, failed);
            t.writes.observe(at - 0.1, at, !failed);
        }
        t.total = 300;
        t.first_sent_s = Some(0.0);
        t.last_done_s = 30.0;
        t
    }

    fn drill(succeeded: bool) -> DrillRun {
        DrillRun {
            kind: DrillKind::KillLeader,
            command: "lyceum-kill-leader".into(),
            started_s: 10.0,
            finished_s: 13.0,
            exit_code: Some(if succeeded { 0 } else { 1 }),
            succeeded,
            new_leader: Some("pg2".into()),
            log: PathBuf::from("drill-command.log"),
        }
    }

    #[test]
    fn the_window_runs_from_the_fault_until_writes_are_back() {
        let t = tally();
        let report = RunReport::new(&t, Some(drill(true)), LedgerOutcome::NotApplicable);
        let m = drill_marks(&report, 30.0).expect("a drill");
        assert_eq!(m.what, "kill-leader");
        assert_eq!(m.started_s, 10.0);
        // Writes failed until 14.0; the first success sent after the first failure is 14.0's.
        assert!((m.until_s - 14.0).abs() < 0.15, "{}", m.until_s);
        assert_eq!(m.leader_change, Some((13.0, "pg2".into())));

        let report = RunReport::new(&t, Some(drill(false)), LedgerOutcome::NotApplicable);
        assert_eq!(
            drill_marks(&report, 30.0).expect("a drill").leader_change,
            None
        );
        let report = RunReport::new(&t, None, LedgerOutcome::NotApplicable);
        assert_eq!(drill_marks(&report, 30.0), None);
    }

    #[test]
    fn the_folder_has_a_chart_per_group_linked_from_the_summary_and_the_page() {
        let dir = std::env::temp_dir().join(format!("lyceum-report-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let t = tally();
        let report = RunReport::new(&t, Some(drill(true)), LedgerOutcome::NotApplicable);
        write_folder(
            &dir,
            &report,
            "Load: ...\n",
            &[],
            &[],
            &Timelines::from_tally(&t),
        )
        .expect("write");
        let summary = std::fs::read_to_string(dir.join("summary.txt")).expect("summary");
        let html = std::fs::read_to_string(dir.join("index.html")).expect("index");
        for file in ["charts/all.svg", "charts/browse.svg", "charts/student.svg"] {
            assert!(dir.join(file).is_file(), "{file}");
            assert!(summary.contains(file), "{summary}");
            assert!(html.contains(&format!("href=\"{file}\"")), "{file}");
        }
        assert_eq!(html.matches("<figure class=\"chart\"").count(), 3);
        let timelines = Timelines::from_tally(&t);
        assert!(timelines.groups.iter().all(|(_, s)| s.len() == 30));
        assert!(
            html.contains("new leader pg2 serving writes at 13.0 s"),
            "{html}"
        );
        assert!(html.contains("<a href=\"drill.json\">"));
        assert!(
            !html.contains("report.html"),
            "goose's report was not written here"
        );
        assert!(!html.contains("http"), "no address in the page");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
