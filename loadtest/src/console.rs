//! What a person watching the console sees of a run, in plain lines that read the same
//! without a terminal (`docker compose up`, CI logs): a progress line every few seconds
//! while the load runs, and at the very end a verdict banner with the report paths, so
//! the outcome is the last thing on the screen and not above the summary's tables.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinHandle;

use crate::{
    journeys::Context,
    summary::{LedgerOutcome, RunReport},
};

/// When the drill is planned, for the progress line's phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DrillPlan {
    None,
    At(u64),
}

/// The drill's phase in words, from `lyceum_loadtest_drill_phase`.
pub fn phase_text(plan: DrillPlan, phase: i64) -> String {
    match (plan, phase) {
        (DrillPlan::None, _) => "no drill".into(),
        (DrillPlan::At(at), 0) => format!("fault at {at} s"),
        (DrillPlan::At(_), 1) => "FAULT injected, recovering".into(),
        (DrillPlan::At(_), _) => "recovered".into(),
    }
}

/// Prints a progress line every `every` (on stderr, one line each, so it reaches a log at
/// once) until the returned task is aborted.
pub fn spawn_progress(ctx: Arc<Context>, every: Duration, plan: DrillPlan) -> JoinHandle<()> {
    tokio::spawn(async move {
        let step = every.as_secs().max(1) as usize;
        let mut k = 1;
        loop {
            tokio::time::sleep_until(ctx.recorder.start() + Duration::from_secs((k * step) as u64))
                .await;
            let (window, failed_so_far) = ctx.recorder.with_tally(|t| {
                (
                    t.timeline.window((k - 1) * step, k * step),
                    t.timeline.seconds().iter().map(|s| s.failures).sum::<u64>(),
                )
            });
            let metrics = ctx.recorder.metrics();
            eprintln!(
                "lyceum-loadtest: {:>4} s | {:>7.1} req/s | p50 {:>7.1} ms | p99 {:>7.1} ms | failed {} ({} so far) | {} users | {}",
                k * step,
                window.requests_per_second(),
                window.p50_ms,
                window.p99_ms,
                window.failures,
                failed_so_far,
                metrics.users_active.get(),
                phase_text(plan, metrics.drill_phase.get()),
            );
            k += 1;
        }
    })
}

/// The last lines of a run: the verdict, the few figures behind it and where the reports are.
/// `reports` names the report folder as the reader can open it (on the host, for a container).
pub fn banner(report: &RunReport, reports: &str) -> String {
    let rule = "=".repeat(78);
    let mut lines = vec![rule.clone()];
    if report.passed {
        lines.push("VERDICT: PASSED".into());
    } else {
        lines.push("VERDICT: FAILED".into());
        lines.extend(report.reasons.iter().map(|r| format!("  because: {r}")));
    }
    lines.push(format!(
        "  load:    {} requests, {:.1} req/s, {} answered 500",
        report.requests, report.requests_per_second, report.internal_errors
    ));
    if let Some(run) = &report.drill {
        let back =
            |s: Option<f64>| s.map_or_else(|| "NOT recovered".to_owned(), |s| format!("{s:.1} s"));
        lines.push(format!(
            "  drill:   {:?} at {:.1} s ({}); back after the first failure: writes {}, reads {}",
            run.kind,
            run.started_s,
            if run.succeeded { "ok" } else { "FAILED" },
            back(report.writes.recovery_s),
            back(report.reads.recovery_s),
        ));
    }
    lines.push(match &report.ledger {
        LedgerOutcome::Checked(v) => format!(
            "  ledger:  {} acknowledged purchases: {} lost, {} duplicated; {} runs oversold; {} other changes, {} undone",
            v.acknowledged_purchases,
            v.lost.len(),
            v.duplicated.len(),
            v.oversold.len(),
            v.state.total(),
            v.state.undone.len()
        ),
        LedgerOutcome::Failed(err) => format!("  ledger:  NOT checked: {err}"),
        LedgerOutcome::NotApplicable => "  ledger:  nothing was bought".into(),
    });
    let dir = reports.trim_end_matches('/');
    lines.push(format!(
        "  reports: {dir}/summary.txt  (every figure: {dir}/drill.json)"
    ));
    lines.push(format!(
        "           {dir}/index.html  (charts of the run; opens offline)"
    ));
    lines.push(rule);
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::Tally;

    fn report(internal_errors: u64) -> RunReport {
        let mut t = Tally::finished(10);
        if internal_errors > 0 {
            t.problems
                .insert(("500".into(), "internal".into()), internal_errors);
        }
        RunReport::new(
            &t,
            None,
            LedgerOutcome::Checked(crate::ledger::check(&[], &[], &[], &[])),
        )
    }

    #[test]
    fn the_banner_ends_with_the_verdict_and_the_report_paths() {
        let text = banner(&report(0), "reports/compose/");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() <= 10, "{text}");
        assert_eq!(lines[1], "VERDICT: PASSED");
        assert!(
            text.contains("10 requests, 2.0 req/s, 0 answered 500"),
            "{text}"
        );
        assert!(text.contains("reports/compose/summary.txt"), "{text}");
        assert!(text.contains("reports/compose/index.html"), "{text}");
        assert!(!text.contains("drill:"), "no drill, no drill line: {text}");

        let text = banner(&report(3), "/reports");
        assert!(text.contains("VERDICT: FAILED"), "{text}");
        assert!(
            text.contains("because: 3 requests were answered 500"),
            "{text}"
        );
    }

    #[test]
    fn the_phase_reads_as_words() {
        assert_eq!(phase_text(DrillPlan::None, 0), "no drill");
        assert_eq!(phase_text(DrillPlan::At(60), 0), "fault at 60 s");
        assert_eq!(
            phase_text(DrillPlan::At(60), 1),
            "FAULT injected, recovering"
        );
        assert_eq!(phase_text(DrillPlan::At(60), 2), "recovered");
    }
}
