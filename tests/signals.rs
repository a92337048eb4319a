//! Faults and signals: Ctrl-C during `search` and `generate`, workers killed from
//! outside, a parent killed from outside, a file truncated under the mmap reader, a full
//! disk. Hunts are slowed with the test-only `HUNT_TEST_SLOW_FILE_MS` (a pause after each
//! file is opened) so a signal lands mid-hunt at a known point, on a small data set.
mod adversary;
use adversary::*;
use hunt::hooks::SLOW_FILE_ENV;
use hunt::scan::Reader;
use hunt::strategy::{runnable_pairs, StrategyKind};
use std::path::Path;
use std::time::Duration;

/// How long after a signal an exit still counts as prompt.
const PROMPT: Duration = Duration::from_secs(3);

/// Starts a slow search over `dir` for a needle that is not there.
fn slow_search(dir: &Path, s: StrategyKind, r: Reader, workers: u32, ms: u32) -> Started {
    start(slow_search_command(dir, s, r, workers, ms))
}

/// The command of [`slow_search`], not started yet.
fn slow_search_command(
    dir: &Path,
    s: StrategyKind,
    r: Reader,
    workers: u32,
    ms: u32,
) -> std::process::Command {
    let workers = workers.to_string();
    let mut args = vec!["search", "--dir", dir.to_str().unwrap()];
    args.extend(strategy_flags(s, r, &workers));
    args.extend(["--needle", "Nowhere"]);
    let mut c = hunt(&args);
    c.env(SLOW_FILE_ENV, ms.to_string());
    c
}

/// Ctrl-C (SIGINT to the hunt process only, as `kill -INT` sends it) mid-search: exit
/// 130 promptly, "interrupted" and no answer, every worker process gone, nothing
/// written into the data set.
#[test]
fn sigint_during_search() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 40, 3, 0);
    let before = snapshot(&dir);
    for (s, r) in runnable_pairs() {
        let started = slow_search(&dir, s, r, 3, 200);
        let pid = started.pid();
        assert!(
            wait_until(Duration::from_secs(10), || tree_uses(
                pid,
                &dir.join("file_0.txt")
            )),
            "{s}/{r:?}: the hunt never started"
        );
        let kids = descendants(pid);
        kill(pid, libc::SIGINT);
        let run = started.wait(PROMPT);
        assert_eq!(run.code, Some(130), "{s}/{r:?}: {run:?}");
        assert_eq!(run.stderr, "hunt: interrupted\n", "{s}/{r:?}");
        assert_eq!(run.stdout, "", "{s}/{r:?}: no answer after an interrupt");
        for k in kids {
            assert!(!alive(k), "{s}/{r:?}: worker {k} outlived the parent");
        }
        assert!(children(pid).is_empty());
        assert_eq!(snapshot(&dir), before, "{s}/{r:?}: the data set changed");
    }
}

/// Ctrl-C sent to the whole process group, as a terminal does: the workers get it too.
#[test]
fn sigint_to_the_process_group() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 40, 3, 0);
    for (s, r) in runnable_pairs() {
        let mut c = slow_search_command(&dir, s, r, 3, 200);
        c.process_group(0);
        let started = start(c);
        let pid = started.pid();
        assert!(wait_until(Duration::from_secs(10), || tree_uses(
            pid,
            &dir.join("file_0.txt")
        )));
        let kids = descendants(pid);
        // SAFETY: signalling the group we just made.
        unsafe { libc::kill(-pid, libc::SIGINT) };
        let run = started.wait(PROMPT);
        assert_eq!(run.code, Some(130), "{s}/{r:?}: {run:?}");
        for k in kids {
            assert!(!alive(k), "{s}/{r:?}: worker {k} outlived the parent");
        }
    }
}

