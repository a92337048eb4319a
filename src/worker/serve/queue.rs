//! The task queue of one hunt on the broker, as one worker thread sees it: the
//! [`TaskQueue`] the one consumer loop ([`crate::tasks::consume`]) runs over.
//!
//! # Lanes: one task run while the broker reports another
//! A thread holds up to [`LANES`] tasks, each in a lane of its own (a consumer of its
//! own on the broker, holding one lease). In steady state on a broker that pipelines
//! its calls ([`Broker::send_finish_and_take`]), the thread sends one lane's
//! report together with that lane's next take, does not wait for the reply, and runs
//! the other lane's task meanwhile; then it reads the reply, which is that lane's next
//! task. The broker's work on one task overlaps the thread's on another, and the server
//! always has the next call queued. A broker that cannot pipeline uses one lane, one
//! call a task, waited for ([`Broker::finish_and_take`]).
//!
//! The rules stay each lane's: a lane's task is held under its own lease (renewed by
//! the helper, handed back on Ctrl-C), so a killed worker loses each lane's task to
//! another worker after the lease, as before, and a paused one has both fenced off.
//! Only a plain report is sent ahead: a find, a failed attempt or a task cut short is
//! reported and waited for, so the answer stops this worker's other threads at once.
//! A call sent ahead takes its lane's next task under a lease the helper learns of only
//! when the thread reads the reply, about one task's run later. So a thread sends ahead
//! only while its tasks run quickly against the lease (the last one in under an
//! [`AHEAD_SHARE`]th of it): there the round trip is what a task costs, and the lease
//! has most of its time left when the helper takes it over. A slower task is reported
//! and waited for, as on a broker that cannot pipeline, and its thread holds one task.
//!
//! What this costs: a thread holds a second task while it runs one (Celery's
//! `worker_prefetch_multiplier` holds four), so near a hunt's end another thread may
//! wait for a task this one holds. Lanes stop being refilled once a take finds
//! nothing to take.

use super::*;
use anyhow::bail;
use std::collections::VecDeque;

/// A thread sends a call ahead only while its last task ran in under this share of the
/// lease (an eighth: the lease a call sent ahead takes has seven eighths left when the
/// helper starts renewing it).
const AHEAD_SHARE: u32 = 8;

/// The task queue of one hunt on the broker, as one worker thread sees it.
pub(super) struct HuntQueue<'a> {
    pub(super) conn: &'a mut dyn Broker,
    pub(super) shared: &'a Shared,
    pub(super) hunt: &'a Hunt,
    pub(super) slot: &'a Slot,
    pub(super) job: &'a Job<'a>,
    /// Each lane's state.
    lanes: [Held; LANES],
    /// The lanes whose call is on the wire, oldest first: their replies come in this
    /// order.
    sent: VecDeque<usize>,
    /// A take found nothing to take (the hunt is ending): no lane is filled ahead any
    /// more, and a lane left empty takes again only when every lane is.
    dry: bool,
    /// A take found the hunt over.
    over: bool,
    /// The last take found nothing now: the next take waits a little first.
    waited: bool,
    /// When the consumer loop began the task it runs now.
    began: Instant,
    /// The last task ran quickly against the lease ([`AHEAD_SHARE`]): calls may be
    /// sent ahead. False until one has.
    quick: bool,
}

/// What one lane holds.
enum Held {
    /// Nothing.
    Empty,
    /// A call on the wire; what a report sent with it counts, once its reply says it
    /// counts.
    Sent(Option<Credit>),
    /// A task taken, not yet begun.
    Ready(Lease),
    /// The task the consumer loop runs now.
    Running(Lease),
}

/// A report's counts, credited to this worker once the broker accepts it.
struct Credit {
    tally: crate::scan::Tally,
    found: Option<u64>,
}

impl<'a> HuntQueue<'a> {
    pub(super) fn new(
        conn: &'a mut dyn Broker,
        shared: &'a Shared,
        hunt: &'a Hunt,
        slot: &'a Slot,
        job: &'a Job<'a>,
    ) -> HuntQueue<'a> {
        HuntQueue {
            conn,
            shared,
            hunt,
            slot,
            job,
            lanes: std::array::from_fn(|_| Held::Empty),
            sent: VecDeque::new(),
            dry: false,
            over: false,
            waited: false,
            began: Instant::now(),
            quick: false,
        }
    }
}

