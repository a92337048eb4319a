//! Hostile folders: what users and attackers put where hunt expects plain files, for
//! every strategy in the registry and both readers. Every run has a deadline, so a hunt
//! that blocks on a pipe or loops is a failure, not a stuck test. The decisions these
//! tests pin down are written up in docs/RELIABILITY.md.
mod adversary;
use adversary::*;
use hunt::scan::Reader;
use hunt::strategy::{runnable_pairs, StrategyKind};
use std::path::Path;
use std::time::Duration;

/// Searches `dir` with `s` and `r` on three workers, plus `extra`; asserts no panic.
fn search_with(dir: &Path, s: StrategyKind, r: Reader, extra: &[&str]) -> Run {
    let mut args: Vec<&str> = strategy_flags(s, r, "3").to_vec();
    args.extend_from_slice(extra);
    let run = search(dir, &args);
    run.no_panic();
    run
}

fn found_name(r: &Run) -> String {
    let j = r.json();
    let p = j["found"]
        .as_str()
        .unwrap_or_else(|| panic!("nothing found: {r:?}"));
    Path::new(p)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A listed folder full of things that are not regular files. Decision (as ripgrep
/// without -L): only regular files are searched; symlinks are not followed, pipes,
/// sockets and devices are skipped, all silently. The treasure sits only behind the
/// symlinks and in the pipe, so nothing is found (exit 1) and nothing blocks.
#[test]
fn listing_searches_regular_files_only() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "Treasure\n").unwrap();
    let dir = tmp.path().join("d");
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::write(dir.join("empty.txt"), "").unwrap();
    std::fs::write(dir.join("one.txt"), "T").unwrap();
    std::fs::write(dir.join("sub/plain.txt"), "Not a treasure\n").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), dir.join("to_file")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("to_folder")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink("self_loop", dir.join("self_loop")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/x", dir.join("dangling")).unwrap();
    mkfifo(&dir.join("idle_pipe"));
    let _writer = fifo_with_writer(&dir.join("busy_pipe"), b"Treasure\n");
    let _sock = socket(&dir.join("sock"));
    let device = char_device(&dir.join("null_device"));
    if !device {
        eprintln!("note: mknod not permitted here; the device case is not covered");
    }
    for (s, r) in runnable_pairs() {
        let run = search_with(&dir, s, r, &[]);
        assert_eq!(run.code, Some(1), "{s}/{r:?}: {run:?}");
        let j = run.json();
        assert_eq!(
            j["files_total"], 3,
            "{s}/{r:?}: only the three regular files: {run:?}"
        );
        assert_eq!(j["errors"], 0, "{s}/{r:?}");
        assert_eq!(run.stderr, "", "{s}/{r:?}: skipped entries are silent");
    }
    // A treasure in a regular file deep down is found.
    std::fs::write(dir.join("sub/deeper/t.txt"), "xx Treasure").unwrap();
    // The folder named on the command line may itself be a symlink: the user chose it.
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    for (s, r) in runnable_pairs() {
        for d in [&dir, &link] {
            let run = search_with(d, s, r, &[]);
            assert_eq!(run.code, Some(0), "{s}/{r:?}: {run:?}");
            assert_eq!(found_name(&run), "t.txt");
        }
    }
}

/// Replaces a data file of a generated set with something else.
enum Hostile {
    Folder,
    SymlinkOut,
    SymlinkLoop,
    Fifo,
    FifoWithWriter,
    Socket,
    Device,
}

const HOSTILE: [Hostile; 7] = [
    Hostile::Folder,
    Hostile::SymlinkOut,
    Hostile::SymlinkLoop,
    Hostile::Fifo,
    Hostile::FifoWithWriter,
    Hostile::Socket,
    Hostile::Device,
];

