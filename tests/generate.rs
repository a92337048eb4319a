//! `hunt generate`: reproducible, exactly one treasure, an honest manifest, and never a
//! lost file: it writes only into new or empty folders or over its own earlier data set,
//! deletes only what that set's manifest names, and leaves a `.gitignore` alone.
mod common;
use common::*;
use std::path::Path;

const PLAIN: &str = "Not a treasure\n";

fn gen_ok(dir: &Path, extra: &[&str]) {
    let r = generate_with(dir, extra);
    assert_eq!(r.code, Some(0), "generate {extra:?}: {r:?}");
    r.no_panic();
}

/// Makes the folder `dir` holding only the marker an unfinished `generate` leaves,
/// `.hunt-partial.json`, in format `version`, for a set of `files` files.
fn write_partial_marker(dir: &Path, version: u32, files: u64) {
    std::fs::create_dir(dir).unwrap();
    let marker = format!(r#"{{"format_version":{version},"files":{files}}}"#);
    std::fs::write(dir.join(".hunt-partial.json"), marker).unwrap();
}

/// The names of everything below `dir`, sorted (see [`snapshot`]).
fn entry_names(dir: &Path) -> Vec<String> {
    snapshot(dir)
        .iter()
        .map(|e| e.path.display().to_string())
        .collect()
}

/// The data files of a set, by index, as the manifest names them.
fn data_files(dir: &Path) -> Vec<String> {
    let m = read_manifest(dir);
    let n = m["files"].as_u64().unwrap();
    (0..n).map(|i| format!("file_{i}.txt")).collect()
}

#[test]
fn same_flags_and_seed_give_the_same_bytes_and_other_seeds_do_not() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let flags = ["--files", "40", "--lines", "25", "--seed", "12345"];
    gen_ok(&a, &flags);
    gen_ok(&b, &flags);
    let (sa, sb) = (snapshot(&a), snapshot(&b));
    assert_eq!(sa.len(), 41, "40 files and the manifest");
    assert!(sa == sb, "same flags and seed gave different data sets");

    // Other seeds put the treasure somewhere else (at least one of several does).
    let places: std::collections::HashSet<(u64, u64)> = (0..6)
        .map(|k| {
            let d = c.join(k.to_string());
            gen_ok(
                &d,
                &[
                    "--files",
                    "40",
                    "--lines",
                    "25",
                    "--seed",
                    &(1000 + k).to_string(),
                ],
            );
            let m = read_manifest(&d);
            assert_ne!(snapshot(&d), sa);
            (
                m["treasure_index"].as_u64().unwrap(),
                m["treasure_line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(places.len() > 1, "six seeds, one place: {places:?}");

    // Without --seed, one is drawn and recorded: generating with it reproduces the set.
    let d = tmp.path().join("drawn");
    gen_ok(&d, &["--files", "12", "--lines", "4"]);
    let seed = read_manifest(&d)["seed"].as_u64().unwrap().to_string();
    let again = tmp.path().join("again");
    gen_ok(&again, &["--files", "12", "--lines", "4", "--seed", &seed]);
    assert!(
        snapshot(&d) == snapshot(&again),
        "the recorded seed does not reproduce the set"
    );
}

#[test]
fn the_manifest_tells_the_truth() {
    let tmp = tempfile::tempdir().unwrap();
    for (files, lines, seed) in [(1u64, 1u64, 5u64), (17, 9, 77), (50, 30, 2)] {
        let dir = tmp.path().join(format!("{files}x{lines}"));
        gen_ok(
            &dir,
            &[
                "--files",
                &files.to_string(),
                "--lines",
                &lines.to_string(),
                "--seed",
                &seed.to_string(),
            ],
        );
        let m = read_manifest(&dir);
        assert_eq!(m["format_version"], 1);
        assert_eq!(m["files"], files);
        assert_eq!(m["lines"], lines);
        assert_eq!(m["seed"], seed);
        assert_eq!(m["needle"], "Treasure");
        let t = m["treasure_index"].as_u64().unwrap();
        assert!(t < files);
        assert_eq!(m["treasure_file"], format!("file_{t}.txt"));
        let line = m["treasure_line"].as_u64().expect("a treasure line");
        assert!(line < lines);

        // The folder holds the manifest and exactly the files it names.
        let snap = snapshot(&dir);
        let mut names: Vec<String> = snap.iter().map(|e| e.path.display().to_string()).collect();
        names.sort();
        let mut want = data_files(&dir);
        want.push("manifest.json".into());
        want.sort();
        assert_eq!(names, want, "{files}x{lines}: stray or missing files");

        let mut total = 0u64;
        let mut holders = Vec::new();
        for e in &snap {
            let (path, bytes) = (&e.path, &e.content);
            if path.as_os_str() == "manifest.json" {
                continue;
            }
            total += bytes.len() as u64;
            let text = std::str::from_utf8(bytes).unwrap();
            let file_lines: Vec<&str> = text.split_inclusive('\n').collect();
            assert_eq!(file_lines.len() as u64, lines, "{}", path.display());
            if text.contains("Treasure") {
                holders.push(path.display().to_string());
                for (i, l) in file_lines.iter().enumerate() {
                    let want = if i as u64 == line {
                        "Treasure\n"
                    } else {
                        PLAIN
                    };
                    assert_eq!(*l, want, "{} line {i}", path.display());
                }
            } else {
                assert!(file_lines.iter().all(|l| *l == PLAIN), "{}", path.display());
            }
        }
        assert_eq!(
            holders,
            vec![format!("file_{t}.txt")],
            "exactly one file holds the treasure"
        );
        assert_eq!(
            m["total_bytes"], total,
            "total_bytes is not the sum of the file sizes"
        );
    }
}

#[test]
fn treasure_at_fixes_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    for at in [0u64, 6, 11] {
        let dir = tmp.path().join(at.to_string());
        gen_ok(
            &dir,
            &[
                "--files",
                "12",
                "--lines",
                "3",
                "--seed",
                "9",
                "--treasure-at",
                &at.to_string(),
            ],
        );
        let m = read_manifest(&dir);
        assert_eq!(m["treasure_index"], at);
        let text = std::fs::read_to_string(dir.join(format!("file_{at}.txt"))).unwrap();
        assert!(text.contains("Treasure\n"));
    }
}

#[test]
fn blog_preset_with_small_sizes_gives_a_whole_treasure_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("blog");
    gen_ok(
        &dir,
        &[
            "--preset", "blog", "--files", "3", "--lines", "5", "--seed", "4",
        ],
    );
    let m = read_manifest(&dir);
    assert_eq!(m["files"], 3);
    assert_eq!(m["lines"], 5);
    assert_eq!(m["preset"], "blog");
    assert!(
        m["treasure_line"].is_null(),
        "the whole file is the treasure: {m}"
    );
    let t = m["treasure_index"].as_u64().unwrap();
    let mut total = 0;
    for i in 0..3u64 {
        let text = std::fs::read_to_string(dir.join(format!("file_{i}.txt"))).unwrap();
        total += text.len() as u64;
        let want = if i == t {
            "Treasure\n".repeat(5)
        } else {
            PLAIN.repeat(5)
        };
        assert_eq!(text, want, "file_{i}.txt");
    }
    assert_eq!(m["total_bytes"], total);
}

#[test]
fn refuses_a_folder_with_a_foreign_file_even_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("thesis.tex"), "years of work").unwrap();
    for force in [false, true] {
        let mut flags = vec!["--files", "3", "--lines", "2"];
        if force {
            flags.push("--force");
        }
        let r = generate_with(&dir, &flags);
        assert_bad_input(&r, "thesis.tex");
        assert!(r.stderr.contains("--dir"), "{r:?}");
    }
    assert_eq!(
        snapshot(&dir),
        vec![Entry {
            path: "thesis.tex".into(),
            kind: "file".into(),
            content: b"years of work".to_vec()
        }]
    );
    // A foreign subfolder too.
    let dir = tmp.path().join("sub");
    std::fs::create_dir_all(dir.join("keep")).unwrap();
    let r = generate_with(&dir, &["--files", "3", "--force"]);
    assert_bad_input(&r, "keep");
    assert!(dir.join("keep").is_dir());
    assert!(!dir.join("file_0.txt").exists());
}