/// Ctrl-C mid-generate: exit 130 promptly, no manifest, the partial marker kept (so
/// search calls the set incomplete), no temporary file; `generate --force` then cleans
/// up and completes.
#[test]
fn sigint_during_generate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    let mut c = hunt(&[
        "generate",
        "--dir",
        dir.to_str().unwrap(),
        "--files",
        "400",
        "--lines",
        "2",
    ]);
    c.env(SLOW_FILE_ENV, "50");
    let started = start(c);
    let pid = started.pid();
    assert!(
        wait_until(Duration::from_secs(10), || dir.join("file_3.txt").exists()
            || dir.join("file_300.txt").exists()),
        "generate never started writing"
    );
    kill(pid, libc::SIGINT);
    let run = started.wait(PROMPT);
    assert_eq!(run.code, Some(130), "{run:?}");
    assert_eq!(run.stderr, "hunt: interrupted\n");
    assert!(
        !dir.join("manifest.json").exists(),
        "a manifest for an incomplete set"
    );
    assert!(
        dir.join(".hunt-partial.json").exists(),
        "the marker is gone"
    );
    assert!(
        !dir.join(".hunt-manifest.tmp").exists(),
        "a temporary file was left"
    );
    let written = std::fs::read_dir(&dir).unwrap().count() - 1;
    assert!(
        written < 400,
        "the interrupt came too late to test anything ({written} files)"
    );

    let r = search(&dir, &[]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("incomplete"), "{r:?}");

    let r = adversary::run(hunt(&[
        "generate",
        "--force",
        "--dir",
        dir.to_str().unwrap(),
        "--files",
        "20",
        "--lines",
        "2",
        "--treasure-at",
        "4",
    ]));
    assert_eq!(r.code, Some(0), "{r:?}");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 21, "20 files and the manifest: {names:?}");
    let r = search(&dir, &[]);
    assert_eq!(r.json()["index"], 4, "{r:?}");
}

/// A worker process killed with SIGKILL from outside mid-hunt: the hunt reports the lost
/// range and exits 2 ("the answer is unknown"), never 1 ("not found"). A strategy may
/// instead recover by re-scanning the range, and then 1 is the true answer. Strategies
/// without worker processes are skipped.
#[test]
fn worker_killed_from_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 24, 3, 0);
    let mut tested = 0;
    for (s, r) in runnable_pairs() {
        let started = slow_search(&dir, s, r, 4, 150);
        let pid = started.pid();
        assert!(wait_until(Duration::from_secs(10), || tree_uses(
            pid,
            &dir.join("file_0.txt")
        )));
        std::thread::sleep(Duration::from_millis(50)); // let every worker start
        let kids = children(pid);
        let Some(&victim) = kids.iter().max() else {
            started.wait(Duration::from_secs(30));
            continue; // in-process workers: nothing to kill from outside
        };
        tested += 1;
        kill(victim, libc::SIGKILL);
        let run = started.wait(Duration::from_secs(30));
        run.no_panic();
        match run.code {
            Some(2) => {
                assert!(run.stderr.contains("SIGKILL"), "{s}/{r:?}: {run:?}");
                assert!(run.stderr.contains("went unsearched"), "{s}/{r:?}: {run:?}");
                assert!(run.stderr.contains("may be there"), "{s}/{r:?}: {run:?}");
                if s == StrategyKind::Fork {
                    // Four workers on 24 files: ranges of six; the message names one.
                    let named = [
                        "0 (search positions 0..6)",
                        "1 (search positions 6..12)",
                        "2 (search positions 12..18)",
                        "3 (search positions 18..24)",
                    ]
                    .iter()
                    .filter(|w| run.stderr.contains(&format!("fork worker {w}")))
                    .count();
                    assert_eq!(named, 1, "{run:?}");
                }
            }
            Some(1) => assert!(s != StrategyKind::Fork, "fork cannot recover: {run:?}"),
            _ => panic!("{s}/{r:?}: {run:?}"),
        }
        assert!(!run.stdout.contains("found "), "{s}/{r:?}: {run:?}");
    }
    assert!(
        tested >= Reader::ALL.len(),
        "no strategy with worker processes was tested"
    );
}

