//! The Chrome Trace Event Format: writing a [`Timeline`] as the JSON that Perfetto
//! (ui.perfetto.dev) and `chrome://tracing` open, and reading such a file back (the
//! race reads its traced runs this way; the tests check the files with it).
//!
//! # The file
//! One JSON object: `traceEvents` and `otherData` (the [`Meta`]: strategy, workers,
//! reader, data set, answer, machine, command).
//! - Process 1 is the hunt (`hunt search`, or the coordinator); its thread 0, `hunt`,
//!   holds the hunt as a span (`cat` `hunt`) and the stop signal as a process-wide
//!   instant (`cat` `stop signal`).
//! - Every worker is a thread track named after it (`thread_name`), under process 1
//!   when it is a thread of the hunt, under a process of its own otherwise (a `fork`
//!   or `spawn` worker, named with its pid; a broker worker, named `NAME@HOST`). A
//!   `uring` worker has many files in flight, and Chrome's spans on one thread must
//!   nest, so it gets one thread per ring slot (`uring worker 0 · slot 5`); the
//!   `thread_name`'s `args.worker` names the worker every such thread belongs to.
//! - A file visited is a complete event (`ph` `X`, `cat` `file`) named after the file,
//!   with `args` `index`, `position`, `bytes` and `end` (`done`, `found`, `stopped`,
//!   `failed`); a task taken is one with `cat` `task` and `args` `task`, `from`, `to`.
//! - The find and a worker's stop are thread instants (`ph` `i`, `cat` `find` or
//!   `worker stop`).
//! - A fault of `hunt race --fault` is a span on the hunt's thread (`cat` `fault`), with
//!   `args` `worker_pid`, `worker_tid` and `fault` (its [`crate::fault::code`]).
//!
//! Times (`ts`, `dur`) are microseconds since the hunt's start, to the nanosecond.

use super::{End, Event, Kind, Meta, Timeline, Track};
use crate::sys::host::Machine;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The version of this layout, in `otherData.trace_format`.
pub const FORMAT: u64 = 1;

/// The hunt's process.
const HUNT_PID: u64 = 1;

/// A JSON string literal.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Nanoseconds as microseconds with three decimals (`12.345`), appended without an
/// allocation.
fn push_us(out: &mut String, ns: u64) {
    let mut n = itoa::Buffer::new();
    out.push_str(n.format(ns / 1000));
    let frac = ns % 1000;
    out.push_str(match frac {
        0..=9 => ".00",
        10..=99 => ".0",
        _ => ".",
    });
    out.push_str(n.format(frac));
}

/// Writes `t` as Chrome trace JSON; `file_name(i)` names file `i` in the spans.
pub fn write(t: &Timeline, file_name: &dyn Fn(u64) -> String) -> String {
    let mut out =
        String::with_capacity(256 + 160 * t.tracks.iter().map(|t| t.events.len()).sum::<usize>());
    out.push_str("{\"traceEvents\":[\n");
    hunt_track(&mut out, t, file_name);
    // Processes other than the hunt's, numbered in order of appearance.
    let mut pids: Vec<&str> = Vec::new();
    let mut next_tid = 1u64;
    for track in &t.tracks {
        let pid = process_of(&mut out, &mut pids, track);
        next_tid = worker_threads(&mut out, track, pid, next_tid, file_name);
    }
    out.push_str("\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":");
    out.push_str(&other_data(&t.meta).to_string());
    out.push_str("}\n");
    out
}

/// One more line of the event list.
fn emit(out: &mut String, line: String) {
    sep(out);
    out.push_str(&line);
}

/// The hunt's own process and thread, named after the command, and its events.
fn hunt_track(out: &mut String, t: &Timeline, file_name: &dyn Fn(u64) -> String) {
    let m = &t.meta;
    let title = format!(
        "hunt search --strategy {} --workers {}",
        m.strategy, m.workers
    );
    emit(
        out,
        meta_event(
            "process_name",
            HUNT_PID,
            0,
            &format!("{{\"name\":{}}}", q(&title)),
        ),
    );
    emit(
        out,
        meta_event("process_sort_index", HUNT_PID, 0, "{\"sort_index\":0}"),
    );
    emit(
        out,
        meta_event(
            "thread_name",
            HUNT_PID,
            0,
            "{\"name\":\"hunt\",\"worker\":\"hunt\",\"lane\":0}",
        ),
    );
    for e in &t.hunt {
        sep(out);
        event(out, e, HUNT_PID, 0, file_name);
    }
}

/// The pid `track` is drawn under: the hunt's, or its own process's, named the first
/// time it appears (`pids` holds those seen so far).
fn process_of<'t>(out: &mut String, pids: &mut Vec<&'t str>, track: &'t Track) -> u64 {
    let Some(p) = &track.process else {
        return HUNT_PID;
    };
    if let Some(i) = pids.iter().position(|x| x == p) {
        return HUNT_PID + 1 + i as u64;
    }
    pids.push(p);
    let pid = HUNT_PID + pids.len() as u64;
    emit(
        out,
        meta_event("process_name", pid, 0, &format!("{{\"name\":{}}}", q(p))),
    );
    emit(
        out,
        meta_event(
            "process_sort_index",
            pid,
            0,
            &format!("{{\"sort_index\":{pid}}}"),
        ),
    );
    pid
}

