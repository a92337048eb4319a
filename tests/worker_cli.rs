//! `hunt worker` refuses at once a `--dir` from which it cannot serve any hunt (one line
//! naming the fix, exit 2), on every broker, before it connects; it once printed
//! nothing and waited forever. What "cannot serve any hunt" means is written on
//! `app::worker::can_serve`.
#![cfg(any(feature = "redis", feature = "sqlite"))]

mod adversary;
#[cfg(feature = "redis")]
mod broker;
use adversary::*;
use std::path::Path;

/// The one-line refusal, within the deadline (a worker that waits is a failure).
fn refused(url: &str, dir: &Path, expect: &str) {
    let r = run(hunt(&["worker", "--broker", url, "--dir", s(dir)]));
    assert_eq!(r.code, Some(2), "{url} {}: {r:?}", dir.display());
    assert!(
        r.stderr.contains("cannot serve any hunt") && r.stderr.contains(expect),
        "{url}: stderr lacks {expect:?}: {:?}",
        r.stderr
    );
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "{:?}", r.stderr);
    r.no_panic();
}

/// Every folder no hunt can be served from, refused on the broker at `url`.
fn refuses_every_unservable_folder(url: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("missing");
    refused(
        url,
        &missing,
        "does not exist: pass an existing folder with --dir",
    );
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    refused(url, &file, "is a file, not a folder");
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(empty.join("only/folders")).expect("mkdir");
    refused(url, &empty, "holds no files to search");
    let partial = tmp.path().join("partial");
    std::fs::create_dir(&partial).expect("mkdir");
    std::fs::write(partial.join("file_0.txt"), "x").expect("write");
    std::fs::write(partial.join(hunt::dataset::manifest::PARTIAL_NAME), "").expect("write");
    refused(url, &partial, "incomplete");
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_worker_refuses_a_folder_it_cannot_serve() {
    let q = tempfile::tempdir().expect("tempdir");
    let db = q.path().join("q.db");
    refuses_every_unservable_folder(&format!("sqlite:{}", db.display()));
    assert!(
        !db.exists(),
        "the worker connected before it checked its folder"
    );
}

#[cfg(feature = "redis")]
#[test]
fn redis_worker_refuses_a_folder_it_cannot_serve() {
    if !broker::have("redis-server") {
        return;
    }
    let server = broker::Redis::start();
    refuses_every_unservable_folder(&server.url());
    // The same before any server listens: the folder is checked before the connect.
    refuses_every_unservable_folder(&format!("redis://127.0.0.1:{}", broker::free_port()));
}

#[cfg(feature = "sqlite")]
#[test]
fn a_servable_folder_is_not_refused() {
    // A folder of plain files (no data set) can serve hunts published on it: the
    // worker starts and waits for one.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("plain");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("a.txt"), "hello").expect("write");
    let db = tmp.path().join("q.db");
    let url = format!("sqlite:{}", db.display());
    let mut w = start(hunt(&["worker", "--broker", &url, "--dir", s(&dir)]));
    let waited = !wait_until(std::time::Duration::from_secs(2), || {
        w.child.try_wait().ok().flatten().is_some()
    });
    kill(w.pid(), libc::SIGKILL);
    let r = w.wait(DEADLINE);
    assert!(waited, "the worker left early: {r:?}");
}
