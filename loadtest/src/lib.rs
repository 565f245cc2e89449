//! Lyceum's load generator and failover drill, built on goose.
//!
//! - [`cli`]: arguments, configuration and the run from start to verdict.
//! - [`journeys`]: the weighted goose scenarios (anonymous browsing, students who buy,
//!   review and submit projects, reviewers and mentors, blog readers, staff editors,
//!   analysts, and the raw `/healthz` hammer).
//! - [`roster`]: the seeded accounts the journeys log in as.
//! - [`arrivals`]: the open-loop schedule (`--rate`) that paces the journeys' transactions.
//! - [`api`]: one way to send a request from a goose user, record it and read the answer.
//! - [`recorder`]: every request's outcome: live metrics, latency samples, statuses, the
//!   drill's recovery clocks.
//! - [`metrics`]: the Prometheus collectors of the contract and the `/metrics` server.
//! - [`drill`]: the failover command at a chosen second, the drill phase, recovery times.
//! - [`ledger`]: purchases acknowledged to clients, checked against the database afterwards.
//! - [`summary`]: percentiles and the console/JSON summary of a run.
//! - [`timeline`]: requests by the second they completed in.
//! - [`console`]: the progress line during the load and the verdict banner at the end.
//! - [`report`]: the report folder's files; [`chart`] draws its SVG charts, [`page`] its
//!   `index.html`.

pub mod api;
pub mod arrivals;
pub mod chart;
pub mod cli;
pub mod console;
pub mod drill;
pub mod journeys;
pub mod ledger;
pub mod metrics;
pub mod page;
pub mod recorder;
pub mod report;
pub mod roster;
pub mod summary;
pub mod timeline;
