//! Timelines of a hunt: what every worker did and when, written in the Chrome Trace
//! Event Format (`hunt search --trace FILE`, opened by Perfetto and `chrome://tracing`)
//! and drawn by the race's HTML report.
//!
//! # What is recorded
//! Each worker keeps its own [`Recorder`]: a span ([`Kind::File`]) for every file it
//! visited, from just before the open to just after it was tallied, with how the visit
//! ended ([`End`]) and the bytes read; a span for every task it took ([`Kind::Task`],
//! the task-queue strategies); an instant when it found the treasure ([`Kind::Find`]) and
//! when it stopped ([`Kind::WorkerStop`]). The hunt's own track holds the hunt as a span
//! and the instant the stop signal went out ([`Kind::StopSignal`]). A worker's events
//! end up, named, as a [`Track`] in its [`crate::scan::Tally`], so they travel the way
//! its counts travel and every strategy that adds tallies up gets them for free.
//!
//! # Where the hooks are
//! One shared place per way of reading: [`crate::scan::Scanner::visit`] (every strategy
//! that runs the worker loop: `sequential`, `threads`, `rayon`, `fork`, `queue`,
//! `spawn`'s workers and the broker workers), [`crate::tasks::consume`] (task spans),
//! and the two strategies that do their own I/O, `async` and `uring`.
//!
//! # Free when off
//! Tracing is asked for per hunt through [`crate::scan::Job::trace`]. When it is `None`
//! no recorder exists and the hot loop pays one branch on an `Option` per file: no
//! clock read, no allocation, no write. Where it is on, a file costs two reads of the
//! monotonic clock (vDSO, tens of nanoseconds) and one push onto a vector; docs/TRACING.md
//! gives the measured overhead.
//!
//! # Clocks
//! Every time is nanoseconds of `CLOCK_MONOTONIC` since the hunt's [`Clock`] epoch
//! (the moment the hunt started), so processes on one host agree: a `fork` child
//! inherits the clock, a `spawn` worker is sent its epoch in its request. A broker
//! worker records with a zero epoch (raw monotonic time) and sends its events with its
//! task reports; the coordinator places them (see
//! [`crate::strategy::coordinator`]: raw times when the worker runs on its host, else
//! shifted so the task starts when the coordinator saw it start).
//!
//! # Below the scanner
//! The recorder is a lower-level thing than the scanner: it stores spans and instants
//! and knows nothing of how a file is read. The scanner (and `async` and `uring`, which
//! read on their own) keep a recorder and say how each visit ended
//! ([`crate::scan::trace_end`]), so `scan` uses `trace` and never the other way round.
//!
//! # The fork child
//! A forked child may not allocate. [`Recorder::fixed`] makes a recorder with its room
//! taken before the fork that drops (and counts) events past it instead of growing;
//! the child copies its events into memory shared with the parent.

pub mod chrome;
mod remote;

use crate::sys::host::Machine;
/// A trace names the machine it was made on ([`Meta::machine`]).
pub use remote::{Placer, WireTrace};

/// Nanoseconds of `CLOCK_MONOTONIC`: the clock every trace is read from.
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// The clock of one traced hunt: times are nanoseconds since `epoch_ns`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Clock {
    /// `CLOCK_MONOTONIC` nanoseconds at the hunt's start (0: raw monotonic time).
    pub epoch_ns: u64,
}

impl Clock {
    /// A clock whose epoch is `start`.
    pub fn at(start: std::time::Instant) -> Clock {
        Clock {
            epoch_ns: now_ns().saturating_sub(start.elapsed().as_nanos() as u64),
        }
    }

    /// Nanoseconds since the epoch.
    #[inline]
    pub fn now(self) -> u64 {
        now_ns().saturating_sub(self.epoch_ns)
    }

    /// Where `instant` falls on this clock.
    pub fn of(self, instant: std::time::Instant) -> u64 {
        self.now()
            .saturating_sub(instant.elapsed().as_nanos() as u64)
    }
}

