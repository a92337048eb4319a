//! A file below a path longer than PATH_MAX (4,096 bytes) is found by every strategy
//! that takes a listed folder, as `grep -r` finds it: the walk and the opens go down
//! relative to folder descriptors, never through the whole path at once. Once the walk
//! could not list such a folder and the hunt answered "unknown" (exit 2).

mod common;
use common::*;
use hunt::strategy::runnable_pairs;
use std::path::{Path, PathBuf};

/// 20 folders of 250-character names below `root` (5,020 bytes of path), a file at
/// the bottom holding `needle`, and a file near the top that does not. Made with
/// `mkdirat` from the previous folder's descriptor (the path is too long for `mkdir`).
fn deep_tree(root: &Path, needle: &str) -> PathBuf {
    std::fs::write(root.join("shallow.txt"), "nothing here\n").expect("write");
    let mut rel = PathBuf::new();
    let mut dir = std::fs::File::open(root).expect("open root");
    for level in 0..20 {
        let name = format!("{level:02}{}", "d".repeat(248));
        rel.push(&name);
        let c = std::ffi::CString::new(name).expect("no NUL");
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: a valid descriptor and NUL-terminated name; results checked.
        unsafe {
            assert_eq!(libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755), 0);
            let fd = libc::openat(
                dir.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            );
            assert!(fd >= 0);
            dir = std::fs::File::from_raw_fd(fd);
        }
    }
    let c = std::ffi::CString::new("bottom.txt").expect("no NUL");
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: as above.
    let mut f = unsafe {
        let fd = libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
            0o644,
        );
        assert!(fd >= 0);
        std::fs::File::from_raw_fd(fd)
    };
    std::io::Write::write_all(&mut f, format!("one\ntwo {needle} three\n").as_bytes())
        .expect("write");
    rel.push("bottom.txt");
    assert!(rel.as_os_str().len() > 4096, "{}", rel.as_os_str().len());
    rel
}

#[test]
fn a_file_below_a_path_longer_than_path_max_is_found_by_every_strategy() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("deep");
    std::fs::create_dir(&root).expect("mkdir");
    let rel = deep_tree(&root, "Xyzzy");
    let want = root.join(&rel);
    let mut failures = Vec::new();
    for (kind, reader) in runnable_pairs() {
        {
            let mut args = vec![
                "--needle",
                "Xyzzy",
                "--strategy",
                kind.name(),
                "--reader",
                reader.name(),
                "-j",
                "2",
            ];
            args.extend(broker_flags(kind));
            let r = search_json(&root, &args);
            let label = format!("{kind} {}", reader.name());
            if r.code != Some(0) {
                // The tail of the message: the paths in it run to kilobytes.
                let msg = r.stderr.trim();
                let tail = &msg[msg.len().saturating_sub(300)..];
                failures.push(format!("{label}: exit {:?}: ...{tail}", r.code));
                continue;
            }
            let j = r.json();
            if j["found"].as_str().map(PathBuf::from) != Some(want.clone()) {
                failures.push(format!("{label}: found {}", j["found"]));
            }
        }
    }
    // uring opens through its ring: every way it can (a direct descriptor or not, a
    // linked chain, statx) from the deep folder's descriptor.
    if runnable_pairs().iter().any(|(k, _)| k.name() == "uring") {
        for ring in [
            "plain",
            "fixed-files,link",
            "statx",
            "fixed-files,fixed-buffers",
        ] {
            let r = search_json(
                &root,
                &["--needle", "Xyzzy", "--strategy", "uring", "--ring", ring],
            );
            let found = r.json()["found"].as_str().map(PathBuf::from);
            if r.code != Some(0) || found.as_ref() != Some(&want) {
                failures.push(format!(
                    "uring --ring {ring}: exit {:?}, found {found:?}",
                    r.code
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_deep_files_size_counts_in_the_folders_identity() {
    // Workers on a broker compare the folder's identity (paths and sizes) with the
    // coordinator's: a deep file's size must be read, not taken as unknown.
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("deep");
    std::fs::create_dir(&root).expect("mkdir");
    deep_tree(&root, "Xyzzy");
    let loaded = hunt::fileset::load(&root, false).expect("load");
    let sizes: Vec<Option<u64>> = (0..loaded.files.len())
        .map(|i| loaded.files.size(i))
        .collect();
    assert_eq!(sizes.len(), 2, "{sizes:?}");
    assert!(sizes.iter().all(Option::is_some), "{sizes:?}");
    let id = loaded.files.identity().expect("identity");
    assert!(id.summary.ends_with(" 2 files, 33 B"), "{}", id.summary);
}