/// A worker's threads, one per lane it used, numbered from `base`, then its events;
/// returns the next free thread number.
fn worker_threads(
    out: &mut String,
    track: &Track,
    pid: u64,
    base: u64,
    file_name: &dyn Fn(u64) -> String,
) -> u64 {
    let mut lanes: Vec<u16> = track.events.iter().map(|e| e.lane).collect();
    lanes.sort_unstable();
    lanes.dedup();
    if lanes.is_empty() {
        lanes.push(0);
    }
    for (k, &lane) in lanes.iter().enumerate() {
        let tid = base + k as u64;
        let name = if lanes.len() > 1 {
            format!("{} · slot {lane}", track.worker)
        } else {
            track.worker.clone()
        };
        emit(
            out,
            meta_event(
                "thread_name",
                pid,
                tid,
                &format!(
                    "{{\"name\":{},\"worker\":{},\"lane\":{lane},\"dropped\":{}}}",
                    q(&name),
                    q(&track.worker),
                    // Counted once per worker, on its first thread.
                    if k == 0 { track.dropped } else { 0 }
                ),
            ),
        );
        emit(
            out,
            meta_event(
                "thread_sort_index",
                pid,
                tid,
                &format!("{{\"sort_index\":{tid}}}"),
            ),
        );
    }
    for e in &track.events {
        let k = lanes.iter().position(|&l| l == e.lane).unwrap_or(0);
        sep(out);
        event(out, e, pid, base + k as u64, file_name);
    }
    base + lanes.len() as u64
}

/// The comma between two events (none before the first).
fn sep(out: &mut String) {
    if !out.ends_with("[\n") {
        out.push_str(",\n");
    }
}

fn meta_event(name: &str, pid: u64, tid: u64, args: &str) -> String {
    format!("{{\"ph\":\"M\",\"name\":\"{name}\",\"pid\":{pid},\"tid\":{tid},\"args\":{args}}}")
}

/// Appends one event to `out`: written straight into the buffer, with `itoa` for the
/// numbers, since a trace holds one event per file (this is most of its writing time).
fn event(out: &mut String, e: &Event, pid: u64, tid: u64, file_name: &dyn Fn(u64) -> String) {
    let mut n = itoa::Buffer::new();
    let instant = !e.kind.is_span();
    out.push_str(if instant {
        "{\"ph\":\"i\",\"cat\":\""
    } else {
        "{\"ph\":\"X\",\"cat\":\""
    });
    out.push_str(e.kind.name());
    out.push_str("\",\"name\":");
    match e.kind {
        Kind::File => quote(out, &file_name(e.index)),
        Kind::Task => {
            out.push_str("\"task ");
            out.push_str(n.format(e.index));
            out.push('"');
        }
        Kind::Find => out.push_str("\"find\""),
        kind => {
            out.push('"');
            out.push_str(kind.name());
            out.push('"');
        }
    }
    out.push_str(",\"pid\":");
    out.push_str(n.format(pid));
    out.push_str(",\"tid\":");
    out.push_str(n.format(tid));
    out.push_str(",\"ts\":");
    push_us(out, e.start);
    if instant {
        // The stop signal reaches every worker: a process-wide instant.
        out.push_str(if e.kind == Kind::StopSignal {
            ",\"s\":\"p\""
        } else {
            ",\"s\":\"t\""
        });
    } else {
        out.push_str(",\"dur\":");
        push_us(out, e.dur);
    }
    let fields: &[(&str, u64)] = match e.kind {
        Kind::File => &[("index", e.index), ("position", e.a), ("bytes", e.b)],
        Kind::Task => &[("task", e.index), ("from", e.a), ("to", e.b)],
        Kind::Find => &[("index", e.index)],
        Kind::Fault => &[("worker_pid", e.index), ("worker_tid", e.a), ("fault", e.b)],
        _ => &[],
    };
    out.push_str(",\"args\":{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(k);
        out.push_str("\":");
        out.push_str(n.format(*v));
    }
    if matches!(e.kind, Kind::File | Kind::Task) {
        out.push_str(",\"end\":\"");
        out.push_str(e.end.name());
        out.push('"');
    }
    out.push_str("}}");
}

