//! The task queue of one hunt on the broker, as one worker thread sees it: the
//! [`TaskQueue`] the one consumer loop ([`crate::tasks::consume`]) runs over.

use super::*;
use anyhow::bail;

/// The task queue of one hunt on the broker, as one worker thread sees it.
pub(super) struct HuntQueue<'a> {
    pub(super) conn: &'a mut dyn Broker,
    pub(super) shared: &'a Shared,
    pub(super) hunt: &'a Hunt,
    pub(super) slot: &'a Slot,
    pub(super) job: &'a Job<'a>,
    /// What the last report's call took next ([`Broker::finish_and_take`]), not yet
    /// handed to the consumer loop: a worker's one round trip per task.
    pub(super) next: Option<Take>,
}

impl TaskQueue for HuntQueue<'_> {
    fn put(&mut self, _tasks: &[tasks::Task]) -> Result<()> {
        bail!("a worker puts no tasks: the coordinator publishes them")
    }

    fn take(&mut self) -> Result<Option<Lease>> {
        let mut pause = Duration::from_millis(5);
        match self.next.take() {
            Some(Take::Task(lease)) => return self.taken_with_the_report(lease),
            Some(Take::Over) => return Ok(None),
            Some(Take::Wait) => {
                nap_or(pause, &self.hunt.stopped);
                pause *= 2;
            }
            None => {}
        }
        loop {
            if ending() {
                return Ok(None);
            }
            self.slot.stop.store(false, Ordering::SeqCst);
            if self.hunt.stopped.load(Ordering::SeqCst) {
                self.slot.stop.store(true, Ordering::SeqCst);
                return Ok(None);
            }
            match self.conn.take(&self.hunt.spec.id, &self.slot.me)? {
                Take::Task(lease) => return Ok(Some(self.hold(lease))),
                Take::Over => return Ok(None),
                Take::Wait => match self.conn.pace(&self.hunt.spec) {
                    // A polled broker: look again at the hunt's pace (`--poll`).
                    Some(pace) => nap_or(pace, &self.hunt.stopped),
                    None => {
                        nap_or(pause, &self.hunt.stopped);
                        pause = (pause * 2).min(Duration::from_millis(100));
                    }
                },
            }
        }
    }

    fn finish(&mut self, lease: &Lease, report: &TaskReport) -> Result<Finished> {
        {
            let mut held = self.slot.lease.lock().unwrap_or_else(|e| e.into_inner());
            if held.as_ref().is_some_and(|h| h.token == lease.token) {
                // Reported from now on: the next task, if this report takes one, is
                // held in its place.
                *held = None;
            }
        }
        self.report(lease, report)
    }

    fn fail(&mut self, lease: &Lease, why: &str) -> Result<()> {
        let r = self
            .conn
            .fail(&self.hunt.spec.id, &self.slot.me, lease, why);
        *self.slot.lease.lock().unwrap_or_else(|e| e.into_inner()) = None;
        r.map(drop)
    }

    fn stop(&mut self) -> Result<()> {
        self.conn.stop(&self.hunt.spec.id)
    }

    fn states(&mut self) -> Result<Vec<TaskRow>> {
        bail!("a worker does not read the task table: `hunt status` does")
    }
}

impl HuntQueue<'_> {
    /// The task this thread now holds: the helper renews its lease (and hands it back
    /// on Ctrl-C) from here on.
    fn hold(&mut self, lease: Lease) -> Lease {
        if self.shared.fail_first.swap(false, Ordering::SeqCst) {
            // The test hook: die holding the task, as `kill -9` would.
            crate::hooks::die();
        }
        *self.slot.lease.lock().unwrap_or_else(|e| e.into_inner()) = Some(lease.clone());
        lease
    }

    /// The task the last report's call took: run it, unless the worker or the hunt
    /// stopped since, when it goes back unfinished (not an attempt), as a task in hand
    /// does.
    fn taken_with_the_report(&mut self, lease: Lease) -> Result<Option<Lease>> {
        let stopped = self.hunt.stopped.load(Ordering::SeqCst);
        if ending() || stopped {
            self.slot.stop.store(stopped, Ordering::SeqCst);
            let held = self
                .slot
                .lease
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if held.is_some() {
                self.conn
                    .release(&self.hunt.spec.id, &self.slot.me, &lease)?;
            }
            return Ok(None);
        }
        self.slot.stop.store(false, Ordering::SeqCst);
        Ok(Some(self.hold(lease)))
    }

    /// Reports through `finish`, taking the next task in the same call while this
    /// thread would take one (not when stopping, nor once the hunt is stopped).
    fn finish_and_maybe_take(&mut self, lease: &Lease, done: &Done) -> Result<Finished> {
        let id = &self.hunt.spec.id;
        let me = &self.slot.me;
        if ending() || self.hunt.stopped.load(Ordering::SeqCst) {
            return self.conn.finish(id, me, lease, done);
        }
        let (finished, next) = self.conn.finish_and_take(id, me, lease, done)?;
        if let Take::Task(l) = &next {
            // Held from the moment the broker handed it out: renewed, and handed back
            // on Ctrl-C, before the consumer loop comes back for it.
            *self.slot.lease.lock().unwrap_or_else(|e| e.into_inner()) = Some(l.clone());
        }
        self.next = Some(next);
        Ok(finished)
    }

    fn report(&mut self, lease: &Lease, report: &TaskReport) -> Result<Finished> {
        let id = &self.hunt.spec.id;
        let me = &self.slot.me;
        if report.end == End::Stopped && !self.hunt.stopped.load(Ordering::SeqCst) {
            // Stopped, but not by the find (Ctrl-C, or the lease was taken over): what
            // it read is not the whole task, so the task goes back.
            self.conn.release(id, me, lease)?;
            return Ok(Finished::Retried);
        }
        let mut tally = WireTally::of(&report.tally);
        // Which take read these files: the coordinator counts a later take's files as
        // the work done again.
        tally.attempt = lease.attempt;
        if self.hunt.spec.trace {
            // The task's own span is its last event and starts before its files.
            let t0_ns = report.trace.last().map_or(0, |e| e.start);
            tally.trace = Some(crate::trace::WireTrace {
                host: self.shared.host.clone(),
                thread: me.consumer.clone(),
                t0_ns,
                events: report.trace.iter().map(|e| e.to_wire(t0_ns)).collect(),
            });
        }
        let why = match report.tally.errors.first() {
            None if tally.error_count() == 0 => String::new(),
            None => format!("{} file(s) could not be read", tally.error_count()),
            Some(e) => format!(
                "{} file(s) could not be read on {} (first: {}: {})",
                tally.error_count(),
                me.label(),
                self.job.files.path(e.index).display(),
                e.error
            ),
        };
        let done = Done {
            tally,
            found: report.tally.found.map(|f| f.index),
            cut_short: report.end == End::Stopped,
            why,
        };
        let r = self.finish_and_maybe_take(lease, &done)?;
        if matches!(r, Finished::Accepted | Finished::Answered) {
            let mut s = self.hunt.served.lock().unwrap_or_else(|e| e.into_inner());
            s.tasks += 1;
            s.tally.absorb(report.tally.clone());
            if r == Finished::Answered {
                s.found = done.found;
            }
        }
        if r == Finished::Answered {
            // This worker's other threads need not wait for the broker to tell them.
            self.hunt.stopped.store(true, Ordering::SeqCst);
            for slot in &self.shared.slots {
                if on_hunt(slot, id) {
                    slot.stop.store(true, Ordering::SeqCst);
                }
            }
        }
        Ok(r)
    }
}
