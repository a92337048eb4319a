//! The steps the SQLite backend's reports and takes are made of, each inside the
//! caller's write transaction: the fence check, the dead letter, a requeue, a refused
//! garbage row; and the polling every wait of a database queue comes down to.

use super::*;

impl Sqlite {
    /// The task's attempts, when `me` holds it under `lease` now.
    pub(super) fn owned(&self, hunt: &str, me: &Me, lease: &Lease) -> Result<Option<u32>> {
        let Ok(token) = lease.token.parse::<i64>() else {
            return Ok(None);
        };
        self.row(
            "SELECT attempts FROM task WHERE hunt = ?1 AND id = ?2 AND state = 'Running' AND consumer = ?3 AND token = ?4",
            params![hunt, as_i64(lease.task.id), me.consumer, token],
            |r| r.get(0),
        )
    }

    pub(super) fn terminal(&self, hunt: &str) -> Result<()> {
        self.exec(
            "UPDATE hunt SET terminal = terminal + 1 WHERE id = ?1",
            params![hunt],
        )
        .map(drop)
    }

    /// The task gives up: the dead letter.
    pub(super) fn dead_letter(
        &self,
        hunt: &str,
        task: u64,
        why: String,
        tally: Option<WireTally>,
    ) -> Result<()> {
        self.exec(
            "UPDATE task SET state = 'Failed', note = ?3, consumer = NULL, lease_until = NULL WHERE hunt = ?1 AND id = ?2",
            params![hunt, as_i64(task), why],
        )?;
        self.terminal(hunt)?;
        self.event(hunt, &Event::Failed { task, why, tally })
    }

    /// A failed attempt: the task goes back on the queue, or to the dead letter after
    /// the last attempt ([`contract::after_failure`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn after_failure(
        &self,
        hunt: &str,
        task: u64,
        attempt: u32,
        max: u32,
        worker: &str,
        why: &str,
        tally: Option<WireTally>,
    ) -> Result<()> {
        match contract::after_failure(attempt, max, why) {
            AfterFailure::DeadLetter { why } => self.dead_letter(hunt, task, why, tally),
            AfterFailure::Retry { note } => {
                self.requeue(hunt, task, &note)?;
                self.event(
                    hunt,
                    &Event::Retried {
                        task,
                        worker: Some(worker.to_string()),
                        why: why.to_string(),
                    },
                )
            }
        }
    }

    /// The task goes back on the queue for another attempt.
    pub(super) fn requeue(&self, hunt: &str, task: u64, note: &str) -> Result<()> {
        self.exec(
            "UPDATE task SET state = 'NotStarted', consumer = NULL, lease_until = NULL, note = ?3 WHERE hunt = ?1 AND id = ?2",
            params![hunt, as_i64(task), note],
        )
        .map(drop)
    }

    /// The hunt's poll interval, ms (looked up once per hunt).
    pub(super) fn poll_of(&mut self, hunt: &str) -> Result<u64> {
        if let Some(&p) = self.polls.get(hunt) {
            return Ok(p);
        }
        let p = self
            .row(
                "SELECT poll_ms FROM hunt WHERE id = ?1",
                params![hunt],
                |r| r.get::<_, i64>(0),
            )?
            .map_or(IDLE_POLL_MS, |p| p.max(1) as u64);
        self.polls.insert(hunt.to_string(), p);
        Ok(p)
    }

    /// Calls `look` at most every `poll_ms` (counted across calls on this connection)
    /// until it gives something or `wait` is up; with `at_least_once`, also when `wait`
    /// is up before the next look was due.
    pub(super) fn poll<T>(
        &mut self,
        poll_ms: u64,
        wait: Duration,
        at_least_once: bool,
        mut look: impl FnMut(&mut Self) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        let deadline = Instant::now() + wait;
        let poll = Duration::from_millis(poll_ms);
        let mut looked = !at_least_once;
        loop {
            let now = Instant::now();
            let due = now >= self.next_look;
            if due || (now >= deadline && !looked) {
                looked = true;
                self.next_look = now + poll;
                if let Some(v) = look(self)? {
                    return Ok(Some(v));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            crate::interrupt::check()?;
            std::thread::sleep((self.next_look.min(deadline) - now).min(Duration::from_millis(20)));
        }
    }

    /// The hunts among `hunts` whose stop flag is up or that are gone.
    pub(super) fn stopped_now(&self, hunts: &[String]) -> Result<Vec<String>> {
        let now = self.now();
        let mut out = Vec::new();
        for h in hunts {
            let stop = self.row(
                &format!("SELECT stop FROM hunt WHERE id = :id AND NOT {GONE}"),
                named_params! {":id": h, ":now": now},
                |r| r.get::<_, i64>(0),
            )?;
            if stop != Some(0) {
                out.push(h.clone());
            }
        }
        Ok(out)
    }

    /// Changes when a hunt is published or deleted.
    pub(super) fn news(&self) -> Result<(i64, i64)> {
        Ok(self
            .row(
                "SELECT count(*), coalesce(max(rowid), 0) FROM hunt",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .unwrap_or((0, 0)))
    }

    /// Refuses a claimed row that is not a task of this hunt (its id or range is not
    /// one the hunt cut): Failed, with a Garbage event. True when it was refused.
    pub(super) fn refused_garbage(&self, hunt: &str, h: &HuntRow, id: i64, from: i64, to: i64) -> Result<bool> {
        let task = as_u64(id);
        let of_hunt = crate::tasks::range(task, as_u64(h.batch), as_u64(h.files));
        if (0..h.tasks).contains(&id) && (from, to) == (as_i64(of_hunt.start), as_i64(of_hunt.end)) {
            return Ok(false);
        }
        let why = format!("the task row {id} ({from}..{to}) is not a task of this hunt");
        self.exec(
            "UPDATE task SET state = 'Failed', note = ?3, consumer = NULL, lease_until = NULL WHERE hunt = ?1 AND id = ?2",
            params![hunt, id, why],
        )?;
        self.event(
            hunt,
            &Event::Garbage {
                entry: format!("task row {id}"),
                why: why.clone(),
            },
        )?;
        if (0..h.tasks).contains(&id) {
            // Its positions are not searched: the answer cannot be "not found".
            self.terminal(hunt)?;
            self.event(
                hunt,
                &Event::Failed {
                    task,
                    why,
                    tally: None,
                },
            )?;
        }
        Ok(true)
    }
}
