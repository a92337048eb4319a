//! `hunt race --fault`: every strategy of the registry raced under each fault, its
//! outcome counts checked against what its kind of workers must answer. The cases are
//! drawn from `StrategyKind::ALL` and each strategy's facts (where its workers live, and
//! whether they can die alone), so a new strategy is covered by the cases that exist:
//! - `kill-worker`: in-process workers (a thread dies; a `uring` worker after its ring
//!   let go of every read in flight) and worker processes (SIGKILL) answer "unknown" in
//!   every run, never "not found"; broker workers (SIGKILL, then a takeover after the
//!   lease) answer right in every run, and their takeovers' files are the work done
//!   again. A strategy this host cannot run (`uring` where the kernel refuses io_uring)
//!   is skipped with a line.
//! - `pause-worker`: every strategy answers right (the worker comes back).
//! - `kill-broker`: a broker strategy whose private server can be killed and started
//!   again on its data answers right; one without a server of its own (SQLite's file)
//!   and every strategy without a broker sit out with their lines.
//! - no answer is ever wrong, no run hangs, the fault fires in every faulted run, and a
//!   strategy the fault cannot reach sits out with its line.
mod common;
use common::*;
use hunt::fault::WorkerHost;
use hunt::scan::Reader;
use hunt::strategy::StrategyKind;
use serde_json::Value;
use std::path::Path;

const FILES: u64 = 200;
const RUNS: u64 = 2;

/// What a strategy must answer under `fault`, from its facts.
#[derive(Debug, PartialEq)]
enum Expect {
    Right,
    Unknown,
    SitsOut(&'static str),
    /// Right, or sits out with a line where its broker has no server to kill.
    RightIfItHasAServer,
}

fn expect(fault: &str, s: StrategyKind) -> Expect {
    let facts = s.facts();
    match (fault, facts.host) {
        ("kill-worker", _) if facts.cannot_die.is_some() => {
            Expect::SitsOut(facts.cannot_die.unwrap())
        }
        ("kill-worker", WorkerHost::Broker) => Expect::Right,
        ("kill-worker", _) => Expect::Unknown,
        ("kill-broker", WorkerHost::Broker) => Expect::RightIfItHasAServer,
        ("kill-broker", _) => Expect::SitsOut("its workers share no broker to kill"),
        _ => Expect::Right,
    }
}

/// The strategies this build can race with the `read` reader; a broker whose server is
/// not installed sits out by itself (checked below).
fn strategies() -> Vec<StrategyKind> {
    StrategyKind::ALL
        .iter()
        .copied()
        .filter(|s| s.runs_with(Reader::Read))
        // Peers (Celery, RQ) need a Python environment: tests/celery.rs races them.
        .filter(|s| !s.facts().peer)
        .collect()
}

/// True, with a line saying so, for a contender this host cannot run at all: `uring`
/// where the kernel refuses io_uring (too old, turned off, a seccomp filter).
fn refused_here(c: &Value) -> bool {
    let why = c["failed"].as_str().unwrap_or_default();
    let refused = why.contains("io_uring is not available here");
    if refused {
        eprintln!("skipping {}: {why}", c["strategy"]);
    }
    refused
}

/// The race ended well: exit 0, or 2 only because a contender this host cannot run
/// failed ([`refused_here`]).
fn assert_finished(r: &Run, json: &Value) {
    let contenders = json["contenders"].as_array().unwrap();
    let failed = contenders.iter().filter(|c| !c["failed"].is_null());
    if failed.clone().count() > 0 && failed.clone().all(refused_here) {
        assert_eq!(r.code, Some(2), "{r:?}");
    } else {
        assert_eq!(r.code, Some(0), "{r:?}");
    }
}

/// Races every strategy under `fault` and returns the exit code, stderr and the JSON
/// export.
fn race(dir: &Path, out: &Path, fault: &str, strategies: &[StrategyKind]) -> (Run, Value) {
    race_with(dir, out, fault, strategies, "2")
}

/// [`race`] with `workers` workers.
fn race_with(
    dir: &Path,
    out: &Path,
    fault: &str,
    strategies: &[StrategyKind],
    workers: &str,
) -> (Run, Value) {
    let names: Vec<&str> = strategies.iter().map(|s| s.name()).collect();
    let names = names.join(",");
    let json = out.join(format!("{fault}.json"));
    let r = run(&[
        "race",
        "--dir",
        s(dir),
        "--strategies",
        &names,
        "--workers",
        workers,
        "--runs",
        &RUNS.to_string(),
        "--warmup",
        "0",
        "--seed",
        "5",
        "--lease",
        "0.5",
        "--fault",
        fault,
        "--export-json",
        s(&json),
    ]);
    r.no_panic();
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("no export ({e}): {r:?}"));
    (r, serde_json::from_str(&text).unwrap())
}