/// Keeps whatever must stay alive (a pipe writer, a socket) for the test's length.
enum Keep {
    Nothing,
    File(#[allow(dead_code)] std::fs::File),
    Sock(#[allow(dead_code)] std::os::unix::net::UnixListener),
}

impl Keep {
    /// For a pipe with a writer: its bytes are all still in the pipe, so hunt read
    /// none of them.
    fn assert_pipe_untouched(&mut self) {
        if let Keep::File(f) = self {
            use std::io::Read;
            let mut buf = [0u8; 64];
            let n = f.read(&mut buf).unwrap();
            assert_eq!(
                &buf[..n],
                b"Treasure\n",
                "hunt consumed bytes from the pipe"
            );
        }
    }
}

fn plant(kind: &Hostile, path: &Path, outside: &Path) -> Option<(Keep, &'static str)> {
    std::fs::remove_file(path).unwrap();
    Some(match kind {
        Hostile::Folder => {
            std::fs::create_dir(path).unwrap();
            (Keep::Nothing, "Is a directory")
        }
        Hostile::SymlinkOut => {
            std::os::unix::fs::symlink(outside, path).unwrap();
            (Keep::Nothing, "a symlink, not followed")
        }
        Hostile::SymlinkLoop => {
            std::os::unix::fs::symlink(path.file_name().unwrap(), path).unwrap();
            (Keep::Nothing, "a symlink, not followed")
        }
        Hostile::Fifo => {
            mkfifo(path);
            (Keep::Nothing, "not a regular file")
        }
        Hostile::FifoWithWriter => (
            Keep::File(fifo_with_writer(path, b"Treasure\n")),
            "not a regular file",
        ),
        Hostile::Socket => (Keep::Sock(socket(path)), "not a regular file"),
        Hostile::Device => {
            if !char_device(path) {
                eprintln!("note: mknod not permitted here; the device case is skipped");
                return None;
            }
            (Keep::Nothing, "not a regular file")
        }
    })
}

/// In a data set with a manifest, an entry that is not a regular file is an error on
/// that file, named with the reason; the hunt goes on. When the treasure is elsewhere it
/// is found (exit 0, with a warning); when the hostile entry took the treasure file's
/// place, the answer is unknown (exit 2), never "not found" — even when a pipe with a
/// writer holds the needle (it is not read at all, so no bytes are stolen from it).
#[test]
fn manifest_data_file_replaced_by_something_else() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside.txt");
    std::fs::write(&outside, "Treasure\n").unwrap();
    for kind in HOSTILE {
        for victim in [2u64, 6] {
            let dir = tmp
                .path()
                .join(format!("set_{}_{victim}", kind_name(&kind)));
            generate(&dir, 8, 5, 6);
            let path = dir.join(format!("file_{victim}.txt"));
            let Some((_keep, reason)) = plant(&kind, &path, &outside) else {
                continue;
            };
            for (s, r) in runnable_pairs() {
                let run = search_with(&dir, s, r, &[]);
                let what = format!("{} as file_{victim}: {s}/{r:?}", kind_name(&kind));
                if victim == 6 {
                    assert_eq!(run.code, Some(2), "{what}: {run:?}");
                    assert!(run.json()["found"].is_null(), "{what}");
                    assert!(run.stderr.contains("may be there"), "{what}: {run:?}");
                } else {
                    assert_eq!(run.code, Some(0), "{what}: {run:?}");
                    assert_eq!(found_name(&run), "file_6.txt", "{what}");
                }
                // Fork workers may stop before reaching the planted entry once the
                // treasure is found; when the hunt did reach it, it names it.
                if run.json()["errors"] != 0 || victim == 6 {
                    assert!(
                        run.stderr.contains(&format!("file_{victim}.txt: {reason}")),
                        "{what}: {run:?}"
                    );
                }
            }
            if let Hostile::FifoWithWriter = kind {
                let mut keep = _keep;
                keep.assert_pipe_untouched();
            }
        }
    }
}

/// A data set with one file gone and another replaced by a named pipe: every strategy
/// and reader names both (exit 2 when the needle is elsewhere absent, the answer being
/// unknown), reads the other ten, and still finds the treasure.
#[test]
fn every_strategy_reports_a_missing_file_and_a_pipe_in_a_files_place() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 12, 5, 9);
    std::fs::remove_file(dir.join("file_3.txt")).unwrap();
    std::fs::remove_file(dir.join("file_4.txt")).unwrap();
    mkfifo(&dir.join("file_4.txt"));
    for (s, reader) in runnable_pairs() {
        let what = format!("{s} {}", reader.name());
        let r = search_with(&dir, s, reader, &["--needle", "nope"]);
        assert_eq!(r.code, Some(2), "{what}: the answer is unknown: {r:?}");
        let j = r.json();
        assert_eq!(j["errors"], 2, "{what}: {r:?}");
        let msgs = j["error_messages"].to_string();
        assert!(msgs.contains("file_3.txt: No such file"), "{what}: {msgs}");
        assert!(
            msgs.contains("file_4.txt: not a regular file"),
            "{what}: {msgs}"
        );
        assert_eq!(j["files_scanned"], 10, "{what}");

        let r = search_with(&dir, s, reader, &[]);
        assert_eq!(
            r.code,
            Some(0),
            "{what}: found despite the bad files: {r:?}"
        );
        assert_eq!(r.json()["index"], 9, "{what}");
    }
}