/// What an event is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// A span: one file visited (`index` the file, `a` its search position, `b` bytes).
    File = 0,
    /// A span: one task taken (`index` the task, `a..b` its search positions).
    Task = 1,
    /// An instant: this worker found the treasure in file `index`.
    Find = 2,
    /// An instant on the hunt's track: the stop signal went out.
    StopSignal = 3,
    /// An instant: this worker stopped (its loop ended).
    WorkerStop = 4,
    /// A span on the hunt's track: the hunt itself.
    Hunt = 5,
    /// A span on the hunt's track: a fault of `hunt race --fault` (`index` the
    /// worker's pid, `a` its thread id, `b` the fault's [`crate::fault::code`]), from
    /// the moment the worker met it to its end (killed, resumed, the broker back).
    Fault = 6,
}

impl Kind {
    /// Every kind, by its code.
    pub const ALL: [Kind; 7] = [
        Kind::File,
        Kind::Task,
        Kind::Find,
        Kind::StopSignal,
        Kind::WorkerStop,
        Kind::Hunt,
        Kind::Fault,
    ];

    /// The `cat` of its Chrome events.
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Task => "task",
            Kind::Find => "find",
            Kind::StopSignal => "stop signal",
            Kind::WorkerStop => "worker stop",
            Kind::Hunt => "hunt",
            Kind::Fault => "fault",
        }
    }

    /// Parses [`Kind::name`].
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind with code `code`.
    pub fn from_code(code: u64) -> Option<Kind> {
        Kind::ALL.get(usize::try_from(code).ok()?).copied()
    }

    /// True for the kinds drawn as spans.
    pub fn is_span(self) -> bool {
        matches!(self, Kind::File | Kind::Task | Kind::Hunt | Kind::Fault)
    }
}

/// How a span ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum End {
    /// Read to its end without the needle (a task: run to its end).
    #[default]
    Done = 0,
    /// The needle is in it.
    Found = 1,
    /// Cut short by the stop signal.
    Stopped = 2,
    /// It could not be read.
    Failed = 3,
}

impl End {
    /// Every end, by its code.
    pub const ALL: [End; 4] = [End::Done, End::Found, End::Stopped, End::Failed];

    /// Its name in the Chrome events' `args`.
    pub fn name(self) -> &'static str {
        match self {
            End::Done => "done",
            End::Found => "found",
            End::Stopped => "stopped",
            End::Failed => "failed",
        }
    }

    /// Parses [`End::name`].
    pub fn from_name(name: &str) -> Option<End> {
        End::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The end with code `code`.
    pub fn from_code(code: u64) -> Option<End> {
        End::ALL.get(usize::try_from(code).ok()?).copied()
    }
}

/// One event of a worker's timeline. Plain `Copy` data of a fixed size, so a forked
/// child can copy its events into shared memory.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Event {
    /// What it is.
    pub kind: Kind,
    /// How a span ended.
    pub end: End,
    /// The row within its worker's track it is drawn on: the ring slot of a `uring`
    /// worker, which has many files in flight at once; 0 for every other strategy.
    pub lane: u16,
    /// The file or the task.
    pub index: u64,
    /// Nanoseconds since the hunt's start.
    pub start: u64,
    /// Nanoseconds it lasted; 0 for an instant.
    pub dur: u64,
    /// A file's search position; a task's first search position.
    pub a: u64,
    /// A file's bytes read; one past a task's last search position.
    pub b: u64,
}

impl Event {
    /// An instant of `kind` at `at`.
    pub fn instant(kind: Kind, index: u64, at: u64) -> Event {
        Event {
            kind,
            end: End::Done,
            lane: 0,
            index,
            start: at,
            dur: 0,
            a: 0,
            b: 0,
        }
    }

    /// When it ended.
    pub fn stop(&self) -> u64 {
        self.start.saturating_add(self.dur)
    }