fn check(fault: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 20, None);
    let all = strategies();
    let (r, json) = race(&dir, tmp.path(), fault, &all);
    assert_finished(&r, &json);
    assert!(
        r.stderr.contains(&format!("note: --fault {fault}: ")),
        "{}",
        r.stderr
    );
    assert_eq!(json["fault"]["kind"], fault);
    assert!(json["fault"]["deadline_s"].as_f64().unwrap() > 0.0);
    let table = &r.stdout;
    assert!(
        table.contains(&format!("Survival under --fault {fault}")),
        "{table}"
    );
    let contenders = json["contenders"].as_array().unwrap();
    for s in all {
        let raced = contenders.iter().find(|c| c["strategy"] == s.name());
        let expected = expect(fault, s);
        if let Expect::SitsOut(why) = expected {
            assert!(raced.is_none(), "{s} should sit out");
            assert!(
                r.stderr
                    .contains(&format!("note: {s} sits out --fault {fault}: {why}")),
                "{}",
                r.stderr
            );
            continue;
        }
        let Some(c) = raced else {
            // A broker whose server is not installed sits out with its own line; under
            // kill-broker, one with no server of its own too.
            let line = match expected {
                Expect::RightIfItHasAServer => format!("note: {s} sits out --fault {fault}: "),
                _ => format!("note: {s} sits out: "),
            };
            assert!(
                r.stderr.contains(&line) || r.stderr.contains(&format!("note: {s} sits out: ")),
                "{s} did not race: {}",
                r.stderr
            );
            // Redis has a server of its own: it must race where it is installed.
            assert!(
                !(s.name() == "redis" && fault == "kill-broker" && have("redis-server")),
                "redis should race: {}",
                r.stderr
            );
            // Under kill-broker, only a broker with no server of its own (SQLite's
            // file) sits the fault out; one whose server is here must be killable.
            let fault_line = format!("note: {s} sits out --fault {fault}: ");
            let no_server = r.stderr.lines().any(|l| {
                l.contains(&fault_line)
                    && (l.contains("no server to kill") || l.contains("no server of its own"))
            });
            assert!(
                !r.stderr.contains(&fault_line) || no_server,
                "{s} should race under {fault}: {}",
                r.stderr
            );
            continue;
        };
        if refused_here(c) {
            continue;
        }
        assert!(c["failed"].is_null(), "{s}: {}", c["failed"]);
        let o = &c["outcomes"];
        let count = |k: &str| {
            o[k].as_u64()
                .unwrap_or_else(|| panic!("{s}: no {k} in {o}"))
        };
        assert_eq!(count("wrong"), 0, "{s} answered wrong: {c}");
        assert_eq!(count("hung"), 0, "{s} hung: {c}");
        match expected {
            Expect::Right | Expect::RightIfItHasAServer => {
                assert_eq!(count("right"), RUNS, "{s}: {c}")
            }
            Expect::Unknown => assert_eq!(count("unknown"), RUNS, "{s}: {c}"),
            Expect::SitsOut(_) => unreachable!(),
        }
        let f = &c["fault"];
        assert_eq!(
            f["fired"], RUNS,
            "{s}: the fault did not fire every time: {f}"
        );
        let how = f["how"].as_str().unwrap();
        let expected_how = match (fault, s.facts().host) {
            ("kill-worker", WorkerHost::Thread) => "thread dies",
            ("kill-worker", _) => "SIGKILL from outside",
            ("kill-broker", _) => "server SIGKILL, restart",
            (_, WorkerHost::Thread) => "thread sleeps",
            _ => "SIGSTOP, SIGCONT",
        };
        assert_eq!(how, expected_how, "{s}");
        // The plain runs still ran, and were right.
        assert_eq!(c["runs"], RUNS, "{s}: {c}");
        check_files_again(fault, s, c);
        // The unknown answers name the dead worker.
        for sample in f["samples"].as_array().unwrap() {
            if sample["answer"] == "unknown" {
                let said = sample["said"].as_str().unwrap();
                assert!(
                    said.contains("died mid-file") || said.contains("SIGKILL"),
                    "{s}: {said}"
                );
            }
        }
        // The table has its row.
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(s.name()) && l.contains(how)),
            "{s}: {table}"
        );
    }
}

