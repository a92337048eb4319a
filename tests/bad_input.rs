//! Every bad input of issue 2: exit 2, one line on stderr that names the fix, no panic,
//! no backtrace. Files that fail during a hunt are warnings instead: the hunt goes on,
//! and the exit code says whether the answer can be trusted.
mod common;
use common::*;
use hunt::strategy::{runnable_pairs, StrategyKind};
use std::path::Path;

/// Asserts exit 2, one line on stderr holding every one of `words`, nothing on stdout.
fn assert_refused(r: &Run, words: &[&str]) {
    for w in words {
        assert_bad_input(r, w);
    }
    assert!(r.stdout.is_empty(), "stdout on an error: {r:?}");
    r.no_panic();
}

/// A data set of 10 files in `dir` with its treasure in file 7.
fn small_set(dir: &Path) {
    generate(dir, 10, 5, Some(7));
}

#[test]
fn missing_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let gone = tmp.path().join("nowhere");
    let r = run(&["search", "--dir", s(&gone)]);
    assert_refused(
        &r,
        &["does not exist", "nowhere", "--dir", "hunt generate --dir"],
    );
    // --dir without its value is clap's error, on one line too.
    let r = run(&["search", "--dir"]);
    assert_refused(&r, &["--dir"]);
}

#[test]
fn a_file_given_as_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("file_0.txt");
    std::fs::write(&f, "Treasure\n").unwrap();
    let r = run(&["search", "--dir", s(&f)]);
    assert_refused(&r, &["is a file, not a folder", "--dir"]);
    let r = run(&["generate", "--dir", s(&f), "--files", "2"]);
    assert_refused(&r, &["not a folder", "--dir"]);
    assert_eq!(
        std::fs::read(&f).unwrap(),
        b"Treasure\n",
        "generate touched the file"
    );
}

#[test]
fn an_empty_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(&["search", "--dir", s(tmp.path())]);
    assert_refused(&r, &["holds no files", "hunt generate --dir"]);
    // Folders inside, but no file anywhere: still nothing to search.
    std::fs::create_dir_all(tmp.path().join("a/b")).unwrap();
    let r = run(&["search", "--dir", s(tmp.path())]);
    assert_refused(&r, &["holds no files", "hunt generate --dir"]);
}

#[test]
fn a_malformed_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    small_set(&dir);
    let good = read_manifest(&dir);
    let mut bad: Vec<String> = [
        "",
        "{",
        "[]",
        "null",
        "{\"format_version\": 1}",
        "\u{0}\u{1}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (field, value) in [
        ("files", serde_json::json!(0)),
        ("files", serde_json::json!(-3)),
        ("files", serde_json::json!("ten")),
        ("treasure_index", serde_json::json!(10)),
        ("needle", serde_json::json!("")),
        ("format_version", serde_json::json!(0)),
        ("format_version", serde_json::json!("1")),
    ] {
        let mut m = good.clone();
        m[field] = value;
        bad.push(m.to_string());
    }
    for text in bad {
        std::fs::write(dir.join("manifest.json"), &text).unwrap();
        for strategy in ["sequential", "fork"] {
            let r = run(&["search", "--dir", s(&dir), "--strategy", strategy]);
            assert_refused(&r, &["manifest", "hunt generate --dir"]);
            assert!(
                r.stderr.contains("malformed") || r.stderr.contains("not a data file"),
                "{text:?}: {r:?}"
            );
        }
    }
}

#[test]
fn a_manifest_from_a_newer_format() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    small_set(&dir);
    let mut m = read_manifest(&dir);
    m["format_version"] = 2.into();
    // A newer format may change other fields too: the version is what gets reported.
    m["files"] = "many".into();
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    let r = run(&["search", "--dir", s(&dir)]);
    assert_refused(
        &r,
        &["format 2", "newer", "upgrade hunt", "hunt generate --dir"],
    );
}