fn kind_name(k: &Hostile) -> &'static str {
    match k {
        Hostile::Folder => "folder",
        Hostile::SymlinkOut => "symlink_out",
        Hostile::SymlinkLoop => "symlink_loop",
        Hostile::Fifo => "fifo",
        Hostile::FifoWithWriter => "fifo_writer",
        Hostile::Socket => "socket",
        Hostile::Device => "device",
    }
}

/// Empty and one-byte files are searched like any other; a last line without a newline
/// still counts.
#[test]
fn empty_tiny_and_unterminated_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a_empty"), "").unwrap();
    std::fs::write(dir.join("b_one"), "T").unwrap();
    std::fs::write(
        dir.join("c_last"),
        "Not a treasure\nNot a treasure\nTreasure",
    )
    .unwrap();
    for (s, r) in runnable_pairs() {
        let run = search_with(&dir, s, r, &[]);
        assert_eq!(run.code, Some(0), "{s}/{r:?}: {run:?}");
        assert_eq!(found_name(&run), "c_last");
        // A one-byte needle matches the one-byte file only.
        let run = search_with(&dir, s, r, &["--needle", "T"]);
        assert_eq!(run.code, Some(0), "{s}/{r:?}: {run:?}");
        assert!(["b_one", "c_last"].contains(&found_name(&run).as_str()));
    }
    std::fs::write(dir.join("c_last"), "Not a treasure\nTreasur").unwrap();
    for (s, r) in runnable_pairs() {
        let run = search_with(&dir, s, r, &[]);
        assert_eq!(run.code, Some(1), "{s}/{r:?}: {run:?}");
        assert_eq!(run.json()["files_scanned"], 3, "{s}/{r:?}: every file read");
    }
}

/// A needle longer than every file is simply not found (exit 1), with every file read.
#[test]
fn needle_longer_than_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..5 {
        std::fs::write(dir.join(format!("f{i}")), "Treasure ".repeat(i)).unwrap();
    }
    let long = "Treasure ".repeat(40);
    for (s, r) in runnable_pairs() {
        let run = search_with(&dir, s, r, &["--needle", &long]);
        assert_eq!(run.code, Some(1), "{s}/{r:?}: {run:?}");
        assert_eq!(run.json()["files_scanned"], 5);
    }
}

/// One file of several MB with the needle at every offset around the read reader's
/// 256 KiB chunk and the mmap reader's 1 MiB window: straddling, ending exactly at, and
/// starting exactly at the boundary. Also a needle split by other bytes is not a match.
#[test]
fn needle_across_chunk_boundaries() {
    const CHUNK: usize = hunt::scan::CHUNK;
    const WINDOW: usize = 1 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    let needle = b"Treasure";
    let size = 3 * WINDOW + 12345;
    let base = vec![b'a'; size];
    let mut offsets: Vec<usize> = Vec::new();
    for edge in [CHUNK, 2 * CHUNK, WINDOW, 2 * WINDOW] {
        offsets.extend(edge - needle.len()..=edge);
    }
    offsets.push(size - needle.len()); // the very end
    for off in offsets {
        let mut data = base.clone();
        data[off..off + needle.len()].copy_from_slice(needle);
        std::fs::write(dir.join("big.bin"), &data).unwrap();
        for (s, r) in runnable_pairs() {
            let run = search_with(&dir, s, r, &[]);
            assert_eq!(run.code, Some(0), "offset {off} {s}/{r:?}: {run:?}");
        }
    }
    // "Treas" before the boundary, "ure" after one byte too many: no match.
    let mut data = base.clone();
    data[CHUNK - 5..CHUNK].copy_from_slice(b"Treas");
    data[CHUNK + 1..CHUNK + 4].copy_from_slice(b"ure");
    std::fs::write(dir.join("big.bin"), &data).unwrap();
    for (s, r) in runnable_pairs() {
        let run = search_with(&dir, s, r, &[]);
        assert_eq!(run.code, Some(1), "{s}/{r:?}: {run:?}");
        assert_eq!(
            run.json()["bytes_scanned"],
            size as u64,
            "{s}/{r:?}: read to the end"
        );
    }
}