#[test]
fn an_earlier_set_needs_force_and_force_deletes_only_what_its_manifest_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    gen_ok(&dir, &["--files", "10", "--lines", "3", "--seed", "1"]);
    let before = snapshot(&dir);

    // Without --force: refused, message names --force, nothing touched.
    let r = generate_with(&dir, &["--files", "10", "--lines", "3", "--seed", "2"]);
    assert_bad_input(&r, "--force");
    assert!(r.stderr.contains("already holds a hunt data set"), "{r:?}");
    assert!(snapshot(&dir) == before);

    // Decoys: a file hunt did not write, and a data-file name past the old set's end.
    for decoy in ["notes.txt", "file_99.txt", "file_10.txt", "file_01.txt"] {
        std::fs::write(dir.join(decoy), "mine").unwrap();
        let r = generate_with(&dir, &["--files", "10", "--lines", "3", "--force"]);
        assert_bad_input(&r, decoy);
        assert_eq!(
            std::fs::read(dir.join(decoy)).unwrap(),
            b"mine",
            "{decoy} changed"
        );
        std::fs::remove_file(dir.join(decoy)).unwrap();
        assert!(
            snapshot(&dir) == before,
            "a refused generate changed the set ({decoy})"
        );
    }

    // A .gitignore is tolerated and never touched, with or without an earlier set.
    std::fs::write(dir.join(".gitignore"), "*\n!.gitignore\n").unwrap();
    gen_ok(
        &dir,
        &["--files", "10", "--lines", "3", "--seed", "2", "--force"],
    );
    assert_eq!(
        std::fs::read(dir.join(".gitignore")).unwrap(),
        b"*\n!.gitignore\n"
    );
    assert_eq!(read_manifest(&dir)["seed"], 2);
    let fresh = tmp.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::write(fresh.join(".gitignore"), "x\n").unwrap();
    gen_ok(&fresh, &["--files", "2", "--lines", "2"]);
    assert_eq!(std::fs::read(fresh.join(".gitignore")).unwrap(), b"x\n");
}