#[test]
fn a_manifest_naming_files_outside_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    small_set(&dir);
    // Bait outside the folder: if hunt followed the name, it would "find" it.
    std::fs::write(tmp.path().join("x"), "Treasure\n").unwrap();
    let good = read_manifest(&dir);
    for name in ["../x", "/etc/passwd", "../set/file_7.txt", "sub/file_7.txt"] {
        let mut m = good.clone();
        m["treasure_file"] = name.into();
        std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
        let r = run(&["search", "--dir", s(&dir)]);
        assert_refused(
            &r,
            &[
                "not a data file inside its folder",
                name,
                "hunt generate --dir",
            ],
        );
        // generate --force refuses too: it deletes only what a valid manifest names.
        let r = run(&["generate", "--dir", s(&dir), "--files", "3", "--force"]);
        assert_refused(&r, &["remove the folder", "even --force leaves"]);
        assert!(tmp.path().join("x").exists());
    }
}

#[test]
fn generate_flags_out_of_range() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    let r = generate_with(&dir, &["--files", "0"]);
    assert_refused(&r, &["--files must be at least 1"]);
    let r = generate_with(&dir, &["--lines", "0", "--files", "3"]);
    assert_refused(&r, &["--lines must be at least 1"]);
    let r = generate_with(&dir, &["--files", "5", "--treasure-at", "5"]);
    assert_refused(&r, &["--treasure-at 5 is past the last file", "0 to 4"]);
    let r = generate_with(
        &dir,
        &["--files", "5", "--treasure-at", "99999999999999999999"],
    );
    assert_refused(&r, &["--treasure-at"]);
    // clap reads "-1" as an unknown flag, not as a value: still one clear line.
    let r = generate_with(&dir, &["--files", "-1"]);
    assert_refused(&r, &["'-1'"]);
    let r = generate_with(&dir, &["--files", "18446744073709551615", "--lines", "2"]);
    assert_refused(&r, &["too large", "smaller"]);
    // Each file is built in memory: absurd line counts are refused, not an abort.
    for lines in ["1000000000000", "100000000000000000"] {
        let r = generate_with(&dir, &["--files", "2", "--lines", lines]);
        assert_refused(&r, &["--lines", "or fewer"]);
    }
    let r = generate_with(&dir, &["--preset", "nope"]);
    assert_refused(&r, &["nope", "blog"]);
    assert!(
        !dir.exists() || std::fs::read_dir(&dir).unwrap().next().is_none(),
        "a refused generate wrote files"
    );
}