/// Appends `s` as a JSON string literal; names without quotes, backslashes or control
/// characters (every generated file's) go as they are.
fn quote(out: &mut String, s: &str) {
    if s.chars().all(|c| c != '"' && c != '\\' && !c.is_control()) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&q(s));
    }
}

fn other_data(m: &Meta) -> Value {
    serde_json::json!({
        "trace_format": FORMAT,
        "hunt_version": m.hunt_version,
        "command": m.command,
        "strategy": m.strategy,
        "workers": m.workers,
        "reader": m.reader,
        "data_set": { "dir": m.dir, "files": m.files, "rotate": m.rotate, "needle": m.needle },
        "found": m.found,
        "found_by": m.found_by,
        "files_scanned": m.files_scanned,
        "elapsed_ns": m.elapsed_ns,
        "machine": {
            "host": m.machine.host,
            "cores": m.machine.cores,
            "cpu": m.machine.cpu,
            "kernel": m.machine.kernel,
            "memory_bytes": m.machine.memory_bytes,
        },
    })
}

/// One event as read back: only the fields this layout writes, strings borrowed from
/// the text where they need no unescaping (a race reads a trace per contender, and a
/// tree of `serde_json::Value`s would take ten times the file's size).
#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    ph: Cow<'a, str>,
    #[serde(borrow, default)]
    cat: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    pid: u64,
    #[serde(default)]
    tid: u64,
    #[serde(default)]
    ts: f64,
    #[serde(default)]
    dur: f64,
    #[serde(borrow, default)]
    args: Args<'a>,
}

#[derive(Deserialize, Default)]
struct Args<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    worker: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    end: Option<Cow<'a, str>>,
    lane: Option<u64>,
    dropped: Option<u64>,
    index: Option<u64>,
    position: Option<u64>,
    bytes: Option<u64>,
    task: Option<u64>,
    from: Option<u64>,
    to: Option<u64>,
    worker_pid: Option<u64>,
    worker_tid: Option<u64>,
    fault: Option<u64>,
}

#[derive(Deserialize)]
struct RawFile<'a> {
    #[serde(borrow, rename = "traceEvents")]
    events: Vec<Raw<'a>>,
    #[serde(rename = "otherData", default)]
    other: Value,
}

/// Reads a trace this module wrote back into a [`Timeline`] (its tracks in the order
/// of their threads). Events it does not know are skipped; a file that is not a trace
/// of this layout is an error.
pub fn read(text: &str) -> Result<Timeline> {
    let file: RawFile<'_> =
        serde_json::from_str(text).context("the trace is not JSON with a traceEvents list")?;
    if file.other["trace_format"].as_u64() != Some(FORMAT) {
        bail!("the trace is not of hunt's trace format {FORMAT}");
    }
    let mut timeline = Timeline {
        meta: read_meta(&file.other),
        ..Timeline::default()
    };
    let of_thread = read_tracks(&file.events, &mut timeline);
    for e in &file.events {
        let key = (e.pid, e.tid);
        let (track, lane) = match of_thread.get(&key) {
            Some(&(t, l)) => (Some(t), l),
            None => (None, 0),
        };
        let Some(ev) = read_event(e, lane) else {
            continue;
        };
        if key == (HUNT_PID, 0) {
            timeline.hunt.push(ev);
        } else if let Some(t) = track {
            timeline.tracks[t].events.push(ev);
        }
    }
    timeline.tidy();
    Ok(timeline)
}