/// A needle larger than the read buffer (the buffer grows to twice the needle), through
/// the library since argv cannot carry 300 kB.
#[test]
fn needle_larger_than_the_read_buffer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    let needle: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut data = vec![b'z'; 100_000];
    data.extend_from_slice(&needle);
    data.extend(vec![b'z'; 700_000]);
    std::fs::write(dir.join("a"), &data).unwrap();
    std::fs::write(dir.join("b"), &needle[..299_999]).unwrap();
    let loaded = hunt::fileset::load(&dir, false).unwrap();
    for (s, r) in runnable_pairs() {
        let o = hunt::search::hunt_once(
            &loaded.files,
            &needle,
            s,
            std::num::NonZeroUsize::new(2).unwrap(),
            r,
            0,
        )
        .unwrap();
        assert_eq!(o.found().map(|f| f.index), Some(0), "{s}/{r:?}");
    }
}

/// Needles with NUL and non-UTF-8 bytes: `--needle-hex`, and a raw non-UTF-8 `--needle`.
/// Bad hex is one clear line and exit 2.
#[test]
fn binary_needles() {
    use std::os::unix::ffi::OsStringExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a"), b"plain text\n").unwrap();
    std::fs::write(dir.join("b"), b"head\x00\xff\xfe tail").unwrap();
    for (s, r) in runnable_pairs() {
        let run = search_with(&dir, s, r, &["--needle-hex", "00FFfe"]);
        assert_eq!(run.code, Some(0), "{s}/{r:?}: {run:?}");
        assert_eq!(found_name(&run), "b");
        let run = search_with(&dir, s, r, &["--needle-hex", "00fffd"]);
        assert_eq!(run.code, Some(1), "{s}/{r:?}: {run:?}");
        // The JSON report stays valid with a non-UTF-8 needle (shown lossily).
        assert!(run.json()["needle"].as_str().unwrap().contains('\u{fffd}'));
    }
    // A raw non-UTF-8 --needle works too.
    let mut c = hunt(&[
        "search",
        "--json",
        "--dir",
        dir.to_str().unwrap(),
        "--needle",
    ]);
    c.arg(std::ffi::OsString::from_vec(b"\xff\xfe".to_vec()));
    let run = run(c);
    assert_eq!(run.code, Some(0), "{run:?}");
    for (bad, says) in [
        ("zz", "not a hex digit pair"),
        ("abc", "odd number of digits"),
        ("", "--needle-hex is empty"),
        ("0g", "not a hex digit pair"),
    ] {
        let run = search(&dir, &["--needle-hex", bad]);
        assert_eq!(run.code, Some(2), "{bad:?}: {run:?}");
        assert!(run.stderr.contains(says), "{bad:?}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{bad:?}: {run:?}");
        assert_eq!(run.stdout, "");
    }
    let run = search(&dir, &["--needle-hex", "00", "--needle", "x"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("cannot be used with"), "{run:?}");
}

/// File names that are not UTF-8: listed, searched, and printed lossily; `--json` stays
/// valid JSON.
#[test]
fn non_utf8_file_names() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9_\xff.txt");
    std::fs::write(dir.join("plain.txt"), "nothing").unwrap();
    std::fs::write(dir.join(bad), "a Treasure here").unwrap();
    for (s, r) in runnable_pairs() {
        let run = search_with(&dir, s, r, &[]);
        assert_eq!(run.code, Some(0), "{s}/{r:?}: {run:?}");
        assert!(found_name(&run).contains('\u{fffd}'), "{s}/{r:?}: {run:?}");
        let mut args = vec!["search", "--dir", dir.to_str().unwrap()];
        args.extend(strategy_flags(s, r, "3"));
        let human = adversary::run(hunt(&args));
        assert_eq!(human.code, Some(0), "{human:?}");
        assert!(
            human.stdout.starts_with("found ") && human.stdout.contains("caf"),
            "{human:?}"
        );
    }
}