#[test]
fn search_flags_out_of_range() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    small_set(&dir);
    let d = s(&dir);
    let r = run(&["search", "--dir", d, "--needle", ""]);
    assert_refused(&r, &["--needle is empty", "--needle Treasure"]);
    let r = run(&["search", "--dir", d, "--strategy", "nope"]);
    assert_refused(&r, &["nope", "possible values"]);
    for &k in StrategyKind::ALL {
        assert!(
            r.stderr.contains(k.name()),
            "the message does not offer {k}: {r:?}"
        );
    }
    let r = run(&["search", "--dir", d, "--reader", "nope"]);
    assert_refused(&r, &["nope", "possible values", "read", "mmap"]);
    for w in ["0", "1025", "5000", "18446744073709551615"] {
        let r = run(&["search", "--dir", d, "--workers", w]);
        assert_refused(&r, &["--workers must be between 1 and 1024", w]);
    }
    let r = run(&["search", "--dir", d, "--workers", "-1"]);
    assert_refused(&r, &["'-1'"]);
    let r = run(&["search", "--dir", d, "--workers", "two"]);
    assert_refused(&r, &["--workers", "two"]);
    let r = run(&["search", "--dir", d, "--frobnicate"]);
    assert_refused(&r, &["--frobnicate"]);
    // The biggest worker count and rotation are accepted, not errors.
    let r = run(&[
        "search",
        "--dir",
        d,
        "--workers",
        "1024",
        "--rotate",
        "18446744073709551615",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
}

#[test]
fn default_folder_without_a_data_set() {
    // No treasure_data at all.
    let cwd = tempfile::tempdir().unwrap();
    let r = run_in(cwd.path(), &["search"]);
    assert_refused(&r, &["no data set", "treasure_data", "hunt generate"]);
    // treasure_data with only the repository's note in it.
    let data = cwd.path().join("treasure_data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join(".gitignore"), "*\n!.gitignore\n").unwrap();
    let r = run_in(cwd.path(), &["search", "--strategy", "threads"]);
    assert_refused(&r, &["no data set", "treasure_data", "hunt generate"]);
}

/// Replaces file 3 of a 10-file set (treasure in 7) with `make`, then checks every
/// strategy and reader: the treasure elsewhere is found with a warning naming the file;
/// with the needle absent, the answer is unknown (exit 2, never 1).
fn check_broken_file(what: &str, make: impl Fn(&Path)) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    small_set(&dir);
    let broken = dir.join("file_3.txt");
    std::fs::remove_file(&broken).unwrap();
    make(&broken);
    let name = s(&broken);
    for (strategy, reader) in runnable_pairs() {
        let case = format!("{what}, strategy {strategy}, reader {}", reader.name());
        for workers in ["1", "3"] {
            let args = search_json_args(&dir, &strategy_flags(strategy, reader, workers));
            let r = output_within(hunt(&args), 20);
            r.no_panic();
            assert_eq!(r.code, Some(0), "{case}: {r:?}");
            let j = r.json();
            assert_eq!(j["index"], 7, "{case}: {j}");
            // One worker reaches file 3 before file 7; several may find the treasure
            // before anyone opens file 3, and then there is nothing to say.
            let errors = j["errors"].as_u64().unwrap();
            if workers == "1" {
                assert_eq!(errors, 1, "{case}: {j}");
            }
            if errors == 1 {
                assert!(
                    r.stderr.contains("warning") && r.stderr.contains(name),
                    "{case}: {r:?}"
                );
                assert!(r.stderr.contains("the treasure was found"), "{case}: {r:?}");
            } else {
                assert_eq!(errors, 0, "{case}: {j}");
                assert!(r.stderr.is_empty(), "{case}: {r:?}");
            }

            let args = [&args[..], &["--needle", "Gold"]].concat();
            let r = output_within(hunt(&args), 20);
            r.no_panic();
            assert_eq!(r.code, Some(2), "{case}, needle absent: {r:?}");
            let j = r.json();
            assert!(j["found"].is_null(), "{case}: {j}");
            assert_eq!(j["errors"], 1, "{case}: {j}");
            assert_eq!(j["files_scanned"], 9, "{case}: {j}");
            assert!(r.stderr.contains(name), "{case}: {r:?}");
            assert!(r.stderr.contains("may be there"), "{case}: {r:?}");
        }
    }
}

#[test]
fn an_unreadable_file_a_directory() {
    // Tests may run as root, for whom chmod 000 stops nothing: a directory cannot be read.
    check_broken_file("directory", |p| std::fs::create_dir(p).unwrap());
}

#[test]
fn an_unreadable_file_a_named_pipe() {
    // Opened with O_NONBLOCK and checked with fstat: a pipe must not hang the hunt.
    check_broken_file("named pipe", mkfifo);
}

#[test]
fn an_unreadable_file_a_symlink() {
    // O_NOFOLLOW: a link planted in the set is an error, not a way out of the folder.
    let tmp = tempfile::tempdir().unwrap();
    let bait = tmp.path().join("bait.txt");
    std::fs::write(&bait, "Gold\n").unwrap();
    check_broken_file("symlink", |p| std::os::unix::fs::symlink(&bait, p).unwrap());
}

#[test]
fn a_file_that_vanished() {
    check_broken_file("vanished file", |_| {});
}

#[test]
fn a_manifest_that_is_not_a_regular_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    small_set(&dir);
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    mkfifo(&dir.join("manifest.json"));
    let r = output_within(hunt(&["search", "--dir", s(&dir)]), 20);
    assert_refused(&r, &["manifest.json", "not a regular file", "remove it"]);
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    std::fs::create_dir(dir.join("manifest.json")).unwrap();
    let r = output_within(hunt(&["search", "--dir", s(&dir)]), 20);
    assert_refused(&r, &["manifest.json", "not a regular file", "remove it"]);
    std::fs::remove_dir(dir.join("manifest.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("manifest.json")).unwrap();
    let r = output_within(hunt(&["search", "--dir", s(&dir)]), 20);
    assert_refused(&r, &["manifest.json", "is a symlink", "remove it"]);
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    std::fs::write(dir.join("manifest.json"), vec![b' '; 3 << 20]).unwrap();
    let r = output_within(hunt(&["search", "--dir", s(&dir)]), 20);
    assert_refused(&r, &["manifest.json", "too large", "remove it"]);
    std::fs::write(dir.join("manifest.json"), b"{\"format_version\": \xff}").unwrap();
    let r = output_within(hunt(&["search", "--dir", s(&dir)]), 20);
    assert_refused(&r, &["manifest.json", "malformed", "UTF-8"]);
}

/// The command a message names between backticks, split into words (without `hunt`).
fn named_command(stderr: &str) -> Vec<String> {
    let cmd = stderr
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no `command` in {stderr:?}"));
    let words: Vec<String> = cmd.split_whitespace().map(String::from).collect();
    assert_eq!(words[0], "hunt", "{stderr:?}");
    words[1..].to_vec()
}

/// Spoils a good manifest in one way.
type Breakage = fn(&mut serde_json::Value);

#[test]
fn a_broken_manifest_names_a_fix_that_works() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    let breakages: [(&str, Breakage); 3] = [
        ("malformed", |m| m["files"] = "ten".into()),
        ("newer format", |m| m["format_version"] = 2.into()),
        ("outside the folder", |m| m["treasure_file"] = "../x".into()),
    ];
    for (what, breakage) in breakages {
        small_set(&dir);
        let mut m = read_manifest(&dir);
        breakage(&mut m);
        std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
        let r = run(&["search", "--dir", s(&dir)]);
        assert_refused(&r, &["manifest", "hunt generate"]);
        // generate --force refuses such a folder (it cannot tell which files are its
        // own), so the advice must not be --force.
        let forced = run(&["generate", "--dir", s(&dir), "--files", "3", "--force"]);
        assert_refused(&forced, &["manifest"]);
        assert!(
            !r.stderr.contains("--force"),
            "{what}: advice that cannot work: {r:?}"
        );
        // Following the advice (remove the folder, run the command) works.
        let cmd = named_command(&r.stderr);
        std::fs::remove_dir_all(&dir).unwrap();
        // Small sizes: the default set is 150 MB.
        let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        args.extend(["--files", "3", "--lines", "2"]);
        let done = run(&args);
        assert_eq!(
            done.code,
            Some(0),
            "{what}: following {cmd:?} failed: {done:?}"
        );
        assert_eq!(run(&["search", "--dir", s(&dir)]).code, Some(0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn negative_numbers_name_their_flag() {
    for (args, flag) in [
        (&["generate", "--files", "-1"][..], "--files"),
        (&["generate", "--lines", "-5"][..], "--lines"),
        (&["search", "--workers", "-3"][..], "--workers"),
        (&["search", "--rotate", "-1"][..], "--rotate"),
        (&["race", "--workers", "1,-2"][..], "--workers"),
        (&["race", "--runs", "-1"][..], "--runs"),
    ] {
        let r = run(args);
        assert_bad_input(&r, "invalid value '-");
        assert!(r.stderr.contains(flag), "{args:?}: {:?}", r.stderr);
    }
}
