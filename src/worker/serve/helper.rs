//! The helper thread of a worker process: renews its threads' leases, says the worker
//! is alive, hears stop signals, and hands every task back on Ctrl-C.

use super::*;

/// Renews leases, says the worker is alive, and hears stop signals, until every worker
/// thread has ended.
pub(super) fn helper_main(shared: &Shared) {
    let mut conn: Option<Box<dyn Broker>> = None;
    let mut backoff = Duration::from_millis(100);
    let mut renewed = Instant::now();
    let mut beat: Option<Instant> = None;
    while shared.running.load(Ordering::SeqCst) > 0 {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => {
                if crate::interrupt::requested() {
                    break;
                }
                match broker::connect(&shared.settings.url) {
                    Ok(c) => conn.insert(c),
                    Err(_) => {
                        nap(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                        continue;
                    }
                }
            }
        };
        if let Err(_e) = helper_round(shared, c.as_mut(), &mut renewed, &mut beat) {
            conn = None;
        }
    }
    // Ctrl-C: hand back what the threads still hold, so no one waits for a lease.
    if crate::interrupt::requested() {
        if let Some(c) = conn.as_mut().or(None) {
            release_all(shared, c.as_mut());
        } else if let Ok(mut c) = broker::connect(&shared.settings.url) {
            release_all(shared, c.as_mut());
        }
    }
}

fn release_all(shared: &Shared, conn: &mut dyn Broker) {
    for slot in &shared.slots {
        let hunt = slot.hunt.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (i, lane) in slot.lanes.iter().enumerate() {
            let lease = slot.lease(i).clone();
            if let (Some(lease), Some(hunt)) = (lease, &hunt) {
                let _ = conn.release(&hunt.spec.id, &lane.me, &lease);
            }
        }
    }
}

fn helper_round(
    shared: &Shared,
    conn: &mut dyn Broker,
    renewed: &mut Instant,
    beat: &mut Option<Instant>,
) -> Result<()> {
    if beat.is_none_or(|b| b.elapsed() >= Duration::from_secs(1)) {
        conn.heartbeat(&WorkerInfo {
            name: shared.settings.name.clone(),
            host: shared.host.clone(),
            pid: std::process::id(),
            threads: shared.settings.threads,
            dir: shared.settings.dir.display().to_string(),
            last_seen_ms: 0,
        })?;
        *beat = Some(Instant::now());
    }
    let serving: Vec<Arc<Hunt>> = {
        let mut v: Vec<Arc<Hunt>> = Vec::new();
        for slot in &shared.slots {
            if let Some(h) = slot.hunt.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                if !v.iter().any(|o| o.spec.id == h.spec.id) {
                    v.push(Arc::clone(h));
                }
            }
        }
        v
    };
    let lease = serving
        .iter()
        .map(|h| Duration::from_millis(h.spec.lease_ms))
        .min()
        .unwrap_or(Duration::from_secs(1));
    let wait = (lease / 4).clamp(Duration::from_millis(10), Duration::from_millis(200));
    let ids: Vec<String> = serving.iter().map(|h| h.spec.id.clone()).collect();
    if ids.is_empty() {
        // Idle: a good time to ask whether every connection of this process still
        // reaches the broker (a queue file replaced under them goes on working). It is
        // said once, here, and every thread connects again.
        if let Some(why) = conn.moved() {
            let e = anyhow::anyhow!(why);
            outage(shared, &e);
            shared.moved.fetch_add(1, Ordering::SeqCst);
            return Err(e);
        }
        nap(wait);
    } else {
        for id in conn.stopped(&ids, wait)? {
            if let Some(h) = serving.iter().find(|h| h.spec.id == id) {
                h.stopped.store(true, Ordering::SeqCst);
            }
            for slot in &shared.slots {
                if on_hunt(slot, &id) {
                    slot.stop.store(true, Ordering::SeqCst);
                }
            }
        }
    }
    if renewed.elapsed() >= lease / 3 {
        for slot in &shared.slots {
            let hunt = slot.hunt.lock().unwrap_or_else(|e| e.into_inner()).clone();
            for (i, lane) in slot.lanes.iter().enumerate() {
                let lease = slot.lease(i).clone();
                let (Some(lease), Some(hunt)) = (lease, &hunt) else {
                    continue;
                };
                if !conn.renew(&hunt.spec.id, &lane.me, &lease)? {
                    // Taken over (this worker was paused or cut off): stop reading it,
                    // if the thread is still on that lease; a lane's task not yet
                    // begun is dropped (its queue finds the lease gone, and skips it).
                    let mut held = slot.lease(i);
                    if held.as_ref().is_some_and(|l| l.token == lease.token) {
                        if slot.running.load(Ordering::SeqCst) == i {
                            slot.stop.store(true, Ordering::SeqCst);
                        } else {
                            *held = None;
                        }
                    }
                }
            }
        }
        *renewed = Instant::now();
    }
    Ok(())
}
