//! The report's charts, drawn by plotters into SVG: one point per second over the whole run,
//! requests/s and failed requests/s above, p50 and p99 latency below (log scale), the drill
//! window shaded and the leader change marked.
//!
//! SVG keeps text as text: nothing needs a font to draw it, and the browser shows it with
//! whatever font it has. A series is drawn only where there is data, so a chart of nothing is
//! an empty box (the report test looks for exactly that).

use plotters::{coord::Shift, prelude::*};

use crate::timeline::Window;

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 440;

const REQUESTS: RGBColor = RGBColor(31, 119, 180);
const FAILED: RGBColor = RGBColor(214, 39, 40);
const P50: RGBColor = RGBColor(44, 160, 44);
const P99: RGBColor = RGBColor(255, 127, 14);
const DRILL: RGBColor = RGBColor(255, 165, 0);
const LEADER: RGBColor = RGBColor(118, 42, 131);

/// The drill as the charts mark it; seconds since the load started.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillMarks {
    /// What was done (`kill-leader`), the shading's label.
    pub what: String,
    pub started_s: f64,
    /// The end of the shading: the command had finished and reads and writes were back (the
    /// end of the run when they never were): the drill phase of the live metrics.
    pub until_s: f64,
    /// When the command saw the new leader serve writes (it waits for that), and its name.
    pub leader_change: Option<(f64, String)>,
}

/// One chart, as an SVG document.
pub fn svg(title: &str, seconds: &[Window], drill: Option<&DrillMarks>) -> Result<String, String> {
    let mut out = String::new();
    let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
    draw(root, title, seconds, drill).map_err(|e| format!("drawing `{title}`: {e}"))?;
    Ok(out)
}

type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    seconds: &[Window],
    drill: Option<&DrillMarks>,
) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 18))?;
    let (top, bottom) = root.split_vertically(HEIGHT * 52 / 100);
    let x_end = seconds.len().max(1) as f64;
    let has_data = seconds.iter().any(|s| s.requests > 0);

    // Above: requests and failed requests per second, on one axis.
    let peak = seconds.iter().map(|s| s.requests).max().unwrap_or(0);
    let y_top = (peak as f64 * 1.15).max(1.0);
    let mut rates = ChartBuilder::on(&top)
        .margin_right(20)
        .margin_top(4)
        .x_label_area_size(22)
        .y_label_area_size(58)
        .build_cartesian_2d(0.0..x_end, 0.0..y_top)?;
    rates
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(2)
        .y_desc("per second")
        .label_style(("sans-serif", 12))
        .draw()?;
    if let Some(d) = drill {
        shade(&mut rates, d, y_top, true)?;
    }
    if has_data {
        rates
            .draw_series(LineSeries::new(
                seconds
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (i as f64 + 0.5, s.requests as f64)),
                REQUESTS.stroke_width(2),
            ))?
            .label("requests/s")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], REQUESTS.stroke_width(2)));
        rates
            .draw_series(
                seconds
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.failures > 0)
                    .map(|(i, s)| {
                        let x = i as f64;
                        Rectangle::new([(x, 0.0), (x + 1.0, s.failures as f64)], FAILED.filled())
                    }),
            )?
            .label("failed/s (5xx, no answer)")
            .legend(|(x, y)| Rectangle::new([(x, y - 4), (x + 18, y + 4)], FAILED.filled()));
        legend(&mut rates)?;
    } else {
        top.draw(&Text::new(
            "no requests",
            (WIDTH as i32 / 2 - 40, HEIGHT as i32 / 5),
            ("sans-serif", 16).into_font().color(&FAILED),
        ))?;
    }

    // Below: latency of the requests completed in each second, where there were any.
    let answered: Vec<(usize, &Window)> = seconds
        .iter()
        .enumerate()
        .filter(|(_, s)| s.requests > 0)
        .collect();
    let lowest = answered
        .iter()
        .map(|(_, s)| s.p50_ms)
        .fold(f64::INFINITY, f64::min);
    let highest = answered.iter().map(|(_, s)| s.p99_ms).fold(0.0, f64::max);
    let (y_lo, y_hi) = if answered.is_empty() {
        (1.0, 10.0)
    } else {
        (
            (lowest / 1.5).max(0.01),
            (highest * 1.5).max(lowest * 2.0).max(0.1),
        )
    };
    let mut latency = ChartBuilder::on(&bottom)
        .margin_right(20)
        .margin_bottom(6)
        .x_label_area_size(36)
        .y_label_area_size(58)
        .build_cartesian_2d(0.0..x_end, (y_lo..y_hi).log_scale())?;
    latency
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(2)
        .x_desc("seconds since the load started")
        .y_desc("latency, ms")
        .y_label_formatter(&|v| {
            if *v >= 10.0 {
                format!("{v:.0}")
            } else {
                format!("{v}")
            }
        })
        .label_style(("sans-serif", 12))
        .draw()?;
    if let Some(d) = drill {
        shade(&mut latency, d, y_hi, false)?;
    }
    if !answered.is_empty() {
        for (label, color, pick) in [
            ("p99", P99, (|s: &Window| s.p99_ms) as fn(&Window) -> f64),
            ("p50", P50, |s: &Window| s.p50_ms),
        ] {
            latency
                .draw_series(LineSeries::new(
                    answered
                        .iter()
                        .map(|(i, s)| (*i as f64 + 0.5, pick(s).max(y_lo))),
                    color.stroke_width(2),
                ))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        legend(&mut latency)?;
    }
    root.present()
}