/// Two or more treasures: exit 0 and one of them is reported; which one depends on the
/// strategy and the timing (the first any worker finds), as with a parallel grep -l
/// that stops at the first match.
#[test]
fn several_treasures_any_one_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 30, 4, 21);
    std::fs::write(dir.join("file_3.txt"), "Not a treasure\nTreasure\n").unwrap();
    std::fs::write(dir.join("file_12.txt"), "Treasure\n").unwrap();
    for (s, r) in runnable_pairs() {
        let run = search_with(&dir, s, r, &[]);
        assert_eq!(run.code, Some(0), "{s}/{r:?}: {run:?}");
        let name = found_name(&run);
        assert!(
            ["file_3.txt", "file_12.txt", "file_21.txt"].contains(&name.as_str()),
            "{s}/{r:?}: {name}"
        );
        // The manifest names file_21; a find elsewhere says the set was changed.
        assert_eq!(
            run.stderr
                .contains("manifest says the treasure is in file_21.txt"),
            name != "file_21.txt",
            "{s}/{r:?}: {run:?}"
        );
    }
}

/// Search is the truth, not the manifest: a treasure file emptied of its needle gives
/// "not found" (exit 1, every file was read) with a warning; a treasure moved gives the
/// new place (exit 0) with a warning. An explicit --needle does not compare with the
/// manifest at all.
#[test]
fn manifest_that_no_longer_matches_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 10, 4, 5);
    std::fs::write(dir.join("file_5.txt"), "Not a treasure\n".repeat(4)).unwrap();
    for (s, r) in runnable_pairs() {
        let run = search_with(&dir, s, r, &[]);
        assert_eq!(run.code, Some(1), "{s}/{r:?}: {run:?}");
        assert!(
            run.stderr
                .contains("manifest says the treasure is in file_5.txt, but no file holds"),
            "{run:?}"
        );
        assert_eq!(run.json()["manifest_disagrees"], true);
        let run = search_with(&dir, s, r, &["--needle", "Gold"]);
        assert_eq!(run.code, Some(1), "{s}/{r:?}: {run:?}");
        assert_eq!(run.stderr, "", "{s}/{r:?}");
    }
    std::fs::write(dir.join("file_8.txt"), "Treasure\n").unwrap();
    for (s, r) in runnable_pairs() {
        let run = search_with(&dir, s, r, &[]);
        assert_eq!(run.code, Some(0), "{s}/{r:?}: {run:?}");
        assert_eq!(found_name(&run), "file_8.txt");
        assert!(run.stderr.contains("but it was found in"), "{run:?}");
    }
}

/// A manifest that lies or is not a file: refused up front with one line and exit 2,
/// never a hang (a FIFO named manifest.json) or an endless hunt (a huge file count).
#[test]
fn hostile_manifests_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 6, 2, 1);
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["files"] = 1_000_000_000_000u64.into();
    std::fs::write(dir.join("manifest.json"), v.to_string()).unwrap();
    let run = search(&dir, &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("file_999999999999.txt is missing"),
        "{run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1);

    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    mkfifo(&dir.join("manifest.json"));
    let run = search(&dir, &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("is not a regular file"), "{run:?}");

    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    let elsewhere = tmp.path().join("m.json");
    std::fs::write(&elsewhere, &text).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("manifest.json")).unwrap();
    let run = search(&dir, &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("is a symlink"), "{run:?}");

    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        b"{\"format_version\": 1, \"x\": \"\xff\"}",
    )
    .unwrap();
    let run = search(&dir, &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("not UTF-8"), "{run:?}");
}

/// Starts a one-worker hunt that pauses after opening each file, waits until it holds
/// `first` open, runs `meddle`, and returns how the hunt ended.
fn meddle_during_hunt(
    dir: &Path,
    s: StrategyKind,
    r: Reader,
    first: &Path,
    meddle: impl FnOnce(),
) -> Run {
    let mut extra = strategy_flags(s, r, "1").to_vec();
    // `uring` keeps --queue-depth files in flight, so by default its one worker has
    // opened every file of this small set before the first pause; with one in flight it
    // visits them in order, as the other strategies' single worker does.
    extra.extend(["--queue-depth", "1"]);
    let mut c = hunt(&search_json_args(dir, &extra));
    c.env(hunt::hooks::SLOW_FILE_ENV, "300");
    let started = start(c);
    let pid = started.pid();
    assert!(
        wait_until(Duration::from_secs(10), || tree_uses(pid, first)),
        "{s}/{r:?}: the hunt never opened {first:?}"
    );
    meddle();
    let run = started.wait(DEADLINE);
    run.no_panic();
    run
}

