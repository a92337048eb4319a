//! `hunt race --report FILE.html` checked in a real browser: a small race of every
//! strategy this build can run writes the report; headless Chromium (Debian's
//! `chromium`) opens it from the disk, its script must run to the end without an error
//! (the page's `data-ready` and `data-errors` markers, and no uncaught error in the
//! console), every contender's row and timeline must be in the rendered page, and a
//! screenshot is taken. Skipped with a line where `chromium` is missing, unless
//! `HUNT_REQUIRE_SERVERS=1`.
mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// `chromium --headless` with a fresh profile and nothing that phones home, plus `extra`.
fn chromium(profile: &Path, extra: &[&str]) -> Run {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .stdin(std::process::Stdio::null());
    output_within(c, 180)
}

#[test]
fn the_report_renders_in_a_browser_with_every_contender() {
    if !have("chromium") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 60, 20, Some(41));
    let report = tmp.path().join("race report.html");
    let json = tmp.path().join("r.json");
    // Peers (Celery, RQ) are not traced, so their timelines have no worker rows:
    // every one of hunt's own strategies is raced.
    let own: Vec<hunt::strategy::StrategyKind> = hunt::strategy::StrategyKind::ALL
        .iter()
        .copied()
        .filter(|k| !k.facts().peer)
        .collect();
    let own = compiled_names(&own).join(",");
    let r = run(&quick_race_args(
        &dir,
        "3",
        &[
            "--strategies",
            &own,
            "--workers",
            "1,2",
            "--batch",
            "8",
            "--report",
            s(&report),
            "--export-json",
            s(&json),
        ],
    ));
    assert_eq!(r.code, Some(0), "{r:?}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let labels: Vec<String> = j["contenders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} x{}", c["strategy"].as_str().unwrap(), c["workers"]))
        .collect();
    assert!(labels.len() >= 10, "{labels:?}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("default-src 'none'"),
        "the page forbids any fetch"
    );

    let url = format!("file://{}", report.display()).replace(' ', "%20");
    let dom = chromium(&tmp.path().join("profile-dom"), &["--dump-dom", &url]);
    assert_eq!(dom.code, Some(0), "{dom:?}");
    assert!(
        dom.stdout
            .contains("<body data-ready=\"1\" data-errors=\"0\""),
        "the script did not run to its end: {}",
        &dom.stdout[..dom.stdout.len().min(2000)]
    );
    for bad in ["Uncaught", "Refused to"] {
        assert!(
            !dom.stderr.contains(bad),
            "{bad} in the console: {}",
            dom.stderr
        );
    }
    // Filled in by the script: the rows it sorts and the timelines drawn.
    let n = labels.len();
    assert!(
        dom.stdout
            .contains(&format!("<span id=\"count\">{n}</span>")),
        "{n} rows"
    );
    assert!(
        dom.stdout
            .contains(&format!("<span id=\"drawn\">{n}</span>")),
        "{n} timelines"
    );
    for label in &labels {
        assert!(
            dom.stdout
                .contains(&format!("<tr data-contender=\"{label}\"")),
            "no row for {label}"
        );
        let at = dom
            .stdout
            .find(&format!(
                "<figure class=\"timeline\" data-contender=\"{label}\""
            ))
            .unwrap_or_else(|| panic!("no timeline for {label}"));
        let figure = &dom.stdout[at..];
        let figure = &figure[..figure.find("</figure>").unwrap()];
        assert!(figure.contains("<svg"), "{label}: {figure}");
        assert!(figure.contains("worker"), "{label}: no worker row");
    }

    let png = tmp.path().join("report.png");
    let shot = chromium(
        &tmp.path().join("profile-shot"),
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,2000",
            &url,
        ],
    );
    assert_eq!(shot.code, Some(0), "{shot:?}");
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot: {e}: {shot:?}"));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank 1400 x 2000 page compresses to a few kB; the report's is far larger.
    assert!(bytes.len() > 50_000, "{} bytes: a blank page?", bytes.len());
}

/// The timeline of a faulted run shows the fault: for one strategy of each kind of
/// worker (a thread, a process, a broker's `hunt worker`), drawn from the registry so a
/// new kind is covered, the rendered page's faulted timeline holds the kill's marker
/// and its caption names the pid; the legend says what the marker is.
#[test]
fn a_faulted_runs_timeline_shows_the_kill() {
    use hunt::fault::WorkerHost;
    use hunt::scan::Reader;
    use hunt::strategy::StrategyKind;
    if !have("chromium") {
        return;
    }
    let picks: Vec<(WorkerHost, StrategyKind)> =
        [WorkerHost::Thread, WorkerHost::Process, WorkerHost::Broker]
            .into_iter()
            .filter_map(|host| {
                StrategyKind::ALL
                    .iter()
                    .copied()
                    .find(|s| {
                        let f = s.facts();
                        // Two workers, so another can take over.
                        f.host == host
                            && f.workers.apply(std::num::NonZeroUsize::new(2).unwrap()) == 2
                            && f.cannot_die.is_none()
                            && f.missing_feature.is_none()
                            && s.runs_with(Reader::Read)
                    })
                    .map(|s| (host, s))
            })
            .collect();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 60, 20, Some(41));
    let report = tmp.path().join("faulted.html");
    let names: Vec<&str> = picks.iter().map(|(_, s)| s.name()).collect();
    let names = names.join(",");
    let r = run(&quick_race_args(
        &dir,
        "3",
        &[
            "--strategies",
            &names,
            "--workers",
            "2",
            "--lease",
            "0.5",
            "--fault",
            "kill-worker",
            "--report",
            s(&report),
        ],
    ));
    assert_eq!(r.code, Some(0), "{r:?}");
    let url = format!("file://{}", report.display());
    let dom = chromium(&tmp.path().join("profile"), &["--dump-dom", &url]);
    assert_eq!(dom.code, Some(0), "{dom:?}");
    assert!(
        dom.stdout.contains("the fault of a faulted run"),
        "no legend line for the fault"
    );
    for (host, strategy) in picks {
        if r.stderr.contains(&format!("note: {strategy} sits out")) {
            continue; // a broker whose server is not installed
        }
        let label = format!("{strategy} x2 under --fault kill-worker");
        let at = dom
            .stdout
            .find(&format!(
                "<figure class=\"timeline\" data-contender=\"{label}\""
            ))
            .unwrap_or_else(|| panic!("no timeline for {label}: {}", r.stderr));
        let figure = &dom.stdout[at..];
        let figure = &figure[..figure.find("</figure>").unwrap()];
        assert!(
            figure.contains("<g class=\"fault\" data-fault=\"kill-worker\">"),
            "{host:?}: no kill marker in {label}: {figure}"
        );
        let how = hunt::fault::how(hunt::fault::FaultKind::KillWorker, host);
        assert!(
            figure.contains(&format!("kill-worker ({how}) to pid ")),
            "{host:?}: the caption does not name the kill: {figure}"
        );
    }
}