/// The hunt process itself killed with SIGKILL (no handler runs): its worker processes
/// die with it (PR_SET_PDEATHSIG) instead of hunting on as orphans.
#[test]
fn workers_die_with_their_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 40, 3, 0);
    for (s, r) in runnable_pairs() {
        let started = slow_search(&dir, s, r, 4, 200);
        let pid = started.pid();
        assert!(wait_until(Duration::from_secs(10), || tree_uses(
            pid,
            &dir.join("file_0.txt")
        )));
        let kids = descendants(pid);
        kill(pid, libc::SIGKILL);
        let run = started.wait(PROMPT);
        assert_eq!(run.signal, Some(libc::SIGKILL));
        for k in kids {
            assert!(
                wait_until(PROMPT, || !alive(k)),
                "{s}/{r:?}: worker {k} outlived a killed parent"
            );
        }
    }
}

/// A file truncated while the mmap reader has it mapped raises SIGBUS, which Rust cannot
/// recover from safely. The chosen behaviour: in-process strategies end the whole
/// process with one clear line and exit 2; a worker process dies and its parent reports
/// the range it lost, exit 2; a task-queue worker dies with exit 2 and, though its task
/// is run again by another, the answer stays unknown. Never a core dump or "not found".
#[test]
fn file_truncated_under_mmap() {
    let tmp = tempfile::tempdir().unwrap();
    for (s, _) in runnable_pairs()
        .into_iter()
        .filter(|&(_, r)| r == Reader::Mmap)
    {
        let dir = tmp.path().join(s.name());
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("big.bin");
        let mut data = vec![b'a'; 4 << 20];
        data.extend_from_slice(b"Treasure");
        std::fs::write(&file, &data).unwrap();
        let mut args = vec!["search", "--json", "--dir", dir.to_str().unwrap()];
        args.extend(strategy_flags(s, Reader::Mmap, "2"));
        let mut c = hunt(&args);
        c.env(SLOW_FILE_ENV, "1500");
        let started = start(c);
        let pid = started.pid();
        assert!(
            wait_until(Duration::from_secs(10), || tree_uses(pid, &file)),
            "{s}: never mapped"
        );
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(0)
            .unwrap();
        let run = started.wait(Duration::from_secs(20));
        assert!(run.signal.is_none(), "{s}: {run:?}");
        assert!(run.stderr.contains("SIGBUS"), "{s}: {run:?}");
        assert!(!run.stdout.contains("\"found\":\""), "{s}: {run:?}");
        assert_eq!(run.code, Some(2), "{s}: {run:?}");
        // An in-process strategy ends in the SIGBUS handler, printing no report; a task
        // queue runs the dead worker's task again, on the now empty file, and reports:
        // still unknown, since a file changed under the hunt.
        if !run.stdout.trim().is_empty() {
            assert!(run.json()["found"].is_null(), "{s}: {run:?}");
        }
    }
}