/// Files changed during the hunt are searched as they are when read, like grep. One
/// worker visits the files in order, pausing 300 ms on each, so the test meddles with
/// a file before the hunt reaches it:
/// - removed: an error naming it, and exit 2 when nothing else holds the needle;
/// - truncated (read reader): read as empty, so "not found" (exit 1) is the truth then;
/// - the needle appended to another file: found there.
#[test]
fn files_changed_during_the_hunt() {
    let tmp = tempfile::tempdir().unwrap();
    for (s, r) in runnable_pairs() {
        let dir = tmp.path().join(format!("{s}_{}", r.name()));
        std::fs::create_dir(&dir).unwrap();
        for name in ["a", "b", "c"] {
            std::fs::write(dir.join(name), "Not a treasure\n").unwrap();
        }
        std::fs::write(dir.join("c"), "Treasure\n").unwrap();
        let run = meddle_during_hunt(&dir, s, r, &dir.join("a"), || {
            std::fs::remove_file(dir.join("c")).unwrap()
        });
        assert_eq!(run.code, Some(2), "removed: {s}/{r:?}: {run:?}");
        assert!(
            run.stderr.contains("c: No such file or directory"),
            "{s}/{r:?}: {run:?}"
        );

        std::fs::write(dir.join("c"), "Treasure\n").unwrap();
        let run = meddle_during_hunt(&dir, s, r, &dir.join("a"), || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("c"))
                .unwrap()
                .set_len(0)
                .unwrap();
            use std::io::Write;
            let mut b = std::fs::OpenOptions::new()
                .append(true)
                .open(dir.join("b"))
                .unwrap();
            b.write_all(b"Treasure\n").unwrap();
        });
        assert_eq!(run.code, Some(0), "changed: {s}/{r:?}: {run:?}");
        assert_eq!(found_name(&run), "b", "{s}/{r:?}");

        std::fs::write(dir.join("b"), "Not a treasure\n").unwrap();
        std::fs::write(dir.join("c"), "Treasure\n").unwrap();
        let run = meddle_during_hunt(&dir, s, r, &dir.join("a"), || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("c"))
                .unwrap()
                .set_len(0)
                .unwrap();
        });
        assert_eq!(run.code, Some(1), "truncated: {s}/{r:?}: {run:?}");
    }
}

/// `generate --force` over a folder with adversarial decoys: refused with exit 2 and one
/// line, and every entry (and what symlinks point to) is left exactly as it was.
#[test]
fn generate_force_refuses_adversarial_decoys() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("precious.txt");
    let manifest_copy = tmp.path().join("manifest_copy.json");
    type Plant = fn(&Path, &Path, &Path);
    let cases: [(&str, Plant); 7] = [
        ("file_3.txt", |d, t, _| {
            std::fs::remove_file(d.join("file_3.txt")).unwrap();
            std::os::unix::fs::symlink(t, d.join("file_3.txt")).unwrap();
        }),
        ("file_2.txt", |d, _, _| {
            std::fs::remove_file(d.join("file_2.txt")).unwrap();
            std::fs::create_dir(d.join("file_2.txt")).unwrap();
            std::fs::write(d.join("file_2.txt/inner"), "mine").unwrap();
        }),
        ("manifest.json", |d, _, m| {
            std::fs::rename(d.join("manifest.json"), m).unwrap();
            std::os::unix::fs::symlink(m, d.join("manifest.json")).unwrap();
        }),
        ("file_9.txt", |d, _, _| {
            std::fs::write(d.join("file_9.txt"), "not hunt's").unwrap();
        }),
        ("file_007.txt", |d, _, _| {
            std::fs::write(d.join("file_007.txt"), "not hunt's").unwrap();
        }),
        ("file_4.txt", |d, _, _| {
            std::fs::remove_file(d.join("file_4.txt")).unwrap();
            mkfifo(&d.join("file_4.txt"));
        }),
        (".hunt-partial.json", |d, _, _| {
            mkfifo(&d.join(".hunt-partial.json"))
        }),
    ];
    for (i, (decoy, plant)) in cases.iter().enumerate() {
        std::fs::write(&target, "precious").unwrap();
        let dir = tmp.path().join(format!("set{i}"));
        generate(&dir, 5, 3, 1);
        plant(&dir, &target, &manifest_copy);
        let before = snapshot(tmp.path());
        let run = adversary::run(hunt(&[
            "generate",
            "--force",
            "--dir",
            dir.to_str().unwrap(),
            "--files",
            "5",
            "--lines",
            "3",
        ]));
        run.no_panic();
        assert_eq!(run.code, Some(2), "{decoy}: {run:?}");
        assert!(run.stderr.contains(decoy), "{decoy}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{decoy}: {run:?}");
        assert_eq!(
            snapshot(tmp.path()),
            before,
            "{decoy}: something was touched"
        );
    }
}

