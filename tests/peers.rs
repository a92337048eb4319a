//! The Python peers in `scripts/python/` must answer like hunt (same file, same search
//! order under `--rotate`, same exit codes), or `compare-peers.sh` compares different
//! jobs. These tests run them against data sets of the real binary; they are skipped,
//! with a note, where `python3` is missing.
mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const HUNTS: [&str; 3] = ["sequential.py", "threads.py", "multiprocessing_hunt.py"];

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/python")
        .join(name)
}

fn python() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("python3 not found: skipping the Python peer tests");
    }
    ok
}

fn py(name: &str, args: &[&str]) -> Run {
    Command::new("python3")
        .arg(script(name))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("python3 runs")
        .into()
}

/// The Python hunts' flags: the parallel ones take workers too.
fn hunt_args<'a>(name: &str, dir: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![dir];
    if name != "sequential.py" {
        args.extend(["--workers", "3"]);
    }
    args.extend_from_slice(extra);
    args
}

#[test]
fn python_hunts_find_what_hunt_finds() {
    if !python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 40, 30, Some(0));
    let d = dir.to_str().unwrap();
    let expected = format!("found {} (index 0)\n", dir.join("file_0.txt").display());
    for name in HUNTS {
        // The treasure in file 0, at the start, in the middle and at the end of the order:
        // the blog's flag read index 0 as "not found".
        for rotate in ["0", "20", "39", "1"] {
            let r = py(name, &hunt_args(name, d, &["--rotate", rotate]));
            assert_eq!(r.code, Some(0), "{name} --rotate {rotate}: {r:?}");
            assert_eq!(r.stdout, expected, "{name} --rotate {rotate}");
        }
        let r = py(name, &hunt_args(name, d, &["--needle", "Doubloon"]));
        assert_eq!(r.code, Some(1), "{name}: {r:?}");
        assert!(r.stdout.starts_with("not found"), "{name}: {r:?}");
    }
}

#[test]
fn python_hunts_follow_the_rotated_order_like_hunt() {
    if !python() {
        return;
    }
    // Two files hold the needle; which one is found first depends on the search order,
    // so both implementations must agree on it for every rotation.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 10, 5, Some(7));
    std::fs::write(dir.join("file_2.txt"), b"Not a treasure\nTreasure\n").unwrap();
    let d = dir.to_str().unwrap();
    for rotate in 0..10u64 {
        let rot = rotate.to_string();
        let want = search_json(&dir, &["-s", "sequential", "--rotate", &rot]).json()["index"]
            .as_u64()
            .unwrap();
        let r = py("sequential.py", &[d, "--rotate", &rot]);
        assert_eq!(r.code, Some(0), "{r:?}");
        assert!(
            r.stdout.ends_with(&format!("(index {want})\n")),
            "rotate {rotate}: hunt says {want}, python {:?}",
            r.stdout
        );
    }
}

#[test]
fn python_hunts_list_a_folder_without_manifest_like_hunt() {
    if !python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plain");
    std::fs::create_dir_all(dir.join("b/c")).unwrap();
    std::fs::write(dir.join("a.txt"), b"nothing here").unwrap();
    // The needle is past the first line: the blog checked line 0 only.
    std::fs::write(dir.join("b/c/deep.txt"), b"one\ntwo\nsome Treasure here\n").unwrap();
    // One treasure only: with two, a parallel hunt may rightly report either.
    std::fs::write(dir.join("b/z.txt"), b"Treasur").unwrap();
    let d = dir.to_str().unwrap();
    let want = search_json(&dir, &["-s", "sequential"]).json()["found"]
        .as_str()
        .unwrap()
        .to_string();
    for name in HUNTS {
        let r = py(name, &hunt_args(name, d, &[]));
        assert_eq!(r.code, Some(0), "{name}: {r:?}");
        assert!(
            r.stdout.starts_with(&format!("found {want} ")),
            "{name}: {r:?}"
        );
    }
}

#[test]
fn python_hunts_refuse_bad_input_with_exit_2() {
    if !python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let m = missing.to_str().unwrap();
    for name in HUNTS {
        let r = py(name, &[m]);
        assert_eq!(r.code, Some(2), "{name}: {r:?}");
        assert!(r.stderr.contains("is not a folder"), "{name}: {r:?}");
    }
    let r = py("threads.py", &[m, "--workers", "0"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("--workers must be between 1 and 1024"),
        "{r:?}"
    );
}

#[test]
fn python_generator_writes_hunts_data_set_byte_for_byte() {
    if !python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("hunt");
    generate(&ours, 25, 12, None);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ours.join("manifest.json")).unwrap())
            .unwrap();
    let index = manifest["treasure_index"].to_string();
    let line = manifest["treasure_line"].to_string();
    let theirs = tmp.path().join("python");
    let r = py(
        "generate.py",
        &[
            theirs.to_str().unwrap(),
            "--files",
            "25",
            "--lines",
            "12",
            "--treasure-at",
            &index,
            "--treasure-line",
            &line,
        ],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    for i in 0..25 {
        let name = format!("file_{i}.txt");
        assert_eq!(
            std::fs::read(ours.join(&name)).unwrap(),
            std::fs::read(theirs.join(&name)).unwrap(),
            "{name}"
        );
    }
    // hunt reads its manifest, and agrees on where the treasure is.
    let j = search_json(&theirs, &[]).json();
    assert_eq!(j["index"].to_string(), index);
    assert_eq!(j["manifest_treasure_index"].to_string(), index);
    let theirs_manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(theirs.join("manifest.json")).unwrap())
            .unwrap();
    for field in ["files", "lines", "treasure_file", "needle", "total_bytes"] {
        assert_eq!(theirs_manifest[field], manifest[field], "{field}");
    }
    // It writes only into a new or empty folder.
    let again = py("generate.py", &[theirs.to_str().unwrap(), "--files", "3"]);
    assert_eq!(again.code, Some(2), "{again:?}");
    assert!(again.stderr.contains("is not empty"), "{again:?}");
}
