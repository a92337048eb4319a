//! Unit tests of `src/trace/mod.rs`.

use super::*;

#[test]
fn events_round_trip_through_the_wire() {
    let e = Event {
        kind: Kind::File,
        end: End::Stopped,
        lane: 63,
        index: 9,
        start: 1_000,
        dur: 20,
        a: 3,
        b: 15_000,
    };
    assert_eq!(Event::from_wire(&e.to_wire(400), 400), Some(e));
    assert_eq!(Event::from_wire(&[99, 0, 0, 0, 0, 0, 0], 0), None);
    assert_eq!(Event::from_wire(&[9 << 8, 0, 0, 0, 0, 0, 0], 0), None);
}

#[test]
fn a_fixed_recorder_never_grows() {
    let mut r = Recorder::fixed(Clock { epoch_ns: 0 }, 2);
    let before = r.events().as_ptr();
    for i in 0..5 {
        r.push(Event::instant(Kind::Find, i, i));
    }
    assert_eq!(r.events().len(), 2);
    assert_eq!(r.dropped(), 3);
    assert_eq!(r.events().as_ptr(), before);
}

#[test]
fn a_visit_records_its_span_and_a_find() {
    let clock = Clock::at(std::time::Instant::now());
    let mut r = Recorder::new(clock, 0);
    let t0 = r.now();
    r.file(4, 1, t0, 100, End::Done, 0);
    r.file(5, 2, r.now(), 100, End::Found, 0);
    r.file(6, 3, r.now(), 0, End::Failed, 0);
    let track = r.finish();
    let kinds: Vec<Kind> = track.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::File,
            Kind::File,
            Kind::Find,
            Kind::File,
            Kind::WorkerStop
        ]
    );
    assert_eq!(track.files(), 3);
    assert_eq!(track.events[3].end, End::Failed);
    assert!(track.events.windows(2).all(|w| w[0].start <= w[1].start));
}

#[test]
fn tidy_merges_a_workers_tracks() {
    let part = |t: u64| Track {
        worker: "w".into(),
        process: Some("p".into()),
        events: vec![Event::instant(Kind::Find, 0, t)],
        dropped: 1,
    };
    let mut tl = Timeline {
        tracks: vec![part(5), part(2)],
        ..Timeline::default()
    };
    tl.tidy();
    assert_eq!(tl.tracks.len(), 1);
    assert_eq!(tl.tracks[0].dropped, 2);
    assert_eq!(tl.tracks[0].events[0].start, 2);
}