/// A data file hard-linked to a foreign file: `--force` replaces the name and leaves the
/// foreign file's contents alone (generate unlinks, it never truncates in place).
#[test]
fn generate_force_never_writes_through_a_hard_link() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 5, 3, 1);
    let precious = tmp.path().join("precious.txt");
    std::fs::write(&precious, "precious").unwrap();
    std::fs::remove_file(dir.join("file_2.txt")).unwrap();
    std::fs::hard_link(&precious, dir.join("file_2.txt")).unwrap();
    let run = adversary::run(hunt(&[
        "generate",
        "--force",
        "--dir",
        dir.to_str().unwrap(),
        "--files",
        "5",
        "--lines",
        "3",
        "--treasure-at",
        "2",
    ]));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "precious");
    assert!(std::fs::read_to_string(dir.join("file_2.txt"))
        .unwrap()
        .contains("Treasure"));
}

/// Every `--ring` variant of `uring` (each io_uring feature on its own, and all at
/// once) handles every hostile entry as the default does: a pipe, a pipe with a writer,
/// a socket, a device and a folder in data files' places are named, the pipe's bytes
/// are left alone, and the answer is unknown because the treasure's file is the pipe.
/// In a listed folder, an empty file, a file bigger than the read buffer with the
/// treasure at its end, and a small one are all read right.
#[test]
fn every_uring_feature_refuses_hostile_entries_and_reads_big_files() {
    if !StrategyKind::Uring.compiled_in() {
        return;
    }
    let variants = [
        "plain",
        "statx",
        "coop-taskrun",
        "fixed-files",
        "fixed-files,link",
        "fixed-buffers",
        "fixed-files,link,fixed-buffers,coop-taskrun",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside.txt");
    std::fs::write(&outside, "Treasure\n").unwrap();
    let set = tmp.path().join("set");
    generate(&set, 10, 5, 6);
    let kinds = [
        (1, Hostile::Folder),
        (2, Hostile::Fifo),
        (3, Hostile::Socket),
        (4, Hostile::Device),
        (6, Hostile::FifoWithWriter),
    ];
    let mut keep = Vec::new();
    let mut reasons = Vec::new();
    for (i, kind) in kinds {
        let path = set.join(format!("file_{i}.txt"));
        if let Some((k, reason)) = plant(&kind, &path, &outside) {
            keep.push(k);
            reasons.push(format!("file_{i}.txt: {reason}"));
        }
    }
    let listed = tmp.path().join("listed");
    std::fs::create_dir(&listed).unwrap();
    std::fs::write(listed.join("a_empty"), "").unwrap();
    let mut big = "Not a treasure\n".repeat(40_000); // 600 kB, over the 256 KiB buffer
    big.push_str("Treasure\n");
    std::fs::write(listed.join("b_big"), &big).unwrap();
    std::fs::write(listed.join("c_small"), "Not a treasure\n").unwrap();
    for ring in variants {
        for workers in ["1", "3"] {
            let args = ["--strategy", "uring", "--workers", workers, "--ring", ring];
            let what = format!("--ring {ring} x{workers}");
            let run = search(&set, &args);
            run.no_panic();
            assert_eq!(run.code, Some(2), "{what}: {run:?}");
            assert!(run.json()["found"].is_null(), "{what}");
            for reason in &reasons {
                assert!(
                    run.stderr.contains(reason.as_str()),
                    "{what}: {reason}: {run:?}"
                );
            }
            assert_eq!(
                run.json()["files_scanned"],
                10 - reasons.len() as u64,
                "{what}"
            );

            let run = search(&listed, &args);
            assert_eq!(run.code, Some(0), "{what}: {run:?}");
            assert_eq!(found_name(&run), "b_big", "{what}");
            let run = search(&listed, &[&args[..], &["--needle", "nope"]].concat());
            assert_eq!(run.code, Some(1), "{what}: {run:?}");
            assert_eq!(run.json()["files_scanned"], 3, "{what}");
            assert_eq!(run.json()["bytes_scanned"], big.len() as u64 + 15, "{what}");
        }
    }
    // No variant read any of the pipe's bytes.
    for k in &mut keep {
        k.assert_pipe_untouched();
    }
}
