//! What the operator sees: a progress bar per table while it loads (only on a terminal),
//! a line per finished table (always), and the summary table at the end.

use std::{io::IsTerminal, time::Duration};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{accounts::KnownAccount, generate::Table};

/// The bars of one run.
#[derive(Debug, Clone)]
pub struct Progress {
    multi: MultiProgress,
    tty: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Bars on stderr when it is a terminal; otherwise hidden, with plain lines on stdout.
    pub fn new() -> Self {
        let tty = std::io::stderr().is_terminal();
        let target = if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            tty,
        }
    }

    /// A bar for `table`, expecting `rows` rows.
    pub fn bar(&self, table: Table, rows: u64) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(rows));
        let style = ProgressStyle::with_template(
            "{prefix:>18.bold} [{bar:30.cyan/blue}] {human_pos:>10}/{human_len:<10} {per_sec:>14} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(table.name());
        bar
    }

    /// A line that stays: above the bars on a terminal, on stdout otherwise.
    pub fn line(&self, text: &str) {
        if self.tty {
            // Only fails when the terminal is gone; then there is nobody to tell.
            let _ = self.multi.println(text);
        } else {
            say!("{text}");
        }
    }
}

/// How one table's load went.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReport {
    pub table: Table,
    pub rows: u64,
    pub elapsed: Duration,
    pub attempts: u32,
    /// Loaded by another seeder between our check and our lock: nothing was written.
    pub skipped: bool,
    /// In the successful attempt: waiting (for locks held by a parallel load) before COPY,
    /// the COPY itself, and rebuilding indexes and foreign keys through the commit.
    pub waited: Duration,
    pub copying: Duration,
    pub rebuilding: Duration,
    /// `ANALYZE` of the table (in its transaction, or right after the commit).
    pub analyzing: Duration,
}

impl TableReport {
    pub fn line(&self) -> String {
        let retried = if self.attempts > 1 {
            format!(" after {} attempts", self.attempts)
        } else {
            String::new()
        };
        if self.skipped {
            return format!("{:<18} already loaded by another run", self.table.name());
        }
        format!(
            "{:<18} {:>10} rows in {:>7.2} s  ({:>9} rows/s){retried}",
            self.table.name(),
            self.rows,
            self.elapsed.as_secs_f64(),
            rate(self.rows, self.elapsed)
        )
    }
}

pub fn rate(rows: u64, elapsed: Duration) -> u64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        (rows as f64 / secs) as u64
    } else {
        0
    }
}

/// The whole run, for the summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub tables: Vec<TableReport>,
    /// Building the world and hashing the known passwords.
    pub plan: Duration,
    /// The foreign keys suspended before the loads and validated after them.
    pub foreign_keys: ForeignKeyTimes,
    /// Wall time from start to finish, which the total rate is computed from.
    pub wall: Duration,
}

/// The two foreign-key steps around the loads (see [`crate::foreign_keys`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForeignKeyTimes {
    pub suspended: usize,
    pub suspending: Duration,
    pub validated: usize,
    /// Putting them back `NOT VALID` and validating them.
    pub validating: Duration,
}

impl Summary {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{:<18} {:>12} {:>9} {:>12} {:>8} {:>8} {:>8} {:>8}\n",
            "table", "rows", "seconds", "rows/s", "wait", "copy", "rebuild", "analyze"
        ));
        let mut tables = self.tables.clone();
        tables.sort_by_key(|t| Table::ALL.iter().position(|x| *x == t.table));
        for t in &tables {
            out.push_str(&format!(
                "{:<18} {:>12} {:>9.2} {:>12} {:>8.2} {:>8.2} {:>8.2} {:>8.2}{}\n",
                t.table.name(),
                t.rows,
                t.elapsed.as_secs_f64(),
                rate(t.rows, t.elapsed),
                t.waited.as_secs_f64(),
                t.copying.as_secs_f64(),
                t.rebuilding.as_secs_f64(),
                t.analyzing.as_secs_f64(),
                if t.attempts > 1 {
                    format!("  ({} attempts)", t.attempts)
                } else {
                    String::new()
                }
            ));
        }
        out.push_str(&format!(
            "{:<18} {:>12} {:>9.2}\n",
            "(plan + hashes)",
            "",
            self.plan.as_secs_f64(),
        ));
        let fk = &self.foreign_keys;
        out.push_str(&format!(
            "{:<18} {:>12} {:>9.2}\n{:<18} {:>12} {:>9.2}\n",
            "(drop FKs)",
            fk.suspended,
            fk.suspending.as_secs_f64(),
            "(restore+validate)",
            fk.validated,
            fk.validating.as_secs_f64(),
        ));
        let copying: Duration = self.tables.iter().map(|t| t.copying).sum();
        let rebuilding: Duration = self.tables.iter().map(|t| t.rebuilding).sum();
        let analyzing: Duration = self.tables.iter().map(|t| t.analyzing).sum();
        out.push_str(&format!(
            "{:<18} {:>12} {:>9} {:>12} {:>8} {:>8.2} {:>8.2} {:>8.2}\n",
            "(sum of phases)",
            "",
            "",
            "",
            "",
            copying.as_secs_f64(),
            rebuilding.as_secs_f64(),
            analyzing.as_secs_f64()
        ));
        out.push_str(&format!(
            "{:<18} {:>12} {:>9.2} {:>12}\n",
            "total (wall)",
            self.rows(),
            self.wall.as_secs_f64(),
            rate(self.rows(), self.wall)
        ));
        out
    }
}

/// The documented logins, for the end of every run.
pub fn render_accounts(known: &[KnownAccount]) -> String {
    let mut out = String::from("known accounts (docs/SEEDER.md):\n");
    for k in known {
        out.push_str(&format!(
            "  {:<26} {:<9} password {}\n",
            k.email,
            k.kind,
            k.password_text()
        ));
    }
    out.push_str(&format!(
        "  every other user           password {}\n",
        crate::accounts::BULK_PASSWORD
    ));
    out
}
