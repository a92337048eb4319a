use super::*;
use std::os::fd::FromRawFd;
use std::path::PathBuf;

fn open(dir: &Path) -> OwnedFd {
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is NUL-terminated; the result is checked.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(fd >= 0);
    // SAFETY: a fresh descriptor.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn sorted(mut files: Vec<Vec<u8>>) -> Vec<String> {
    files.sort_unstable_by(|a, b| path_order(a, b));
    files
        .into_iter()
        .map(|f| String::from_utf8(f).unwrap())
        .collect()
}

#[test]
fn finds_regular_files_at_every_depth_and_skips_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir_all(d.join("a/b/c")).unwrap();
    std::fs::create_dir_all(d.join("a.b")).unwrap();
    std::fs::create_dir_all(d.join("empty")).unwrap();
    for f in ["top.txt", "a/one", "a/b/two", "a/b/c/three", "a.b/four"] {
        std::fs::write(d.join(f), f).unwrap();
    }
    std::os::unix::fs::symlink(d.join("a"), d.join("link_to_a")).unwrap();
    std::os::unix::fs::symlink(d.join("top.txt"), d.join("link_to_top")).unwrap();
    for threads in [1, 2, 8] {
        let w = walk(&open(d), d, threads);
        assert!(w.errors.is_empty(), "{:?}", w.errors);
        assert_eq!(
            sorted(w.files),
            ["a/b/c/three", "a/b/two", "a/one", "a.b/four", "top.txt"],
            "{threads} threads"
        );
    }
}

#[test]
fn many_folders_on_many_threads_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut expect = Vec::new();
    for i in 0..40 {
        for j in 0..5 {
            let dir = format!("d{i}/e{j}");
            std::fs::create_dir_all(tmp.path().join(&dir)).unwrap();
            for k in 0..3 {
                let f = format!("{dir}/f{k}");
                std::fs::write(tmp.path().join(&f), "x").unwrap();
                expect.push(f.into_bytes());
            }
        }
    }
    let w = walk(&open(tmp.path()), tmp.path(), 4);
    assert_eq!(sorted(w.files), sorted(expect));
}

#[test]
fn a_folder_that_cannot_be_read_is_named_and_the_rest_is_listed() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir_all(d.join("locked")).unwrap();
    std::fs::write(d.join("locked/hidden"), "x").unwrap();
    std::fs::write(d.join("open.txt"), "x").unwrap();
    std::fs::set_permissions(d.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let w = walk(&open(d), d, 2);
    std::fs::set_permissions(d.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // root reads any folder: nothing to refuse.
        assert_eq!(sorted(w.files), ["locked/hidden", "open.txt"]);
        return;
    }
    assert_eq!(sorted(w.files), ["open.txt"]);
    let want = format!("cannot list {}: ", d.join("locked").display());
    assert!(
        w.errors.len() == 1 && w.errors[0].starts_with(&want),
        "{:?}",
        w.errors
    );
}

#[test]
fn path_order_is_the_order_of_paths() {
    let names = [
        "a", "a/b", "a.b", "ab", "a/b/c", "a-b", "b", "a/a", "ab/c", "a/.x",
    ];
    for x in names {
        for y in names {
            assert_eq!(
                path_order(x.as_bytes(), y.as_bytes()),
                PathBuf::from(x).cmp(&PathBuf::from(y)),
                "{x} vs {y}"
            );
        }
    }
}
