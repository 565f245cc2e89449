//! `index.html` of the report folder: the verdict, the charts inline, the summary, and links
//! to the other files. One file with no script, no font and no address outside the folder,
//! so it shows the same with no network at all (goose's `report.html` draws its charts with
//! a script from the internet and shows empty boxes offline).

use std::fmt::Write;

use crate::summary::RunReport;

/// A chart to show: its SVG document and the file it was also written to.
#[derive(Debug, Clone)]
pub struct Figure {
    /// `all`, or the transaction group; the figure's `data-chart`.
    pub name: String,
    pub title: String,
    /// Relative to the report folder (`charts/all.svg`).
    pub file: String,
    pub svg: String,
}

const STYLE: &str = "\
body{font-family:sans-serif;margin:1.5em auto;max-width:1000px;padding:0 1em;color:#222}
h1{font-size:1.5em}.passed{color:#1a7f37}.failed{color:#c62828}
figure.chart{margin:1em 0 2em}figure.chart svg{width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.9em;color:#555;margin-bottom:.3em}
pre{background:#f6f8fa;padding:1em;overflow-x:auto;font-size:.85em}";

/// The page; `drill_note` says what the shading and the line of the timeline are, `files`
/// are the other files of the folder to link (name, what it is).
pub fn index_html(
    report: &RunReport,
    summary: &str,
    drill_note: Option<&str>,
    figures: &[Figure],
    files: &[(&str, &str)],
) -> String {
    let mut html = String::new();
    let verdict = if report.passed { "PASSED" } else { "FAILED" };
    let class = verdict.to_ascii_lowercase();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Lyceum load test: {verdict}</title><style>{STYLE}</style></head><body>\n\
         <h1>Lyceum load test: <span class=\"{class}\">{verdict}</span></h1>\n"
    );
    if !report.reasons.is_empty() {
        html.push_str("<ul>\n");
        for reason in &report.reasons {
            let _ = writeln!(html, "<li class=\"failed\">{}</li>", escape(reason));
        }
        html.push_str("</ul>\n");
    }
    let _ = writeln!(
        html,
        "<p>{} requests in {:.1} s ({:.1} req/s), {} answered 500.</p>",
        report.requests, report.duration_s, report.requests_per_second, report.internal_errors
    );
    for (i, figure) in figures.iter().enumerate() {
        if i == 1 {
            html.push_str("<h2>By transaction group</h2>\n");
        }
        let caption = match (i, drill_note) {
            (0, Some(note)) => format!("{}. {}", escape(&figure.title), escape(note)),
            _ => escape(&figure.title),
        };
        let _ = writeln!(
            html,
            "<figure class=\"chart\" id=\"chart-{id}\" data-chart=\"{name}\">\
             <figcaption>{caption} (<a href=\"{file}\">{file}</a>)</figcaption>\n{svg}\n</figure>",
            id = slug(&figure.name),
            name = escape(&figure.name),
            file = escape(&figure.file),
            svg = inline_svg(&figure.svg),
        );
    }
    let _ = writeln!(
        html,
        "<h2>Summary</h2>\n<pre>{}</pre>\n<h2>Files</h2>\n<ul>",
        escape(summary)
    );
    for (name, what) in files {
        let _ = writeln!(
            html,
            "<li><a href=\"{n}\">{n}</a>: {}</li>",
            escape(what),
            n = escape(name)
        );
    }
    html.push_str("</ul>\n</body></html>\n");
    html
}

/// The SVG document as an element of the page: inside HTML the parser gives `<svg>` its
/// namespace, so the `xmlns` attribute (an address, though nothing fetches it) goes.
fn inline_svg(svg: &str) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

/// `charts/NAME.svg` and the figure's id: letters, digits and dashes only.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{recorder::Tally, summary::LedgerOutcome};

    fn report() -> RunReport {
        RunReport::new(
            &Tally::finished(10),
            None,
            LedgerOutcome::Failed("db <down>".into()),
        )
    }

    #[test]
    fn the_page_inlines_the_charts_escapes_text_and_names_no_address() {
        let figures = [
            Figure {
                name: "all".into(),
                title: "All requests".into(),
                file: "charts/all.svg".into(),
                svg: "<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\"><polyline points=\"1,1 2,2 3,3\"/></svg>".into(),
            },
            Figure {
                name: "student".into(),
                title: "student".into(),
                file: "charts/student.svg".into(),
                svg: "<svg></svg>".into(),
            },
        ];
        let html = index_html(
            &report(),
            "a < b & c",
            Some("leader pg1 -> pg2"),
            &figures,
            &[("summary.txt", "the summary")],
        );
        assert!(
            html.contains("<span class=\"failed\">FAILED</span>"),
            "{html}"
        );
        assert!(html.contains("db &lt;down&gt;"), "{html}");
        assert!(html.contains("<pre>a &lt; b &amp; c</pre>"), "{html}");
        assert!(
            html.contains("All requests. leader pg1 -&gt; pg2"),
            "{html}"
        );
        assert!(
            html.contains("id=\"chart-all\" data-chart=\"all\""),
            "{html}"
        );
        assert!(html.contains("<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\"><polyline"));
        assert!(html.contains("<h2>By transaction group</h2>"));
        assert!(html.contains("<a href=\"summary.txt\">summary.txt</a>"));
        assert!(!html.contains("http"), "no address at all: {html}");
    }

    #[test]
    fn slugs_keep_letters_and_digits() {
        assert_eq!(slug("student"), "student");
        assert_eq!(slug("Auth: login/2"), "auth--login-2");
    }
}
