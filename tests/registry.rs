//! What the strategy registry promises the command line: a strategy this build left
//! out (its cargo feature off) is refused with the command that rebuilds it, and a
//! strategy refuses a reader its facts do not list, and a strategy added in one file and
//! one registry line joins `hunt search` and `hunt race` with its knob, and the failure
//! tests' hook.
mod common;
use common::*;
use hunt::strategy::StrategyKind;

#[test]
fn strategies_left_out_of_the_build_say_how_to_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 5, 5, Some(1));
    for (s, feature) in [
        (StrategyKind::Async, "tokio"),
        (StrategyKind::Uring, "uring"),
    ] {
        let r = search_json(&dir, &["--strategy", s.name()]);
        if s.compiled_in() {
            assert_eq!(r.code, Some(0), "{s}: {r:?}");
        } else {
            assert_bad_input(
                &r,
                &format!("hunt was built without the `{feature}` feature: rebuild with `cargo build --features {feature}`"),
            );
        }
    }
}

#[test]
fn async_and_uring_refuse_the_mmap_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 5, 5, Some(1));
    for s in ["async", "uring"] {
        let r = search_json(&dir, &["--strategy", s, "--reader", "mmap"]);
        assert_bad_input(
            &r,
            &format!("--reader mmap does not apply to --strategy {s}"),
        );
    }
}

/// The strategy file of the copy below: `sequential` under another name, with a knob of
/// its own that it refuses to run without (so a race that dropped the knob on the way to
/// its runs would fail).
const COPYCAT: &str = r#"//! `copycat`: a copy of `sequential` with a knob, registered by tests/registry.rs.

use super::knob::{Kind, Knob};
use super::pool::{self, Share};
use super::{Outcome, Registered, Strategy, StrategyConfig, WorkerRule};
use crate::scan::{Job, Scanner};
use std::sync::atomic::AtomicBool;

/// `--copycat-level`: must be 7.
pub static LEVEL: Knob = Knob {
    name: "copycat-level",
    value_name: "N",
    help: "copycat runs only at level 7",
    kind: Kind::Count { default: 0, min: 0, max: 9, why_max: "" },
};

/// One loop on the calling thread.
pub struct Copycat {
    pool: pool::Pool,
}

impl Registered for Copycat {
    const WORKERS: WorkerRule = WorkerRule::One;
    const KNOBS: &'static [&'static Knob] = &[&LEVEL];

    fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        let level = config.knobs.count(&LEVEL);
        if level != 7 {
            anyhow::bail!("copycat runs only with --copycat-level 7 (got {level})");
        }
        Ok(Copycat { pool: config.pool.clone() })
    }
}

impl Strategy for Copycat {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let stop = AtomicBool::new(false);
        let share = Share { index: 0, lost: super::positions(&(0..job.len())) };
        Ok(self.pool.on_this_thread(share, || {
            let mut scanner = Scanner::new(job);
            pool::scan_positions(&mut scanner, 0..job.len(), &stop);
            Ok(scanner.tally)
        }))
    }

    fn workers(&self) -> usize {
        1
    }
}
"#;

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Adding a strategy is one file and one registry line: a copy of the crate gets the
/// `copycat` file above and a line in `registry!`, nothing else, and its `hunt search`
/// and `hunt race` take the new strategy and its knob (the race hands the knob to each
/// run, and runs the one-worker strategy once, at 1).
#[test]
fn a_strategy_added_in_one_file_and_one_registry_line_joins_search_and_race() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("hunt");
    for entry in ["src", "benches"] {
        copy_tree(&root.join(entry), &copy.join(entry));
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        std::fs::copy(root.join(file), copy.join(file)).unwrap();
    }
    std::fs::write(copy.join("src/strategy/copycat.rs"), COPYCAT).unwrap();
    let registry = copy.join("src/strategy/mod.rs");
    let text = std::fs::read_to_string(&registry).unwrap();
    let anchor = "    Sequential = \"sequential\" => sequential::Sequential;\n";
    assert!(
        text.contains(anchor),
        "the registry line of sequential moved"
    );
    let text = text.replacen(
        anchor,
        &format!("{anchor}    /// A copy of sequential (tests/registry.rs).\n    Copycat = \"copycat\" => copycat::Copycat;\n"),
        1,
    );
    std::fs::write(&registry, text).unwrap();
    // A target folder of its own (this test's cargo holds the main one's lock), kept
    // between runs so only the copy's own crate recompiles; no optional features, to
    // build quickly.
    let target = root.join("target/registry-copy");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = std::process::Command::new(cargo)
        .args([
            "build",
            "--offline",
            "--quiet",
            "--no-default-features",
            "--bin",
            "hunt",
        ])
        .current_dir(&copy)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "the copy builds: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let exe = target.join("debug/hunt");
    // The copy run with `env` added to this test's environment.
    let copied_with = |args: &[&str], env: &[(&str, &str)]| -> Run {
        std::process::Command::new(&exe)
            .args(args)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
            .into()
    };
    let copied = |args: &[&str]| copied_with(args, &[]);
    let set = tmp.path().join("set");
    let r = copied(&[
        "generate",
        "--dir",
        s(&set),
        "--files",
        "20",
        "--lines",
        "3",
        "--treasure-at",
        "11",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let search = [
        "search",
        "--json",
        "--dir",
        s(&set),
        "--strategy",
        "copycat",
        "--copycat-level",
        "7",
    ];
    let r = copied(&search);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.json()["index"], 11);
    assert_eq!(r.json()["workers"], 1);
    // The failure test's hook reaches the copy, which never names it: its worker is told
    // to fail through the shared pool, and the report says so under the copy's name.
    let r = copied_with(&search, &[(hunt::hooks::FAIL_WORKER_ENV, "copycat:0")]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr
            .contains("copycat worker 0 (search positions 0..20)")
            && r.stderr.contains(hunt::hooks::FAILED_ON_PURPOSE),
        "{r:?}"
    );
    let r = copied(&["search", "--dir", s(&set), "--strategy", "copycat"]);
    assert_bad_input(&r, "copycat runs only with --copycat-level 7");
    let r = copied(&[
        "search",
        "--dir",
        s(&set),
        "--strategy",
        "copycat",
        "--copycat-level",
        "12",
    ]);
    assert_bad_input(&r, "--copycat-level must be at most 9");
    let json = tmp.path().join("race.json");
    let r = copied(&[
        "race",
        "--dir",
        s(&set),
        "--strategies",
        "copycat,sequential",
        "-j",
        "1,2",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--seed",
        "3",
        "--copycat-level",
        "7",
        "--export-json",
        s(&json),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let copycats: Vec<&serde_json::Value> = j["contenders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["strategy"] == "copycat")
        .collect();
    assert_eq!(copycats.len(), 1, "a one-worker strategy runs once: {j}");
    assert_eq!(copycats[0]["workers"], 1, "{j}");
    assert!(
        copycats[0]["failed"].is_null(),
        "its knob reached its runs: {j}"
    );
    assert_eq!(copycats[0]["runs"], 2, "{j}");
}
