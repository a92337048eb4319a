//! A broker shared over time: hunts kept apart and their records expiring, bad URLs
//! and passwords never shown, a worker's warm (SIGTERM) and cold (Ctrl-C) shutdown, and
//! `hunt status`.

use super::{broker_and_set, coordinator, not_for, remote, slow_worker, stop};
use crate::adversary::{hunt, kill, run, s, start, wait_until, Started};
use crate::broker::{newest_tasks, set, status, wait_running, worker_command, Backend};
use hunt::hooks::{KEEP_ENV, SLOW_FILE_ENV};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

pub fn hunts_on_one_broker_stay_apart_and_their_records_expire(b: &dyn Backend) {
    let server = b.start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let mut runs: Vec<(u64, Started)> = [3u64, 17, 38]
        .iter()
        .enumerate()
        .map(|(i, &at)| {
            let dir = set(tmp.path(), &format!("set{i}"), 40, 3, 20 + i as u64, at);
            let mut c = coordinator(b, &dir, &["--broker", &url, "-j", "2", "--batch", "3"]);
            c.env(KEEP_ENV, "800").env(SLOW_FILE_ENV, "20");
            (at, start(c))
        })
        .collect();
    // Every hunt the broker held while they ran (a backend may prune an expired one
    // as soon as another hunt writes).
    let mut ids = BTreeSet::new();
    let ended = wait_until(Duration::from_secs(60), || {
        ids.extend(server.hunt_ids());
        std::thread::sleep(Duration::from_millis(20));
        runs.iter_mut()
            .all(|(_, r)| r.child.try_wait().expect("try_wait").is_some())
    });
    assert!(ended, "the three hunts end");
    for (at, run) in runs {
        let r = run.wait(Duration::from_secs(30));
        assert_eq!(r.code, Some(0), "{r:?}");
        assert_eq!(r.json()["index"], at, "each hunt its own answer: {r:?}");
    }
    assert_eq!(ids.len(), 3, "{ids:?}");
    // `hunt status` is a write where the broker prunes on writes.
    let gone = wait_until(Duration::from_secs(10), || {
        status(&url);
        ids.iter().all(|id| server.records(id).is_empty())
    });
    assert!(gone, "a finished hunt's records expire: {ids:?}");
    assert!(server.active().is_empty(), "{:?}", server.active());
    let st = status(&url);
    assert_eq!(st["hunts"].as_array().unwrap().len(), 0, "{st}");
    // Without the test hook the records stay for the keep time, then go.
    let dir = tmp.path().join("set0");
    let r = run(coordinator(b, &dir, &["--broker", &url]));
    assert_eq!(r.code, Some(0), "{r:?}");
    let st = status(&url);
    let id = st["hunts"][0]["spec"]["id"].as_str().unwrap();
    assert!(!server.records(id).is_empty(), "{st}");
    let expiries = server.expiries(id);
    assert!(!expiries.is_empty(), "{id}");
    for (record, ttl) in expiries {
        assert!(ttl > 0 && ttl <= 600_000, "{record}: {ttl}");
    }
}