/// The series' names in the panel's upper right corner.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Drawn<DB> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()
}

/// The drill window shaded and the leader change as a vertical line, on one panel whose y
/// axis ends at `y_top`; with `labels`, their names at the top (once per chart is enough).
fn shade<DB: DrawingBackend, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    drill: &DrillMarks,
    y_top: f64,
    labels: bool,
) -> Drawn<DB>
where
    Y: Ranged<ValueType = f64>,
{
    let y_floor = chart.y_range().start;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(drill.started_s, y_floor), (drill.until_s, y_top)],
        DRILL.mix(0.22).filled(),
    )))?;
    if labels {
        chart.draw_series(std::iter::once(Text::new(
            format!("{} at {:.0} s", drill.what, drill.started_s),
            (drill.started_s, y_top),
            ("sans-serif", 12).into_font().color(&RGBColor(204, 102, 0)),
        )))?;
    }
    if let Some((at, name)) = &drill.leader_change {
        chart.draw_series(std::iter::once(PathElement::new(
            [(*at, y_floor), (*at, y_top)],
            LEADER.stroke_width(2),
        )))?;
        if labels {
            chart.draw_series(std::iter::once(Text::new(
                format!("  new leader {name} at {at:.1} s"),
                (*at, y_top),
                ("sans-serif", 12).into_font().color(&LEADER),
            )))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn second(requests: u64, failures: u64, p50_ms: f64, p99_ms: f64) -> Window {
        Window {
            seconds: 1.0,
            requests,
            failures,
            p50_ms,
            p99_ms,
        }
    }

    /// Polylines with at least three points: the data series (a legend entry, the drill's
    /// line and every axis or grid line have two).
    fn series(svg: &str) -> usize {
        svg.split("<polyline")
            .skip(1)
            .filter(|p| {
                let points = p.split("points=\"").nth(1).unwrap_or("");
                points
                    .split('"')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .count()
                    >= 3
            })
            .count()
    }

    #[test]
    fn a_run_with_a_drill_draws_every_series_the_window_and_the_leader() {
        let seconds: Vec<Window> = (0..30)
            .map(|i| second(20, u64::from(i == 15) * 3, 12.0, 80.0 + f64::from(i)))
            .collect();
        let drill = DrillMarks {
            what: "kill-leader".into(),
            started_s: 12.0,
            until_s: 21.5,
            leader_change: Some((20.0, "pg2".into())),
        };
        let doc = svg("all requests", &seconds, Some(&drill)).expect("svg");
        assert!(doc.starts_with("<svg"), "{}", &doc[..80]);
        assert_eq!(series(&doc), 3, "requests/s, p50, p99");
        assert!(
            doc.contains("new leader pg2 at 20.0 s"),
            "the leader change is labelled"
        );
        assert!(
            doc.contains("kill-leader at 12 s"),
            "the drill window is labelled"
        );
        assert!(doc.contains("failed/s"));
        assert!(!doc.contains("no requests"));
    }

    #[test]
    fn no_requests_draw_no_series() {
        let seconds = vec![second(0, 0, 0.0, 0.0); 10];
        let doc = svg("staff", &seconds, None).expect("svg");
        assert_eq!(series(&doc), 0);
        assert!(doc.contains("no requests"));
        let doc = svg("nothing at all", &[], None).expect("svg");
        assert_eq!(series(&doc), 0);
    }
}
