//! Unit tests of `src/trace/chrome.rs`.

use super::*;

fn span(kind: Kind, index: u64, start: u64, dur: u64, lane: u16) -> Event {
    Event {
        kind,
        end: End::Done,
        lane,
        index,
        start,
        dur,
        a: index,
        b: 100,
    }
}

/// Two workers (one in a process of its own, one with two ring slots), a task, a
/// find and the stop signal.
fn timeline() -> Timeline {
    let mut found = span(Kind::File, 7, 2_000, 500, 0);
    found.end = End::Found;
    Timeline {
        meta: Meta {
            strategy: "threads".into(),
            workers: 2,
            reader: "read".into(),
            dir: "data \"set\"".into(),
            files: 10,
            found: Some(7),
            found_by: Some("threads worker 1".into()),
            files_scanned: 4,
            elapsed_ns: 4_000,
            machine: Machine {
                host: "h".into(),
                cores: 2,
                ..Machine::default()
            },
            ..Meta::default()
        },
        hunt: vec![
            Event {
                dur: 4_000,
                ..Event::instant(Kind::Hunt, 0, 0)
            },
            // A fault of `hunt race --fault`: pid 4242, thread 4243, code 5.
            Event {
                kind: Kind::Fault,
                index: 4242,
                a: 4243,
                b: 5,
                ..span(Kind::Fault, 0, 1_500, 300, 0)
            },
            Event::instant(Kind::StopSignal, 0, 2_500),
        ],
        tracks: vec![
            Track {
                worker: "threads worker 0".into(),
                process: None,
                events: vec![
                    span(Kind::Task, 0, 100, 2_900, 0),
                    span(Kind::File, 0, 100, 1_000, 0),
                    span(Kind::File, 1, 1_100, 1_900, 0),
                    Event::instant(Kind::WorkerStop, 0, 3_000),
                ],
                dropped: 0,
            },
            Track {
                worker: "threads worker 1".into(),
                process: Some("worker 1 (pid 9)".into()),
                events: vec![
                    span(Kind::File, 6, 200, 1_800, 0),
                    span(Kind::File, 5, 300, 1_000, 1),
                    found,
                    Event::instant(Kind::Find, 7, 2_500),
                    Event::instant(Kind::WorkerStop, 0, 2_600),
                ],
                dropped: 3,
            },
        ],
    }
}

#[test]
fn a_written_trace_reads_back_the_same() {
    let t = timeline();
    let json = write(&t, &|i| format!("file_{i}.txt"));
    let v: Value = serde_json::from_str(&json).expect("valid JSON");
    let evs = v["traceEvents"].as_array().unwrap();
    let names: Vec<&str> = evs
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "hunt",
            "threads worker 0",
            "threads worker 1 · slot 0",
            "threads worker 1 · slot 1"
        ]
    );
    let f = evs.iter().find(|e| e["name"] == "file_7.txt").unwrap();
    assert_eq!(f["ph"], "X");
    assert_eq!(f["ts"].as_f64(), Some(2.0));
    assert_eq!(f["dur"].as_f64(), Some(0.5));
    assert_eq!(f["args"]["end"], "found");
    assert_eq!(v["otherData"]["data_set"]["dir"], "data \"set\"");
    let back = read(&json).unwrap();
    assert_eq!(back.meta, t.meta);
    assert_eq!(back.hunt, t.hunt);
    assert_eq!(back.tracks.len(), 2);
    for (a, b) in back.tracks.iter().zip(&t.tracks) {
        let mut want = b.clone();
        let mut tl = Timeline {
            tracks: vec![want.clone()],
            ..Timeline::default()
        };
        tl.tidy();
        want.events = tl.tracks.remove(0).events;
        assert_eq!(a, &want);
    }
    assert_eq!(back.stop_signal(), Some(2_500));
}

#[test]
fn times_are_microseconds_to_the_nanosecond() {
    for (ns, text) in [
        (0, "0.000"),
        (7, "0.007"),
        (42, "0.042"),
        (1_234_567, "1234.567"),
    ] {
        let mut s = String::new();
        push_us(&mut s, ns);
        assert_eq!(s, text);
    }
}

#[test]
fn other_files_are_refused() {
    assert!(read("[]").is_err());
    assert!(read("{\"traceEvents\":[]}").is_err());
    assert!(read("not json").is_err());
}