/// A full disk mid-generate, on a 1 MiB tmpfs in a private mount namespace (`unshare`;
/// skipped with a message where that is not allowed): one line naming the folder and
/// the disk, exit 2, the marker kept and no manifest, a file outside the folder
/// untouched. Also a disk already full before the marker: no marker left behind.
#[test]
fn full_disk_during_generate() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let script = r#"
        set -u
        mount -t tmpfs -o size=1m tmpfs "$1" || exit 77
        echo keep > "$1/decoy"
        "$2" generate --dir "$1/set" --files 200 --lines 1000 --seed 1 2> "$3/err"
        echo "rc=$?"
        echo "err=$(cat "$3/err")"
        echo "set=$(ls -A "$1/set" | grep -v '^file_' | tr '\n' ' ')"
        echo "decoy=$(cat "$1/decoy")"
        rm -rf "$1/set"
        dd if=/dev/zero of="$1/filler" bs=4096 count=1000 2>/dev/null
        "$2" generate --dir "$1/set2" --files 5 --lines 1000 --seed 1 2> "$3/err2"
        echo "rc2=$?"
        echo "err2=$(cat "$3/err2")"
        echo "set2=$(ls -A "$1/set2" | tr '\n' ' ')"
    "#;
    let mut c = std::process::Command::new("unshare");
    c.args(["-r", "-m", "sh", "-c", script, "sh"])
        .arg(&mnt)
        .arg(env!("CARGO_BIN_EXE_hunt"))
        .arg(tmp.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let run = adversary::run(c);
    if run.code != Some(0) {
        eprintln!("skipped: cannot mount a tmpfs in a private namespace here: {run:?}");
        return;
    }
    let out = &run.stdout;
    let line = |key: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in {out:?}"))
            .trim()
            .to_string()
    };
    assert_eq!(line("rc"), "2", "{out}");
    let err = line("err");
    assert!(
        err.contains("the disk holding") && err.contains("/set is full"),
        "{err}"
    );
    assert!(err.contains("hunt generate --force --dir"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        line("set"),
        ".hunt-partial.json",
        "marker kept, no manifest: {out}"
    );
    assert_eq!(line("decoy"), "keep");
    assert_eq!(line("rc2"), "2", "{out}");
    assert!(line("err2").contains("is full"), "{out}");
    assert_eq!(
        line("set2"),
        "",
        "nothing left in a folder hunt could not start: {out}"
    );
}

/// Ctrl-C (SIGINT to the race process alone) during `hunt race`, once a round has been
/// exported and while a slowed `hunt search` child runs: exit 130 promptly with
/// "interrupted", the child and its workers killed and reaped (no process with this
/// test's folder in its command line is left), and the JSON export of the rounds done
/// still parses.
#[test]
fn sigint_during_race() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 12, 3, 5);
    let json = tmp.path().join("race.json");
    let strategies = compiled_names(&[
        StrategyKind::Sequential,
        StrategyKind::Threads,
        StrategyKind::Fork,
        StrategyKind::Spawn,
    ]);
    let mut c = hunt(&[
        "race",
        "--dir",
        dir.to_str().unwrap(),
        "--strategies",
        &strategies.join(","),
        "--workers",
        "2",
        "--runs",
        "100",
        "--warmup",
        "0",
        "--seed",
        "1",
        "--export-json",
        json.to_str().unwrap(),
    ]);
    // Passed on to every `hunt search` child: 12 files of 60 ms each per run.
    c.env(SLOW_FILE_ENV, "60");
    let started = start(c);
    let pid = started.pid();
    let rounds_done = || -> Option<u64> {
        let text = std::fs::read_to_string(&json).ok()?;
        let j: serde_json::Value = serde_json::from_str(&text).ok()?;
        j["rounds_done"].as_u64()
    };
    assert!(
        wait_until(Duration::from_secs(60), || rounds_done().unwrap_or(0) >= 1),
        "no round of the race was exported"
    );
    assert!(
        wait_until(Duration::from_secs(10), || !children(pid).is_empty()),
        "the race started no child"
    );
    let kids = descendants(pid);
    kill(pid, libc::SIGINT);
    let run = started.wait(PROMPT);
    assert_eq!(run.code, Some(130), "{run:?}");
    assert!(run.stderr.ends_with("hunt: interrupted\n"), "{run:?}");
    for k in kids {
        assert!(
            wait_until(PROMPT, || !alive(k)),
            "process {k} outlived the interrupted race"
        );
    }
    assert!(
        wait_until(PROMPT, || processes_mentioning(
            tmp.path().to_str().unwrap()
        )
        .is_empty()),
        "a hunt process still names {:?}",
        tmp.path()
    );
    assert!(rounds_done().unwrap() >= 1, "the export no longer parses");
}