#[test]
fn a_smaller_set_replaces_a_bigger_one_without_leftovers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    gen_ok(&dir, &["--files", "10", "--lines", "3", "--seed", "1"]);
    gen_ok(
        &dir,
        &["--files", "5", "--lines", "3", "--seed", "1", "--force"],
    );
    for i in 5..10 {
        assert!(
            !dir.join(format!("file_{i}.txt")).exists(),
            "file_{i}.txt left over"
        );
    }
    let names = entry_names(&dir);
    assert_eq!(names.len(), 6, "{names:?}");
    assert_eq!(read_manifest(&dir)["files"], 5);
    let r = search_json(&dir, &["--needle", "Gold"]);
    assert_eq!(r.json()["files_total"], 5);
    // And a bigger one over a smaller one.
    gen_ok(&dir, &["--files", "8", "--lines", "2", "--force"]);
    assert_eq!(snapshot(&dir).len(), 9);
}

#[test]
fn an_interrupted_generate_is_incomplete_until_generate_force_completes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    // What a run killed half-way leaves: the marker, some files, no manifest.
    write_partial_marker(&dir, 1, 6);
    for i in [0, 1, 4] {
        std::fs::write(dir.join(format!("file_{i}.txt")), PLAIN.repeat(2)).unwrap();
    }
    std::fs::write(dir.join("file_5.txt"), "Not a tr").unwrap(); // cut short

    let r = run(&["search", "--dir", s(&dir)]);
    assert_bad_input(&r, "incomplete");
    assert!(r.stderr.contains("hunt generate --force"), "{r:?}");

    // Without --force: refused, and nothing changes.
    let before = snapshot(&dir);
    let r = generate_with(&dir, &["--files", "3", "--lines", "2"]);
    assert_bad_input(&r, "--force");
    assert!(snapshot(&dir) == before);

    // With --force, a foreign file still stops it.
    std::fs::write(dir.join("file_6.txt"), "mine").unwrap();
    let r = generate_with(&dir, &["--files", "3", "--lines", "2", "--force"]);
    assert_bad_input(&r, "file_6.txt");
    std::fs::remove_file(dir.join("file_6.txt")).unwrap();

    // Then it cleans the marked files and completes a set.
    gen_ok(
        &dir,
        &["--files", "3", "--lines", "2", "--force", "--seed", "3"],
    );
    let names = entry_names(&dir);
    assert_eq!(
        names,
        ["file_0.txt", "file_1.txt", "file_2.txt", "manifest.json"]
    );
    assert!(!dir.join(".hunt-partial.json").exists());
    let r = search_json(&dir, &[]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.json()["index"], read_manifest(&dir)["treasure_index"]);
}

#[test]
fn a_marker_from_a_newer_hunt_is_not_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    write_partial_marker(&dir, 2, 3);
    std::fs::write(dir.join("file_0.txt"), "mine").unwrap();
    let r = generate_with(&dir, &["--files", "2", "--lines", "2", "--force"]);
    assert_bad_input(&r, ".hunt-partial.json");
    assert_eq!(std::fs::read(dir.join("file_0.txt")).unwrap(), b"mine");
}

#[test]
fn force_over_a_manifest_with_a_huge_file_count_does_not_hang() {
    // Cleaning up must cost what the folder holds, not what the manifest claims: a
    // damaged or edited manifest saying 10^15 files once meant 10^15 unlink calls.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    gen_ok(&dir, &["--files", "10", "--lines", "2", "--seed", "1"]);
    let mut m = read_manifest(&dir);
    m["files"] = 1_000_000_000_000_000u64.into();
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    let r = output_within(
        hunt(&[
            "generate",
            "--dir",
            s(&dir),
            "--files",
            "3",
            "--lines",
            "2",
            "--force",
        ]),
        20,
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    let names = entry_names(&dir);
    assert_eq!(
        names,
        ["file_0.txt", "file_1.txt", "file_2.txt", "manifest.json"]
    );
}