impl TaskQueue for HuntQueue<'_> {
    fn put(&mut self, _tasks: &[tasks::Task]) -> Result<()> {
        bail!("a worker puts no tasks: the coordinator publishes them")
    }

    fn take(&mut self) -> Result<Option<Lease>> {
        let mut pause = Duration::from_millis(5);
        loop {
            let stopped = self.hunt.stopped.load(Ordering::SeqCst);
            if ending() || stopped {
                // Nothing more is run: every reply is read, and what the lanes took
                // goes back unfinished (not an attempt), as a task in hand does.
                self.slot.stop.store(stopped, Ordering::SeqCst);
                self.receive_all()?;
                self.release_ready()?;
                return Ok(None);
            }
            self.slot.stop.store(false, Ordering::SeqCst);
            if self.over {
                // A take found the hunt over (stopped, finished or gone) though another
                // lane holds a task: it can only be stopped or gone, so that task goes
                // back rather than be run before the stop news comes.
                self.receive_all()?;
                self.release_ready()?;
                return Ok(None);
            }
            if let Some(lease) = self.next_ready() {
                self.fill_ahead()?;
                self.began = Instant::now();
                return Ok(Some(lease));
            }
            if let Some(lane) = self.sent.pop_front() {
                let (finished, take) = self.conn.receive()?;
                self.settle(lane, finished, take);
                continue;
            }
            if std::mem::take(&mut self.waited) {
                nap_or(pause, &self.hunt.stopped);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            // Nothing in hand, nothing on the wire: take for the first lane, and wait.
            let take = self.conn.take(&self.hunt.spec.id, &self.slot.lanes[0].me)?;
            let polled = match take {
                Take::Wait => self.conn.pace(&self.hunt.spec),
                _ => None,
            };
            self.settle(0, None, take);
            if let Some(pace) = polled {
                // A polled broker: look again at the hunt's pace (`--poll`).
                nap_or(pace, &self.hunt.stopped);
                self.waited = false;
            }
        }
    }

    fn finish(&mut self, lease: &Lease, report: &TaskReport) -> Result<Option<Finished>> {
        let lease_time = Duration::from_millis(self.hunt.spec.lease_ms);
        self.quick = self.began.elapsed() < lease_time / AHEAD_SHARE;
        let lane = self.running_lane(lease);
        // Reported from now on: the lane's next task, if this report takes one, is
        // held in its place.
        {
            let mut held = self.slot.lease(lane);
            if held.as_ref().is_some_and(|h| h.token == lease.token) {
                *held = None;
            }
        }
        self.lanes[lane] = Held::Empty;
        self.report(lane, lease, report)
    }

    fn fail(&mut self, lease: &Lease, why: &str) -> Result<()> {
        let lane = self.running_lane(lease);
        let r = self
            .conn
            .fail(&self.hunt.spec.id, &self.slot.lanes[lane].me, lease, why);
        *self.slot.lease(lane) = None;
        self.lanes[lane] = Held::Empty;
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
    /// The lane running `lease` (the first where none is: it cannot differ).
    fn running_lane(&self, lease: &Lease) -> usize {
        self.lanes
            .iter()
            .position(|h| matches!(h, Held::Running(l) if l.token == lease.token))
            .unwrap_or(0)
    }

    /// A lane's task taken and not yet begun, now begun; a task whose lease the helper
    /// found taken over meanwhile is passed over (another worker runs it).
    fn next_ready(&mut self) -> Option<Lease> {
        while let Some(lane) = self.lanes.iter().position(|h| matches!(h, Held::Ready(_))) {
            let Held::Ready(lease) = std::mem::replace(&mut self.lanes[lane], Held::Empty) else {
                unreachable!("found just above")
            };
            // Running before the look at the lease: the helper then either sees it
            // running (and stops it) or drops the lease before this look.
            self.slot.running.store(lane, Ordering::SeqCst);
            if self
                .slot
                .lease(lane)
                .as_ref()
                .is_some_and(|h| h.token == lease.token)
            {
                self.lanes[lane] = Held::Running(lease.clone());
                return Some(lease);
            }
        }
        None
    }

    /// Fills an empty lane ahead, on a broker that pipelines, while the hunt still has
    /// tasks to take: its take goes on the wire now, its reply is read when needed.
    fn fill_ahead(&mut self) -> Result<()> {
        if self.dry || self.over || !self.quick {
            return Ok(());
        }
        if let Some(lane) = self.lanes.iter().position(|h| matches!(h, Held::Empty)) {
            if self
                .conn
                .send_take(&self.hunt.spec.id, &self.slot.lanes[lane].me)?
            {
                self.lanes[lane] = Held::Sent(None);
                self.sent.push_back(lane);
            } else {
                // This broker answers each call before the next: one lane.
                self.dry = true;
            }
        }
        Ok(())
    }

    /// What a lane's call did: its report counted (or not), and its take.
    fn settle(&mut self, lane: usize, finished: Option<Finished>, take: Take) {
        let credit = match std::mem::replace(&mut self.lanes[lane], Held::Empty) {
            Held::Sent(credit) => credit,
            _ => None,
        };
        if let (Some(f), Some(c)) = (finished, credit) {
            self.credit(f, c);
        }
        match take {
            Take::Task(lease) => {
                self.hold(lane, &lease);
                self.lanes[lane] = Held::Ready(lease);
            }
            Take::Wait => {
                self.dry = true;
                self.waited = true;
            }
            Take::Over => {
                self.dry = true;
                self.over = true;
            }
        }
    }

    /// Reads every reply on the wire.
    fn receive_all(&mut self) -> Result<()> {
        while let Some(lane) = self.sent.pop_front() {
            let (finished, take) = self.conn.receive()?;
            self.settle(lane, finished, take);
        }
        Ok(())
    }

    /// Hands back every lane's task not yet begun.
    fn release_ready(&mut self) -> Result<()> {
        for lane in 0..LANES {
            if let Held::Ready(lease) = std::mem::replace(&mut self.lanes[lane], Held::Empty) {
                let held = self.slot.lease(lane).take();
                if held.is_some() {
                    self.conn
                        .release(&self.hunt.spec.id, &self.slot.lanes[lane].me, &lease)?;
                }
            }
        }
        Ok(())
    }

    /// The task a lane now holds: the helper renews its lease (and hands it back on
    /// Ctrl-C) from here on.
    fn hold(&mut self, lane: usize, lease: &Lease) {
        if self.shared.fail_first.swap(false, Ordering::SeqCst) {
            // The test hook: die holding the task, as `kill -9` would.
            crate::hooks::die();
        }
        *self.slot.lease(lane) = Some(lease.clone());
    }

    /// This worker's share of a report the broker accepted; the answer stops this
    /// worker's other threads, which need not wait for the broker to tell them.
    fn credit(&mut self, finished: Finished, credit: Credit) {
        if matches!(finished, Finished::Accepted | Finished::Answered) {
            let mut s = self.hunt.served.lock().unwrap_or_else(|e| e.into_inner());
            s.tasks += 1;
            s.tally.absorb(credit.tally);
            if finished == Finished::Answered {
                s.found = credit.found;
            }
        }
        if finished == Finished::Answered {
            let id = &self.hunt.spec.id;
            self.hunt.stopped.store(true, Ordering::SeqCst);
            for slot in &self.shared.slots {
                if on_hunt(slot, id) {
                    slot.stop.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    fn report(
        &mut self,
        lane: usize,
        lease: &Lease,
        report: &TaskReport,
    ) -> Result<Option<Finished>> {
        let id = &self.hunt.spec.id;
        let me = &self.slot.lanes[lane].me;
        if report.end == End::Stopped && !self.hunt.stopped.load(Ordering::SeqCst) {
            // Stopped, but not by the find (Ctrl-C, or the lease was taken over): what
            // it read is not the whole task, so the task goes back.
            self.conn.release(id, me, lease)?;
            return Ok(Some(Finished::Retried));
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
                thread: self.slot.me().consumer.clone(),
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
        let credit = Credit {
            tally: report.tally.clone(),
            found: done.found,
        };
        if ending() || self.hunt.stopped.load(Ordering::SeqCst) {
            // Stopping: report, take nothing.
            let f = self.conn.finish(id, me, lease, &done)?;
            self.credit(f, credit);
            return Ok(Some(f));
        }
        let plain = self.quick && done.found.is_none() && done.why.is_empty() && !done.cut_short;
        if plain && self.conn.send_finish_and_take(id, me, lease, &done)? {
            // Its reply, read when the thread next needs a task, says whether it
            // counted.
            self.lanes[lane] = Held::Sent(Some(credit));
            self.sent.push_back(lane);
            return Ok(None);
        }
        // A find, a failed attempt, a task cut short or a slow one, or a broker that
        // answers each call before the next: the report waits for its reply. Replies sent before it
        // are read first (the connection keeps them in order).
        let (f, take) = self.conn.finish_and_take(id, me, lease, &done)?;
        self.credit(f, credit);
        self.settle(lane, None, take);
        Ok(Some(f))
    }
}
