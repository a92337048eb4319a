//! Broker workers' events, on their way to the coordinator's trace.
//!
//! A broker worker may run on another host, whose monotonic clock has nothing to do
//! with the coordinator's. So a worker records on its raw `CLOCK_MONOTONIC` and sends
//! each task's events with the task's report, as a [`WireTrace`]: its host, its thread,
//! the task's start `t0_ns` on its clock, and the events relative to it. The
//! coordinator's [`Placer`] puts them on the hunt's clock:
//!
//! - a worker on the coordinator's own host (the default: the coordinator starts its
//!   workers) shares its clock, so its times are used as they are, provided the task
//!   falls inside the hunt as the coordinator saw it (from the hunt's start to the
//!   moment the report was read);
//! - any other worker's task is shifted so that it starts when the coordinator read
//!   its `started` event, or, when that event came in the same read as the report,
//!   so that it ends when the report was read. The offsets within a task are the
//!   worker's own and exact; the task's place is off by the broker's latency (a
//!   round trip, well under a millisecond on a LAN), always late, never early.
//!
//! A broker worker's stop is the end of its last task: it sends nothing after that.

use super::{Clock, Event, Kind, Timeline, Track};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A task's events as a broker worker sends them, inside its report's counts: `events`
/// are [`Event::to_wire`] arrays whose starts are nanoseconds after `t0_ns`, the task's
/// start on the worker's `CLOCK_MONOTONIC`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireTrace {
    /// The worker's host.
    pub host: String,
    /// The worker thread's consumer name (`NAME/THREAD`).
    pub thread: String,
    /// The task's start, nanoseconds of the worker's monotonic clock.
    pub t0_ns: u64,
    /// The events.
    pub events: Vec<[u64; 7]>,
}

/// Places broker workers' events on the coordinator's clock (see the module docs).
#[derive(Debug)]
pub struct Placer {
    clock: Clock,
    host: String,
    strategy: String,
    /// When the coordinator read each task's `started` event, on its clock.
    started: HashMap<u64, u64>,
    tracks: Vec<Track>,
}

impl Placer {
    /// A placer for the hunt on `clock`, whose coordinator runs on `host`.
    pub fn new(clock: Clock, host: &str, strategy: &str) -> Placer {
        Placer {
            clock,
            host: host.to_string(),
            strategy: strategy.to_string(),
            started: HashMap::new(),
            tracks: Vec::new(),
        }
    }

    /// The coordinator read that `task` was taken.
    pub fn started(&mut self, task: u64) {
        let now = self.clock.now();
        self.started.insert(task, now);
    }

    /// The coordinator read the report of `task` by `worker` (`NAME@HOST`).
    pub fn report(&mut self, task: u64, worker: &str, wire: &WireTrace) {
        let read_at = self.clock.now();
        let events: Vec<Event> = wire
            .events
            .iter()
            .filter_map(|w| Event::from_wire(w, 0))
            .collect();
        let Some(length) = events.iter().map(Event::stop).max() else {
            return;
        };
        let own_clock = wire.host == self.host
            && wire.t0_ns >= self.clock.epoch_ns
            && wire.t0_ns.saturating_add(length) <= self.clock.epoch_ns.saturating_add(read_at);
        let t0 = if own_clock {
            wire.t0_ns - self.clock.epoch_ns
        } else {
            match self.started.get(&task) {
                Some(&s) if s.saturating_add(length) <= read_at => s,
                _ => read_at.saturating_sub(length),
            }
        };
        let thread = wire
            .thread
            .rsplit_once('/')
            .map_or(wire.thread.as_str(), |(_, t)| t);
        self.tracks.push(Track {
            worker: format!("{} worker {worker} thread {thread}", self.strategy),
            process: Some(worker.to_string()),
            events: events
                .into_iter()
                .map(|mut e| {
                    e.start = e.start.saturating_add(t0);
                    e
                })
                .collect(),
            dropped: 0,
        });
    }

    /// One track per worker thread, each ended by its stop at the end of its last task.
    pub fn tracks(self) -> Vec<Track> {
        let mut t = Timeline {
            tracks: self.tracks,
            ..Timeline::default()
        };
        t.tidy();
        for track in &mut t.tracks {
            if let Some(last) = track.last() {
                track.events.push(Event::instant(Kind::WorkerStop, 0, last));
            }
        }
        t.tracks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(host: &str, t0_ns: u64) -> WireTrace {
        let task = Event {
            kind: Kind::Task,
            end: super::super::End::Done,
            lane: 0,
            index: 3,
            start: t0_ns,
            dur: 1_000,
            a: 0,
            b: 4,
        };
        WireTrace {
            host: host.into(),
            thread: "w1/2".into(),
            t0_ns,
            events: vec![task.to_wire(t0_ns)],
        }
    }

    #[test]
    fn own_host_times_are_kept_and_foreign_ones_placed_at_the_read() {
        let clock = Clock {
            epoch_ns: super::super::now_ns() - 1_000_000,
        };
        let mut p = Placer::new(clock, "here", "broker");
        // Same host, inside the hunt: kept as recorded (500 us after the epoch).
        p.report(3, "w1@here", &wire("here", clock.epoch_ns + 500_000));
        // Another host, a clock far off: placed to end when the report was read.
        p.report(4, "w2@there", &wire("there", 42));
        // Another host whose start the coordinator saw: placed there.
        p.started(5);
        std::thread::sleep(std::time::Duration::from_millis(2));
        p.report(5, "w3@there", &wire("there", 42));
        let tracks = p.tracks();
        assert_eq!(tracks.len(), 3);
        assert_eq!(tracks[0].worker, "broker worker w1@here thread 2");
        assert_eq!(tracks[0].process.as_deref(), Some("w1@here"));
        assert_eq!(tracks[0].events[0].start, 500_000);
        assert!(tracks[1].events[0].start > 900_000, "{:?}", tracks[1]);
        let s5 = tracks[2].events[0].start;
        assert!((1_000_000..1_000_000 + 2_000_000).contains(&s5), "{s5}");
        // Each ends with its worker's stop, at the end of its last task.
        for t in &tracks {
            let stop = t.events.last().unwrap();
            assert_eq!(stop.kind, Kind::WorkerStop);
            assert_eq!(stop.start, t.events[0].stop());
        }
    }
}
