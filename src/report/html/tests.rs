//! Unit tests of `src/report/html.rs`.

use super::timeline::{runs, ticks};
use super::*;
use crate::report::fixture;

fn render(ctx: &Context) -> String {
    String::from_utf8(Html { context: ctx }.render(&fixture::results()).unwrap()).unwrap()
}

#[test]
fn the_page_holds_the_machine_the_table_the_plots_and_every_timeline() {
    let ctx = fixture::context();
    let html = render(&ctx);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("<body data-ready=\"0\" data-errors=\"0\">"));
    // Self-contained: nothing is fetched.
    for bad in ["http://", "https://", "src=", "href=", "@import", "url("] {
        let hits: Vec<&str> = html.matches(bad).collect();
        let allowed = if bad == "http://" {
            // The SVG namespaces, which are names, not requests.
            html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        } else {
            0
        };
        assert_eq!(hits.len(), allowed, "{bad}");
    }
    assert!(html.contains("default-src 'none'"));
    // The machine and the command.
    assert!(html.contains("<dt>CPU</dt><dd>Test CPU @ 1.00GHz</dd>"));
    assert!(html.contains("<code>hunt race --report &#39;my report.html&#39;</code>"));
    // A row per contender, with its raw numbers to sort by.
    for label in ["sequential x1", "rayon x2", "fork x2"] {
        assert!(
            html.contains(&format!("<tr data-contender=\"{label}\"")),
            "{label}"
        );
    }
    assert!(html.contains("<td class=\"num\" data-v=\"0.018\">18.0 ms</td>"));
    assert!(html.contains("<td class=\"num\" data-v=\"1.8\">1.80 ± 0.09</td>"));
    assert_eq!(html.matches("</th>").count(), COLUMNS.len());
    // The summary, the plots (inline SVG), and a timeline per traced contender.
    assert!(html.contains("Fastest: rayon x2, 1.80 ± 0.09 times faster than sequential"));
    assert!(html.contains("speedup against sequential"));
    assert!(html.contains("ideal (= workers)"));
    for label in ["sequential x1", "rayon x2"] {
        assert!(
            html.contains(&format!(
                "<figure class=\"timeline\" data-contender=\"{label}\""
            )),
            "{label}"
        );
    }
    assert!(html.contains(
        "<figure class=\"timeline missing\" data-contender=\"fork x2\"><figcaption><b>fork x2</b>: no timeline: boom</figcaption>"
    ));
    assert!(html.contains("with the treasure at search position 3 of 10"));
    // rayon's worker 1 read two files before the signal and one after, found it.
    assert!(
        html.contains("found file 7 by rayon worker 1 at 2.50 us"),
        "{html}"
    );
    assert!(html.contains("5 files read, 1 after the stop signal"));
    assert!(html.contains("the last worker stopped 0.50 us after it"));
    assert!(html.contains("<title>task 0 (search positions 0..4), 2.55 us</title>"));
    assert!(html.contains(">rayon worker 1</text>"));
    assert!(html.contains("the stop signal, at 2.50 us"));
}

#[test]
fn adjacent_files_are_drawn_as_one_bar() {
    assert_eq!(
        runs(vec![(10, 20), (0, 9), (40, 50), (21, 30)], 1),
        [(0, 30, 3), (40, 50, 1)]
    );
    assert_eq!(ticks(10_000), (0..=5).map(|i| i * 2000).collect::<Vec<_>>());
    assert_eq!(ticks(7), (0..=7).collect::<Vec<_>>());
}

#[test]
fn text_from_the_race_is_escaped() {
    let mut ctx = fixture::context();
    ctx.command = "hunt race --dir '<script>alert(1)</script>'".into();
    let html = render(&ctx);
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Without traced runs the page says so and has no scale switch.
    let html = render(&Context::default());
    assert!(html.contains("No traced runs."));
    assert!(html.contains("data-ready=\"0\""));
}