/// The work done again, in the JSON export: a broker's takeover re-reads its task's
/// range, so a run with retries read files again (under `kill-worker`, the takeover
/// that found the treasure read at least its file) and a run without read none; a
/// strategy without a shared queue never reads a range again (0); the contender's
/// figure is the mean of its runs'.
fn check_files_again(fault: &str, s: StrategyKind, c: &Value) {
    let f = &c["fault"];
    let samples = f["samples"].as_array().unwrap();
    let mut again = Vec::new();
    for sample in samples {
        let files = sample["files_again"]
            .as_u64()
            .unwrap_or_else(|| panic!("{s}: no files_again in {sample}"));
        again.push(files as f64);
        if s.facts().host != WorkerHost::Broker {
            assert_eq!(files, 0, "{s}: nothing is read again: {sample}");
            continue;
        }
        let retries = sample["retries"].as_u64().unwrap();
        if retries == 0 {
            assert_eq!(files, 0, "{s}: no takeover, nothing read again: {sample}");
        } else if fault == "kill-worker" && sample["answer"] == "right" {
            assert!(files > 0, "{s}: a takeover read nothing again: {sample}");
        }
    }
    let mean = again.iter().sum::<f64>() / again.len() as f64;
    assert_eq!(f["files_again"].as_f64(), Some(mean), "{s}: {f}");
}

#[test]
fn kill_worker_leaves_local_strategies_unknown_and_brokers_right() {
    check("kill-worker");
}

#[test]
fn pause_worker_leaves_every_strategy_right() {
    check("pause-worker");
}

#[test]
fn kill_broker_leaves_a_restarted_broker_right() {
    check("kill-broker");
}

/// With one worker nobody can take over: a killed worker leaves every strategy's answer
/// unknown, and nothing hangs (the `queue` producer once waited for ever on a full
/// channel whose only consumer had died).
#[test]
fn a_lone_worker_killed_leaves_the_answer_unknown_and_nothing_hangs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 20, None);
    let all: Vec<StrategyKind> = strategies()
        .into_iter()
        .filter(|s| s.facts().cannot_die.is_none())
        .collect();
    let (r, json) = race_with(&dir, tmp.path(), "kill-worker", &all, "1");
    assert_finished(&r, &json);
    for c in json["contenders"].as_array().unwrap() {
        if refused_here(c) {
            continue;
        }
        let o = &c["outcomes"];
        assert_eq!(o["wrong"], 0, "{c}");
        assert_eq!(o["hung"], 0, "{c}");
        assert_eq!(o["unknown"], RUNS, "{c}");
        // Nobody was left to take over: no retry, nothing read again, a broker too.
        for sample in c["fault"]["samples"].as_array().unwrap() {
            assert_eq!(sample["files_again"], 0, "{c}");
            assert!(sample["retries"].as_u64().unwrap_or(0) == 0, "{c}");
        }
    }
}

