//! Across hosts: the broker, three workers and the coordinator each in a network
//! namespace of their own, joined by veth pairs, each worker with its own copy of the
//! data set made by `hunt generate` from the same seed. One worker's link is cut
//! mid-hunt for longer than the lease, then healed: its task is taken over, its late
//! report counts for nothing, and every answer is right.
//!
//! Needs root and a working `ip netns` (iproute2); elsewhere it is skipped with a line
//! saying why. Traffic goes only to addresses inside the namespaces the test makes
//! (10.77.N.0/24), and the test removes them at the end, also when it fails.
#![cfg(feature = "redis")]

mod adversary;
mod broker;
use adversary::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Namespaces and veth pairs of this test, and the processes started in them;
/// dropping it kills those and removes the namespaces, also when the test fails.
struct Net {
    names: Vec<String>,
    pids: std::cell::RefCell<Vec<i32>>,
}

impl Net {
    fn ns(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Starts `cmd` inside namespace `i`; it is killed when the test ends.
    fn start(&self, i: usize, cmd: &Command) -> Started {
        let s = start(inside(self.ns(i), cmd));
        self.pids.borrow_mut().push(s.pid());
        s
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for &pid in self.pids.borrow().iter() {
            kill(pid, libc::SIGKILL);
        }
        for n in &self.names {
            // Deleting a namespace kills nothing by itself; the processes in it were
            // killed by their guards already. Its veth ends go with it.
            let _ = Command::new("ip").args(["netns", "delete", n]).status();
        }
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn must(args: &[&str]) {
    assert!(ip(args), "ip {}", args.join(" "));
}

/// Can this machine make namespaces? Root and iproute2.
fn possible() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    let probe = format!("huntprobe{}", std::process::id());
    if !ip(&["netns", "add", &probe]) {
        return Some("`ip netns add` does not work here".into());
    }
    let _ = ip(&["netns", "delete", &probe]);
    None
}

/// Namespace 0 is the broker; 1..=n the others, each linked to the broker by a veth
/// pair on 10.77.N.0/24 (the broker at 10.77.N.1, the other end at 10.77.N.2).
fn build(n: usize) -> Net {
    let tag = std::process::id() % 100_000;
    let names: Vec<String> = (0..=n).map(|i| format!("hunt{tag}n{i}")).collect();
    let net = Net {
        names,
        pids: Default::default(),
    };
    for name in &net.names {
        must(&["netns", "add", name]);
        must(&["-n", name, "link", "set", "lo", "up"]);
    }
    for i in 1..=n {
        let (b, o) = (format!("h{tag}b{i}"), format!("h{tag}o{i}"));
        must(&["link", "add", &b, "type", "veth", "peer", "name", &o]);
        must(&["link", "set", &b, "netns", net.ns(0)]);
        must(&["link", "set", &o, "netns", net.ns(i)]);
        must(&[
            "-n",
            net.ns(0),
            "addr",
            "add",
            &format!("10.77.{i}.1/24"),
            "dev",
            &b,
        ]);
        must(&[
            "-n",
            net.ns(i),
            "addr",
            "add",
            &format!("10.77.{i}.2/24"),
            "dev",
            &o,
        ]);
        must(&["-n", net.ns(0), "link", "set", &b, "up"]);
        must(&["-n", net.ns(i), "link", "set", &o, "up"]);
    }
    net
}

/// `cmd` run inside namespace `ns`.
fn inside(ns: &str, cmd: &Command) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c
}

#[test]
fn workers_in_other_namespaces_survive_a_cut_link_and_every_answer_is_right() {
    if !broker::have("redis-server") {
        return;
    }
    if let Some(why) = possible() {
        eprintln!("skipped: {why}: the namespaces test needs root and `ip netns`");
        return;
    }
    let net = build(4); // 1..=3 workers, 4 the coordinator
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Command::new("redis-server");
    server.args([
        "--bind",
        "0.0.0.0",
        "--port",
        "6379",
        "--protected-mode",
        "no",
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    let redis = net.start(0, &server);
    let up = wait_until(Duration::from_secs(10), || {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                net.ns(4),
                "redis-cli",
                "-h",
                "10.77.4.1",
                "ping",
            ])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"))
    });
    assert!(up, "the broker answers inside its namespace");

    // Each "host" makes its own copy of the set from the same flags and seed.
    let dirs: Vec<_> = (1..=4)
        .map(|i| broker::set(tmp.path(), &format!("host{i}"), 45, 3, 2026, 40))
        .collect();
    for d in &dirs[1..] {
        // Snapshots name files relative to their folder.
        assert!(snapshot(d) == snapshot(&dirs[0]), "byte-identical sets");
    }
    let mut workers = Vec::new();
    for i in 1..=3 {
        let url = format!("redis://10.77.{i}.1:6379");
        let mut c = broker::worker_command(&url, &dirs[i - 1], &format!("w{i}"), &["-j", "1"]);
        c.env(hunt::hooks::SLOW_FILE_ENV, "100");
        workers.push(net.start(i, &c));
    }
    let url = "redis://10.77.4.1:6379";
    let search = |needle: Option<&str>| {
        let mut args = vec![
            "search",
            "--json",
            "--strategy",
            "redis",
            "--broker",
            url,
            "--remote-workers",
            "--lease",
            "1",
            "--batch",
            "3",
            "--dir",
            s(&dirs[3]),
        ];
        if let Some(n) = needle {
            args.extend(["--needle", n]);
        }
        inside(net.ns(4), &hunt(&args))
    };
    let status = || {
        let r = run(inside(
            net.ns(4),
            &hunt(&["status", "--broker", url, "--json"]),
        ));
        r.json()
    };

    // A full scan while w1's link is cut for three leases: every file counted once.
    let coord = start(search(Some("Gold")));
    net.pids.borrow_mut().push(coord.pid());
    let deadline = Instant::now() + Duration::from_secs(20);
    let cut = loop {
        let st = status();
        let held = broker::newest_tasks(&st).iter().any(|t| {
            t["state"] == "Running" && t["worker"].as_str().is_some_and(|w| w.starts_with("w1@"))
        });
        if held {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(cut, "w1 never held a task");
    let tag = std::process::id() % 100_000;
    let link = format!("h{tag}b1");
    must(&["-n", net.ns(0), "link", "set", &link, "down"]);
    std::thread::sleep(Duration::from_secs(3));
    must(&["-n", net.ns(0), "link", "set", &link, "up"]);
    let r = coord.wait(Duration::from_secs(60));
    r.no_panic();
    assert_eq!(r.code, Some(1), "{r:?}");
    let j = r.json();
    assert_eq!(
        j["files_scanned"], 45,
        "no file counted twice or missed: {j}"
    );
    assert!(
        j["tasks"]["retries"].as_u64().unwrap() >= 1,
        "w1's task was taken over: {j}"
    );

    // Healed, w1 serves again; the treasure is found and named by worker and host.
    let r = run(search(None));
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    assert_eq!(j["index"], 40, "{j}");
    assert!(j["found_by"].as_str().unwrap().contains('@'), "{j}");

    for w in workers {
        // `ip netns exec` runs hunt in its place, so the signal reaches it.
        kill(w.pid(), libc::SIGTERM);
        let done = w.wait(Duration::from_secs(15));
        done.no_panic();
        assert_eq!(done.code, Some(0), "{done:?}");
    }
    kill(redis.pid(), libc::SIGKILL);
    let _ = redis.wait(Duration::from_secs(5));
    drop(net);
}