pub fn bad_brokers_are_refused_in_one_line_and_passwords_never_show(b: &dyn Backend) {
    let locked = match b.start_with_password("s3cret-pw") {
        Ok(l) => Some(l),
        Err(why) => {
            not_for(b, "passwords", why);
            None
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 5, 2, 1, 1);
    let mut cases = vec![("ftp://somewhere".to_string(), "is not a broker URL")];
    cases.extend(b.bad_urls(locked.as_deref()));
    for (url, expect) in &cases {
        for args in [
            search_on(b, &dir, url),
            vec!["worker", "--dir", s(&dir), "--broker", url],
            vec!["status", "--broker", url],
        ] {
            let r = run(hunt(&args));
            r.no_panic();
            assert_eq!(r.code, Some(2), "{args:?}: {r:?}");
            assert_eq!(r.stderr.trim_end().lines().count(), 1, "{args:?}: {r:?}");
            assert!(
                r.stderr.contains(expect),
                "{args:?}: want {expect:?}: {r:?}"
            );
            assert!(
                !r.stderr.contains("wrong-pw") && !r.stderr.contains("s3cret-pw"),
                "{r:?}"
            );
        }
    }
    if let Some(locked) = &locked {
        // The right password works, and shows nowhere.
        let url = locked.url();
        let r = run(coordinator(b, &dir, &["--broker", &url]));
        assert_eq!(r.code, Some(0), "{r:?}");
        let r = run(hunt(&["status", "--broker", &url, "--json"]));
        assert_eq!(r.code, Some(0), "{r:?}");
        assert!(!r.stdout.contains("s3cret-pw"), "{r:?}");
        let r = run(hunt(&["status", "--broker", &url]));
        assert!(
            !r.stdout.contains("s3cret-pw") && r.stdout.contains(":***@"),
            "{r:?}"
        );
    }
    // A broker URL of another kind.
    let r = run(hunt(&search_on(b, &dir, b.other_url())));
    assert_eq!(r.code, Some(2), "{r:?}");
    let want = format!("is not a {} broker", b.name());
    assert!(r.stderr.contains(&want), "{r:?}");
}

pub fn sigterm_finishes_the_task_in_hand_and_ctrl_c_hands_it_back(b: &dyn Backend) {
    let (_server, url, _tmp, dir) = broker_and_set(b, 12, 3, 16, 0);
    let warm = slow_worker(&url, &dir, "warm", "300");
    let coord = start(remote(b, &dir, &url, &["--batch", "3", "--needle", "Gold"]));
    assert!(wait_running(&url, 0, Duration::from_secs(20)).is_some());
    let wr = stop(warm);
    assert_eq!(wr.code, Some(0), "{wr:?}");
    let st = status(&url);
    let t0 = &newest_tasks(&st)[0];
    assert_eq!(
        t0["state"], "Completed",
        "the task in hand was finished: {st}"
    );
    assert_eq!(t0["attempts"], 1);
    // Ctrl-C: the task in hand goes back at once, without waiting for its lease.
    let cold = slow_worker(&url, &dir, "cold", "300");
    assert!(wait_running(&url, 3, Duration::from_secs(20)).is_some());
    kill(cold.pid(), libc::SIGINT);
    let cr = cold.wait(Duration::from_secs(5));
    assert_eq!(cr.code, Some(130), "{cr:?}");
    let st = status(&url);
    let t1 = &newest_tasks(&st)[1];
    assert_eq!(t1["state"], "NotStarted", "handed back: {st}");
    assert_eq!(
        t1["attempts"], 0,
        "a handed-back task did not use an attempt: {st}"
    );
    // A last worker finishes the hunt with every file read once.
    let last = start(worker_command(&url, &dir, "last", &["-j", "2"]));
    let r = coord.wait(Duration::from_secs(30));
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.json()["files_scanned"], 12, "{r:?}");
    assert_eq!(stop(last).code, Some(0));
}

pub fn status_shows_the_task_table_and_the_live_workers_and_watches(b: &dyn Backend) {
    let (_server, url, _tmp, dir) = broker_and_set(b, 10, 3, 17, 7);
    let w = start(worker_command(&url, &dir, "seen", &["-j", "1"]));
    let r = run(remote(b, &dir, &url, &["--batch", "5"]));
    assert_eq!(r.code, Some(0), "{r:?}");
    let wants = [
        "found",
        "answer: file index 7, found by seen@",
        "Completed",
        "NotStarted",
        "search positions",
        "seen",
        "workers heard from in the last minute: 1",
    ];
    // The worker says it is alive once a second, from a helper thread that retries
    // after a busy broker: on a loaded machine the first status may come before that.
    // So the status is asked again, for 10 s at most, until it shows everything.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = run(hunt(&["status", "--broker", &url]));
        assert_eq!(r.code, Some(0), "{r:?}");
        if wants.iter().all(|w| r.stdout.contains(w)) || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for want in wants {
        assert!(r.stdout.contains(want), "{want:?} in {}", r.stdout);
    }
    let watch = start(hunt(&["status", "--broker", &url, "--watch"]));
    std::thread::sleep(Duration::from_millis(2300));
    kill(watch.pid(), libc::SIGINT);
    let wr = watch.wait(Duration::from_secs(5));
    assert_eq!(wr.code, Some(130), "{wr:?}");
    let frames = wr.stdout.matches(&format!("broker {url}")).count();
    assert!(frames >= 2, "refreshed: {frames} frames: {wr:?}");
    assert_eq!(stop(w).code, Some(0));
}

/// `hunt search --strategy NAME --dir DIR --broker URL` (plain text, not `--json`): a
/// command line whose broker URL hunt must refuse.
fn search_on<'a>(b: &dyn Backend, dir: &'a Path, url: &'a str) -> Vec<&'a str> {
    vec![
        "search",
        "--strategy",
        b.name(),
        "--dir",
        s(dir),
        "--broker",
        url,
    ]
}