#[test]
fn a_fault_needs_the_treasure() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 10, 5, None);
    let r = run(&[
        "race",
        "--dir",
        s(&dir),
        "--fault",
        "kill-worker",
        "--full-scan",
    ]);
    assert_bad_input(&r, "--fault fires at the treasure's file");
}

#[test]
fn every_export_carries_the_outcomes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 60, 10, None);
    let (csv, md) = (tmp.path().join("r.csv"), tmp.path().join("r.md"));
    let html = tmp.path().join("r.html");
    let r = run(&[
        "race",
        "--dir",
        s(&dir),
        "--strategies",
        "threads,fork",
        "--workers",
        "2",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--fault",
        "kill-worker",
        "--export-csv",
        s(&csv),
        "--export-markdown",
        s(&md),
        "--report",
        s(&html),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let csv = std::fs::read_to_string(&csv).unwrap();
    let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for k in [
        "fault",
        "right",
        "unknown",
        "wrong",
        "hung",
        "fault_files_again_mean",
    ] {
        assert!(head.contains(&k), "{k} not in {head:?}");
    }
    let at = |k: &str| head.iter().position(|h| *h == k).unwrap();
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[at("fault")], "kill-worker", "{line}");
        assert_eq!(cells[at("unknown")], "1", "{line}");
        assert_eq!(cells[at("wrong")], "0", "{line}");
        // A dead thread's or child's range is lost, never read again.
        assert_eq!(cells[at("fault_files_again_mean")], "0", "{line}");
    }
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("| strategy | workers | fault | right | unknown | wrong | hung |"),
        "{md}"
    );
    assert!(
        md.contains("| threads | 2 | thread dies | 0 | 1 | 0 | 0 |"),
        "{md}"
    );
    assert!(
        md.contains("| fork | 2 | SIGKILL from outside | 0 | 1 | 0 | 0 |"),
        "{md}"
    );
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("<table id=\"faults\">"), "no survival table");
    assert!(html.contains("<td>SIGKILL from outside</td>"));
    assert!(
        html.contains("files again: the work done again"),
        "no legend"
    );
    // The timeline of one faulted run per contender, beside the plain one.
    for c in ["threads x2", "fork x2"] {
        assert!(
            html.contains(&format!("<b>{c} under --fault kill-worker</b>")),
            "no faulted timeline of {c}"
        );
    }
}

/// A `uring` worker killed mid-file first makes the kernel let go of every operation in
/// flight on its ring, then dies like any worker thread, under every `--ring` variant
/// (a linked chain's read is queued with its open; registered buffers are pinned): the
/// answer is unknown, the dead worker named, and nothing panics.
#[test]
fn a_uring_worker_lets_its_ring_go_before_it_dies() {
    if !StrategyKind::Uring.compiled_in() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 20, Some(FILES / 4));
    let (treasure, _) = manifest_treasure(&dir);
    for ring in ["plain", "fixed-files", "fixed-files,link", "fixed-buffers"] {
        let pid = tmp.path().join(format!("pid-{ring}"));
        let mut cmd = hunt(&search_json_args(
            &dir,
            &["--strategy", "uring", "-j", "2", "--ring", ring],
        ));
        cmd.env(
            hunt::fault::FAULT_ENV,
            hunt::fault::env_value(
                hunt::fault::FaultKind::KillWorker,
                treasure,
                WorkerHost::Thread,
                std::time::Duration::ZERO,
                &pid,
            ),
        );
        let r = output_within(cmd, 60);
        if r.stderr.contains("io_uring is not available here") || r.stderr.contains("ulimit -l") {
            eprintln!("skipping uring --ring {ring}: {}", r.stderr.trim());
            continue;
        }
        r.no_panic();
        assert_eq!(r.code, Some(2), "--ring {ring}: {r:?}");
        assert!(
            r.stderr.contains(hunt::fault::THREAD_DIED),
            "--ring {ring}: {r:?}"
        );
        assert!(pid.exists(), "--ring {ring}: the fault did not fire");
    }
}