    /// The event as seven numbers, for the wire (pipes, broker reports), its start
    /// shifted back by `base`.
    pub fn to_wire(&self, base: u64) -> [u64; 7] {
        let code = u64::from(self.kind as u8) | u64::from(self.end as u8) << 8;
        let code = code | u64::from(self.lane) << 16;
        [
            code,
            self.index,
            self.start.saturating_sub(base),
            self.dur,
            self.a,
            self.b,
            0,
        ]
    }

    /// The inverse of [`Event::to_wire`], its start moved forward by `base`; `None` for
    /// numbers no event makes.
    pub fn from_wire(w: &[u64; 7], base: u64) -> Option<Event> {
        Some(Event {
            kind: Kind::from_code(w[0] & 0xff)?,
            end: End::from_code((w[0] >> 8) & 0xff)?,
            lane: u16::try_from(w[0] >> 16).ok()?,
            index: w[1],
            start: w[2].saturating_add(base),
            dur: w[3],
            a: w[4],
            b: w[5],
        })
    }
}

/// One worker's events as it records them.
#[derive(Clone, Debug)]
pub struct Recorder {
    clock: Clock,
    events: Vec<Event>,
    /// Never grows past the room it was made with (a forked child's).
    fixed: bool,
    /// Events dropped for want of room.
    dropped: u64,
}

impl Recorder {
    /// A recorder on `clock` with room for `room` events to start with; it grows.
    pub fn new(clock: Clock, room: usize) -> Recorder {
        Recorder {
            clock,
            events: Vec::with_capacity(room),
            fixed: false,
            dropped: 0,
        }
    }

    /// A recorder that never allocates after this call: events past `room` are dropped
    /// and counted. For a forked child, made before the fork.
    pub fn fixed(clock: Clock, room: usize) -> Recorder {
        Recorder {
            fixed: true,
            ..Recorder::new(clock, room)
        }
    }

    /// Now, on the hunt's clock.
    #[inline]
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// The clock it records on.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Records `e` (dropped and counted when a fixed recorder is full).
    #[inline]
    pub fn push(&mut self, e: Event) {
        if self.fixed && self.events.len() == self.events.capacity() {
            self.dropped += 1;
            return;
        }
        self.events.push(e);
    }

    /// Records the visit of file `index` at search position `pos`, begun at `start`,
    /// which read `bytes` and ended as `end` (the scanner's [`crate::scan::trace_end`]);
    /// a find adds its instant.
    pub fn file(&mut self, index: u64, pos: u64, start: u64, bytes: u64, end: End, lane: u16) {
        let now = self.now();
        self.push(Event {
            kind: Kind::File,
            end,
            lane,
            index,
            start,
            dur: now.saturating_sub(start),
            a: pos,
            b: bytes,
        });
        if end == End::Found {
            self.push(Event::instant(Kind::Find, index, now));
        }
    }

    /// Records the task `id` over search positions `range`, taken at `start`.
    pub fn task(&mut self, id: u64, range: &std::ops::Range<u64>, start: u64, end: End) {
        let now = self.now();
        self.push(Event {
            kind: Kind::Task,
            end,
            lane: 0,
            index: id,
            start,
            dur: now.saturating_sub(start),
            a: range.start,
            b: range.end,
        });
    }

    /// Records an instant of `kind` now.
    pub fn instant(&mut self, kind: Kind) {
        let now = self.now();
        self.push(Event::instant(kind, 0, now));
    }

    /// The events so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Events dropped for want of room.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Ends the recording: the worker's stop, now, then its events as an unnamed track.
    pub fn finish(self) -> Track {
        let now = self.now();
        self.finish_at(now)
    }

    /// Ends the recording of a worker that has no end of its own (a rayon pool thread
    /// just goes idle): its stop is the end of its last event.
    pub fn finish_idle(self) -> Track {
        let last = self.events.iter().map(Event::stop).max();
        let at = last.unwrap_or_else(|| self.now());
        self.finish_at(at)
    }

    fn finish_at(mut self, at: u64) -> Track {
        self.push(Event::instant(Kind::WorkerStop, 0, at));
        Track {
            worker: String::new(),
            process: None,
            events: self.events,
            dropped: self.dropped,
        }
    }
}