/// The hunt's facts, from the trace's `otherData`.
fn read_meta(o: &Value) -> Meta {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Meta {
        strategy: s(&o["strategy"]),
        workers: n(&o["workers"]) as usize,
        reader: s(&o["reader"]),
        dir: s(&o["data_set"]["dir"]),
        files: n(&o["data_set"]["files"]),
        rotate: n(&o["data_set"]["rotate"]),
        needle: s(&o["data_set"]["needle"]),
        found: o["found"].as_u64(),
        found_by: o["found_by"].as_str().map(String::from),
        files_scanned: n(&o["files_scanned"]),
        elapsed_ns: n(&o["elapsed_ns"]),
        command: s(&o["command"]),
        hunt_version: s(&o["hunt_version"]),
        machine: Machine {
            host: s(&o["machine"]["host"]),
            cores: n(&o["machine"]["cores"]) as usize,
            cpu: s(&o["machine"]["cpu"]),
            kernel: s(&o["machine"]["kernel"]),
            memory_bytes: n(&o["machine"]["memory_bytes"]),
        },
    }
}

/// The workers' tracks, from the processes' and threads' names: one track per
/// (process, worker), in thread order. Returns each thread's track and lane.
fn read_tracks(events: &[Raw<'_>], timeline: &mut Timeline) -> BTreeMap<(u64, u64), (usize, u16)> {
    let mut processes: BTreeMap<u64, String> = BTreeMap::new();
    // (pid, tid) -> (worker, lane, dropped)
    let mut threads: BTreeMap<(u64, u64), (String, u16, u64)> = BTreeMap::new();
    for e in events.iter().filter(|e| e.ph == "M") {
        let a = &e.args;
        let text = |v: &Option<Cow<'_, str>>| v.as_deref().unwrap_or_default().to_string();
        match e.name.as_deref() {
            Some("process_name") => {
                processes.insert(e.pid, text(&a.name));
            }
            Some("thread_name") => {
                let worker = a
                    .worker
                    .as_ref()
                    .map_or_else(|| text(&a.name), |w| w.to_string());
                let lane = u16::try_from(a.lane.unwrap_or(0)).unwrap_or(0);
                threads.insert((e.pid, e.tid), (worker, lane, a.dropped.unwrap_or(0)));
            }
            _ => {}
        }
    }
    let mut index: BTreeMap<(u64, String), usize> = BTreeMap::new();
    let mut of_thread: BTreeMap<(u64, u64), (usize, u16)> = BTreeMap::new();
    for (&(pid, tid), (worker, lane, dropped)) in &threads {
        if (pid, tid) == (HUNT_PID, 0) {
            continue;
        }
        let key = (pid, worker.clone());
        let i = match index.get(&key) {
            Some(&i) => {
                timeline.tracks[i].dropped += dropped;
                i
            }
            None => {
                index.insert(key, timeline.tracks.len());
                timeline.tracks.push(Track {
                    worker: worker.clone(),
                    process: (pid != HUNT_PID)
                        .then(|| processes.get(&pid).cloned().unwrap_or_default()),
                    events: Vec::new(),
                    dropped: *dropped,
                });
                timeline.tracks.len() - 1
            }
        };
        of_thread.insert((pid, tid), (i, *lane));
    }
    of_thread
}

/// A span (`X`) or an instant (`i`) of a kind this layout writes, on lane `lane`;
/// `None` for anything else.
fn read_event(e: &Raw<'_>, lane: u16) -> Option<Event> {
    let span = match e.ph.as_ref() {
        "X" => true,
        "i" => false,
        _ => return None,
    };
    let kind = e.cat.as_deref().and_then(Kind::from_name)?;
    let ns = |us: f64| (us * 1000.0).round().max(0.0) as u64;
    let a = &e.args;
    let n = |v: Option<u64>| v.unwrap_or(0);
    let (index, x, y) = match kind {
        Kind::File => (n(a.index), n(a.position), n(a.bytes)),
        Kind::Task => (n(a.task), n(a.from), n(a.to)),
        Kind::Fault => (n(a.worker_pid), n(a.worker_tid), n(a.fault)),
        _ => (n(a.index), 0, 0),
    };
    Some(Event {
        kind,
        end: a
            .end
            .as_deref()
            .and_then(End::from_name)
            .unwrap_or_default(),
        lane,
        index,
        start: ns(e.ts),
        dur: if span { ns(e.dur) } else { 0 },
        a: x,
        b: y,
    })
}

#[cfg(test)]
mod tests;
