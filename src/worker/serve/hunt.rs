//! A hunt as one worker process serves it: learning it and checking its data set once
//! ([`prepare`]), then one thread's turn on its tasks ([`serve_hunt`]).

use super::queue::HuntQueue;
use super::*;
use crate::tasks::ConsumeError;

/// What this process knows of hunt `id`, learning it (and checking the data set, once)
/// on first sight. `None` when the hunt is gone.
pub(super) fn prepare(
    shared: &Shared,
    t: usize,
    conn: &mut dyn Broker,
    id: &str,
) -> Result<Option<Arc<Hunt>>> {
    if let Some(h) = known(shared, id) {
        return Ok(Some(h));
    }
    let spec = match conn.spec(id) {
        Ok(Some(spec)) => spec,
        Ok(None) => return Ok(None),
        Err(e) if e.chain().any(|c| c.is::<serde_json::Error>()) => {
            // A spec this build cannot read: refuse it, never panic on it.
            let why = format!("{e:#}");
            let me = shared.slots[t].me();
            conn.refuse(id, me, &why)?;
            (shared.settings.say)(&Note::Refused {
                hunt: id,
                why: &why,
            });
            let spec = HuntSpec {
                format: 0,
                id: id.to_string(),
                identity: Identity {
                    digest: String::new(),
                    summary: String::new(),
                },
                files: 0,
                needle_hex: String::new(),
                reader: crate::scan::Reader::Read,
                rotate: 0,
                batch: 1,
                lease_ms: 1000,
                max_attempts: 1,
                coordinator: String::new(),
                trace: false,
                options: broker::Options::new(),
            };
            return Ok(Some(remember(shared, spec, Err(why))));
        }
        Err(e) => return Err(e),
    };
    let ready = match conn.refuses(&spec) {
        Some(why) => Err(why),
        None => check(shared, &spec),
    };
    if let Err(why) = &ready {
        conn.refuse(id, shared.slots[t].me(), why)?;
        (shared.settings.say)(&Note::Refused { hunt: id, why });
    }
    Ok(Some(remember(shared, spec, ready)))
}

fn remember(
    shared: &Shared,
    spec: HuntSpec,
    ready: std::result::Result<Ready, String>,
) -> Arc<Hunt> {
    let mut hunts = shared.hunts.lock().unwrap_or_else(|e| e.into_inner());
    // Another thread may have learnt it meanwhile: keep the first.
    Arc::clone(hunts.entry(spec.id.clone()).or_insert_with(|| {
        Arc::new(Hunt {
            spec,
            ready,
            stopped: AtomicBool::new(false),
            over: AtomicBool::new(false),
            served: Mutex::new(Served::default()),
            on: AtomicUsize::new(0),
        })
    }))
}

/// Whether this worker can serve `spec`: the data set in its `--dir` must be the one
/// the hunt was published for.
fn check(shared: &Shared, spec: &HuntSpec) -> std::result::Result<Ready, String> {
    broker::check_spec(spec).map_err(|e| format!("{e:#}"))?;
    let dir = &shared.settings.dir;
    let loaded =
        fileset::load(dir, false).map_err(|e| format!("its folder cannot be searched: {e:#}"))?;
    let mine = loaded
        .files
        .identity()
        .map_err(|e| format!("its folder cannot be named: {e:#}"))?;
    if mine.digest != spec.identity.digest || loaded.files.len() != spec.files {
        return Err(format!(
            "its folder {} holds {} (identity {}), but the hunt is on {} (identity {}): give it a copy of that data set (`hunt generate` with the same flags and seed makes one)",
            dir.display(),
            mine.summary,
            mine.digest,
            spec.identity.summary,
            spec.identity.digest
        ));
    }
    let needle = crate::sys::hex::unhex(&spec.needle_hex).unwrap_or_default();
    Ok(Ready { loaded, needle })
}

pub(super) fn serve_hunt(
    shared: &Shared,
    t: usize,
    conn: &mut dyn Broker,
    hunt: &Arc<Hunt>,
) -> Result<()> {
    let Ok(ready) = &hunt.ready else {
        return Ok(());
    };
    let slot = &shared.slots[t];
    *slot.hunt.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(hunt));
    hunt.on.fetch_add(1, Ordering::SeqCst);
    let finder = Finder::new(&ready.needle);
    let job = Job {
        files: &ready.loaded.files,
        finder: &finder,
        reader: hunt.spec.reader,
        rotate: hunt.spec.rotate,
        trace: hunt
            .spec
            .trace
            .then_some(crate::trace::Clock { epoch_ns: 0 }),
    };
    let mut scanner = Scanner::new(&job);
    let mut queue = HuntQueue::new(conn, shared, hunt, slot, &job);
    let done = tasks::consume(&mut queue, &mut scanner, &slot.stop, false);
    // A lease still held here is one a failed call lost: it runs out, and another
    // worker takes its task over.
    for lane in 0..LANES {
        *slot.lease(lane) = None;
    }
    *slot.hunt.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let left = hunt.on.fetch_sub(1, Ordering::SeqCst) - 1;
    if let Some(ConsumeError::Queue(e)) = done.error {
        return Err(e);
    }
    let stopping = ending();
    if !stopping {
        hunt.over.store(true, Ordering::SeqCst);
    }
    // A worker stopped (SIGTERM) still says what it served of a hunt it took part in:
    // a worker that hears of a hunt's end late (a broker's stop news, sent to every
    // worker) may see the stop before the end.
    let took = hunt.served.lock().unwrap_or_else(|e| e.into_inner()).tasks > 0;
    if left == 0 && !shared.settings.quiet && (!stopping || took) {
        say_served(shared, hunt, &job);
    }
    Ok(())
}

fn say_served(shared: &Shared, hunt: &Hunt, job: &Job<'_>) {
    let s = hunt.served.lock().unwrap_or_else(|e| e.into_inner());
    let found = s.found.map(|i| job.files.path(i));
    (shared.settings.say)(&Note::Served {
        hunt: &hunt.spec.id,
        tasks: s.tasks,
        files: s.tally.files_scanned,
        bytes: s.tally.bytes_scanned,
        found: found.as_deref(),
    });
}