/// One worker's timeline, as it leaves the worker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Track {
    /// The worker: `threads worker 1`, `BROKER worker w1@host thread 0`; empty until
    /// whoever joins the workers names it.
    pub worker: String,
    /// The process it ran in, when not the hunt's own: `fork worker 1 (pid 4242)`,
    /// `w1@host` (a broker worker). Trace viewers group tracks by process.
    pub process: Option<String>,
    /// Its events, in the order recorded.
    pub events: Vec<Event>,
    /// Events its recorder dropped for want of room.
    pub dropped: u64,
}

impl Track {
    /// Gives the track its worker's name unless it has one.
    pub fn name(&mut self, worker: &str) {
        if self.worker.is_empty() {
            self.worker = worker.to_string();
        }
    }

    /// File spans in it.
    pub fn files(&self) -> usize {
        self.events.iter().filter(|e| e.kind == Kind::File).count()
    }

    /// When its last event ended.
    pub fn last(&self) -> Option<u64> {
        self.events.iter().map(Event::stop).max()
    }
}

/// What a trace says about the hunt it records: the strategy, the workers, the
/// reader, the data set, the answer and the machine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meta {
    /// The strategy.
    pub strategy: String,
    /// Workers it used.
    pub workers: usize,
    /// The reader.
    pub reader: String,
    /// The data set's folder.
    pub dir: String,
    /// Files in it.
    pub files: u64,
    /// Its rotation of the search order.
    pub rotate: u64,
    /// The needle.
    pub needle: String,
    /// The file found, by index.
    pub found: Option<u64>,
    /// Who found it.
    pub found_by: Option<String>,
    /// Files read.
    pub files_scanned: u64,
    /// The hunt's time, nanoseconds.
    pub elapsed_ns: u64,
    /// The command line.
    pub command: String,
    /// The program's version.
    pub hunt_version: String,
    /// Where it ran.
    pub machine: Machine,
}

/// A whole hunt's timeline: the hunt's own events and one track per worker.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// What was hunted, and where.
    pub meta: Meta,
    /// The hunt's own events: the hunt span, the stop signal, a fault.
    pub hunt: Vec<Event>,
    /// One per worker.
    pub tracks: Vec<Track>,
}

impl Timeline {
    /// Merges tracks of the same worker and process (a broker worker's tasks arrive as
    /// one track each) and orders each track's events by time.
    pub fn tidy(&mut self) {
        let mut merged: Vec<Track> = Vec::new();
        for t in std::mem::take(&mut self.tracks) {
            match merged
                .iter_mut()
                .find(|m| m.worker == t.worker && m.process == t.process)
            {
                Some(m) => {
                    m.events.extend(t.events);
                    m.dropped += t.dropped;
                }
                None => merged.push(t),
            }
        }
        for t in &mut merged {
            // A task starts with its first file: the longer span first, so it nests.
            t.events
                .sort_by_key(|e| (e.start, std::cmp::Reverse(e.stop()), e.kind as u8));
        }
        self.tracks = merged;
        self.hunt.sort_by_key(|e| e.start);
    }

    /// The end of the last event on any track.
    pub fn span_ns(&self) -> u64 {
        self.tracks
            .iter()
            .filter_map(Track::last)
            .chain(self.hunt.iter().map(Event::stop))
            .max()
            .unwrap_or(0)
            .max(self.meta.elapsed_ns)
    }

    /// The faults of `hunt race --fault` the hunt met.
    pub fn faults(&self) -> impl Iterator<Item = &Event> {
        self.hunt.iter().filter(|e| e.kind == Kind::Fault)
    }

    /// When the stop signal went out, if it did.
    pub fn stop_signal(&self) -> Option<u64> {
        self.hunt
            .iter()
            .find(|e| e.kind == Kind::StopSignal)
            .map(|e| e.start)
    }
}

#[cfg(test)]
mod tests;
