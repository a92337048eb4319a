//! A worker's report and take on PostgreSQL as steps inside the caller's transaction:
//! [`Broker::finish`] and [`Broker::take`] each run theirs alone, and
//! [`Broker::finish_and_take`] runs them where `hunt.finish_take` (finish_take.sql)
//! hands the case back.

use super::*;

/// A report's fence: the task's attempts, when `me` holds it under `lease` now (the row
/// locked until the transaction ends).
const OWNED: &str = "SELECT attempts FROM task WHERE hunt = $1 AND id = $2 AND state = 'Running' AND owner = $3 AND token = $4 FOR UPDATE";

impl Postgres {
    /// A report's changes ([`Broker::finish`]), inside the caller's transaction.
    pub(super) fn report_in(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<Finished> {
        let label = me.label();
        let task = lease.task.id;
        let p = self;
        if done.found.is_some() {
            // First: a find may raise the stop flag (see STOP_LOCK).
            p.exec(STOP_LOCK, &[&hunt])?;
        }
        let (Some(attempt), Some(h)) = (p.owned(hunt, me, lease)?, p.hunt_row(hunt)?) else {
            p.emit(hunt, &[Event::Stale { task, worker: label.clone() }])?;
            return Ok(Finished::Stale);
        };
        if !done.why.is_empty() && done.found.is_none() {
            let tally = Some(done.tally.clone());
            p.after_failure(hunt, task, attempt, h.max_attempts, &label, &done.why, tally)?;
            return Ok(Finished::Retried);
        }
        p.exec(
            "UPDATE task SET state = 'Completed', worker = $3, owner = NULL, lease_until = NULL, note = $4
              WHERE hunt = $1 AND id = $2",
            &[
                &hunt,
                &as_i64(task),
                &label,
                &done.cut_short.then_some(contract::CUT_SHORT),
            ],
        )?;
        let mut events = vec![Event::Finished {
            task,
            worker: label.clone(),
            tally: done.tally.clone(),
            cut_short: done.cut_short,
        }];
        let mut reply = Finished::Accepted;
        if let Some(index) = done.found {
            let answer = Answer {
                index,
                task,
                worker: label.clone(),
            };
            let committed = p.row(
                "INSERT INTO answer (hunt, body) VALUES ($1, $2) ON CONFLICT (hunt) DO NOTHING RETURNING hunt",
                &[&hunt, &serde_json::to_string(&answer)?],
            )?;
            if committed.is_some() {
                p.exec(
                    "UPDATE hunt SET stop = true, status = $2 WHERE id = $1",
                    &[&hunt, &HuntState::Found.name()],
                )?;
                p.wake_workers(hunt)?;
                events.push(Event::Answer(answer));
                reply = Finished::Answered;
            }
        }
        p.emit(hunt, &events)?;
        Ok(reply)
    }

    /// A claim ([`Broker::take`]), inside the caller's transaction: rows used up on
    /// the way (garbage, tasks taken too often) are passed over.
    pub(super) fn claim_in(&mut self, hunt: &str, me: &Me) -> Result<Take> {
        let label = me.label();
        let p = self;
        loop {
            p.exec(TAKE_LOCK, &[&hunt])?;
            let Some(h) = p.hunt_row(hunt)? else {
                return Ok(Take::Over);
            };
            if h.over() {
                return Ok(Take::Over);
            }
            let claimed = p.row(CLAIM_SQL, &[&hunt, &me.consumer, &label, &h.lease_ms])?;
            let Some(r) = claimed else {
                return Ok(Take::Wait);
            };
            let (id, from, to, attempt, token): (i64, i64, i64, i32, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            let attempt = u32::try_from(attempt).unwrap_or(0);
            let task = as_u64(id);
            // Tasks carry positions, never paths; a row that is not a task of this hunt
            // (written by someone else) is refused, and never read.
            if p.refused_garbage(hunt, &h, id, from, to)? {
                continue;
            }
            if let Some(why) = contract::taken_too_often(attempt, h.max_attempts) {
                p.dead_letter(hunt, task, why, None)?;
                continue;
            }
            p.emit(
                hunt,
                &[Event::Started {
                    task,
                    worker: label.clone(),
                    attempt,
                }],
            )?;
            return Ok(Take::Task(Lease {
                task: Task {
                    id: task,
                    range: as_u64(from)..as_u64(to),
                },
                attempt,
                token: token.to_string(),
            }));
        }
    }

    /// After a take found nothing: waits for news of work until the first lease runs
    /// out, since a lease that runs out sends no notice.
    pub(super) fn wait_after_take(&mut self, hunt: &str) -> Result<()> {
        let next: Option<f64> = self
            .row(
                "SELECT extract(epoch FROM min(lease_until) - now())::float8 * 1000 FROM task
                  WHERE hunt = $1 AND state = 'Running'",
                &[&hunt],
            )?
            .and_then(|r| r.get(0));
        // A lease that runs out sends no notice: look again just after it does.
        let until_lease = next.map_or(FALLBACK, |ms| {
            Duration::from_millis(ms.max(0.0) as u64 + 5)
        });
        self.wait_for(false, &[hunt], until_lease.min(FALLBACK))?;
        Ok(())
    }

    /// The task's attempts, when `me` holds it under `lease` now.
    pub(super) fn owned(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<Option<u32>> {
        let Ok(token) = lease.token.parse::<i64>() else {
            return Ok(None);
        };
        Ok(self
            .row(OWNED, &[&hunt, &as_i64(lease.task.id), &me.consumer, &token])?
            .map(|r| u32::try_from(r.get::<_, i32>(0)).unwrap_or(0)))
    }

    /// The task gives up: the dead letter.
    pub(super) fn dead_letter(
        &mut self,
        hunt: &str,
        task: u64,
        why: String,
        tally: Option<WireTally>,
    ) -> Result<()> {
        self.exec(
            "UPDATE task SET state = 'Failed', note = $3, owner = NULL, lease_until = NULL WHERE hunt = $1 AND id = $2",
            &[&hunt, &as_i64(task), &why],
        )?;
        self.emit(hunt, &[Event::Failed { task, why, tally }])
    }

    /// A failed attempt: the task goes back on the queue, or to the dead letter after
    /// the last attempt ([`contract::after_failure`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn after_failure(
        &mut self,
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
                self.exec(
                    "UPDATE task SET state = 'NotStarted', owner = NULL, lease_until = NULL, note = $3 WHERE hunt = $1 AND id = $2",
                    &[&hunt, &as_i64(task), &note],
                )?;
                self.wake_workers(hunt)?;
                self.emit(
                    hunt,
                    &[Event::Retried {
                        task,
                        worker: Some(worker.to_string()),
                        why: why.to_string(),
                    }],
                )
            }
        }
    }

    /// Refuses a claimed row that is not a task of this hunt (its id or range is not
    /// one the hunt cut): Failed, with a Garbage event. True when it was refused.
    pub(super) fn refused_garbage(&mut self, hunt: &str, h: &HuntRow, id: i64, from: i64, to: i64) -> Result<bool> {
        let task = as_u64(id);
        let of_hunt = crate::tasks::range(task, as_u64(h.batch), as_u64(h.files));
        if (0..h.tasks).contains(&id) && (from, to) == (as_i64(of_hunt.start), as_i64(of_hunt.end)) {
            return Ok(false);
        }
        let why = format!("the task row {id} ({from}..{to}) is not a task of this hunt");
        self.exec(
            "UPDATE task SET state = 'Failed', note = $3, owner = NULL, lease_until = NULL WHERE hunt = $1 AND id = $2",
            &[&hunt, &id, &why],
        )?;
        let mut events = vec![Event::Garbage {
            entry: format!("task row {id}"),
            why: why.clone(),
        }];
        if (0..h.tasks).contains(&id) {
            // Its positions are not searched: the answer cannot be "not found".
            events.push(Event::Failed {
                task,
                why,
                tally: None,
            });
        }
        self.emit(hunt, &events)?;
        Ok(true)
    }
}
