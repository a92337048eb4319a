//! The coordinator's book of one hunt on RabbitMQ: the task table, and the one place
//! where reports are counted and the answer is decided. Reports come one at a time
//! from the hunt's reply queue, whose only consumer is the coordinator, so each
//! decision sees every earlier one: a report counts only when its delivery token is the
//! one the table holds for a Running task, and only the first counted find is the
//! answer.

use super::wire::{Reply, Report};
use crate::broker::contract::{self, AfterFailure};
use crate::broker::{Answer, Event, HuntSpec, HuntState, HuntStatus};
use crate::tasks::{TaskRow, TaskState};
use std::time::Instant;

/// One hunt as its coordinator keeps it.
pub struct Book {
    /// Its spec.
    pub spec: HuntSpec,
    /// One row per task.
    pub rows: Vec<TaskRow>,
    /// The delivery token of each Running task's holder.
    tokens: Vec<Option<String>>,
    /// The answer, once decided.
    pub answer: Option<Answer>,
    /// The stop signal.
    pub stop: bool,
    /// Running, or how it ended.
    pub state: HuntState,
    /// Workers that refused it.
    pub refused: Vec<(String, String)>,
    /// The table changed since it was last sent.
    pub dirty: bool,
    /// When it was published, ms since the epoch.
    pub created_ms: u64,
    /// When the news was last sent.
    pub news_at: Option<Instant>,
    /// The hunt is retired: no report is read any more.
    pub retired: bool,
}

impl Book {
    /// The book of a hunt just published, every task NotStarted.
    pub fn new(spec: HuntSpec, tasks: &[crate::tasks::Task]) -> Book {
        Book {
            rows: tasks
                .iter()
                .map(|t| TaskRow {
                    id: t.id,
                    range: t.range.clone(),
                    state: TaskState::NotStarted,
                    worker: None,
                    attempts: 0,
                    note: None,
                })
                .collect(),
            tokens: vec![None; tasks.len()],
            spec,
            answer: None,
            stop: false,
            state: HuntState::Running,
            refused: Vec::new(),
            dirty: true,
            created_ms: 0,
            news_at: None,
            retired: false,
        }
    }

    /// The table as `hunt status` shows it.
    pub fn status(&self) -> HuntStatus {
        HuntStatus {
            spec: self.spec.clone(),
            state: self.state,
            answer: self.answer.clone(),
            tasks: self.rows.clone(),
            refused: self.refused.clone(),
        }
    }

    fn row(&mut self, task: u64) -> Option<&mut TaskRow> {
        self.rows.get_mut(usize::try_from(task).ok()?)
    }

    fn settled(&self, task: u64) -> bool {
        self.rows
            .get(task as usize)
            .is_none_or(|r| matches!(r.state, TaskState::Completed | TaskState::Failed))
    }

    /// True when `token` holds `task` now.
    fn holds(&self, task: u64, token: &str) -> bool {
        let i = task as usize;
        self.rows.get(i).is_some_and(|r| r.state == TaskState::Running)
            && self.tokens.get(i).and_then(|t| t.as_deref()) == Some(token)
    }

    /// Counts one report: the events it makes and, for a request, the reply, which
    /// says whether the hunt's stop signal is up (so that a worker told of the answer
    /// that way takes no next task).
    pub fn apply(&mut self, report: Report) -> (Vec<Event>, Option<Reply>) {
        let (events, mut reply) = self.count(report);
        if let Some(r) = &mut reply {
            r.stop = self.stop;
        }
        (events, reply)
    }

    fn count(&mut self, report: Report) -> (Vec<Event>, Option<Reply>) {
        self.dirty = true;
        match report {
            Report::Started {
                task,
                worker,
                attempt,
                token,
            } => {
                if self.settled(task) {
                    // A copy of a task already settled: its report will be stale.
                    return (Vec::new(), None);
                }
                let i = task as usize;
                self.tokens[i] = Some(token);
                let r = &mut self.rows[i];
                r.state = TaskState::Running;
                r.worker = Some(worker.clone());
                r.attempts = attempt;
                (vec![Event::Started { task, worker, attempt }], None)
            }
            Report::Finish {
                task,
                worker,
                token,
                tally,
                found,
                cut_short,
                why,
            } => {
                if !self.holds(task, &token) {
                    return stale(task, worker);
                }
                if !why.is_empty() && found.is_none() {
                    return self.failed(task, worker, &why, Some(tally));
                }
                self.completed(task, worker, tally, found, cut_short)
            }
            Report::Fail {
                task,
                worker,
                token,
                why,
            } => {
                if !self.holds(task, &token) {
                    return stale(task, worker);
                }
                self.failed(task, worker, &why, None)
            }
            Report::Release {
                task,
                worker,
                token,
            } => {
                if !self.holds(task, &token) {
                    return stale(task, worker);
                }
                self.tokens[task as usize] = None;
                if let Some(r) = self.row(task) {
                    r.state = TaskState::NotStarted;
                    r.attempts = r.attempts.saturating_sub(1);
                }
                (vec![Event::Released { task, worker }], Some(reply("accepted", true)))
            }
            Report::TooOften { task, attempt } => {
                let max = self.spec.max_attempts;
                match contract::taken_too_often(attempt, max) {
                    Some(_) if !self.settled(task) && self.stop => (self.returned(task), None),
                    Some(why) if !self.settled(task) => (self.dead(task, why), None),
                    _ => (Vec::new(), None),
                }
            }
            Report::Refuse { worker, why } => {
                self.refused.retain(|(w, _)| *w != worker);
                self.refused.push((worker.clone(), why.clone()));
                (vec![Event::Refused { worker, why }], None)
            }
            Report::Garbage { entry, why } => (vec![Event::Garbage { entry, why }], None),
            Report::Ask => (Vec::new(), None),
        }
    }

    /// A report counted: the task Completed, and the answer if it is the first find.
    fn completed(
        &mut self,
        task: u64,
        worker: String,
        tally: crate::broker::WireTally,
        found: Option<u64>,
        cut_short: bool,
    ) -> (Vec<Event>, Option<Reply>) {
        self.tokens[task as usize] = None;
        if let Some(r) = self.row(task) {
            r.state = TaskState::Completed;
            r.worker = Some(worker.clone());
            r.note = cut_short.then(|| contract::CUT_SHORT.to_string());
        }
        let mut events = vec![Event::Finished {
            task,
            worker: worker.clone(),
            tally,
            cut_short,
        }];
        let mut finished = "accepted";
        if let (Some(index), None) = (found, &self.answer) {
            let a = Answer { index, task, worker };
            self.answer = Some(a.clone());
            self.stop = true;
            self.state = HuntState::Found;
            events.push(Event::Answer(a));
            finished = "answer";
        }
        (events, Some(reply(finished, false)))
    }

    /// A dead-lettered task: delivered `--max-attempts` times and never acknowledged.
    /// Once the stop is up it is handed back, not failed: workers leaving a stopped
    /// hunt close their task connections, and the quorum queue counts the return of
    /// each one's prefetched next task as a delivery, so the head of the queue can pass
    /// the limit with no attempt made (seen twice in about 130 hunts at eight workers,
    /// once the stop news went out at the answer).
    pub fn dead_lettered(&mut self, task: u64) -> Vec<Event> {
        self.dirty = true;
        let max = self.spec.max_attempts;
        if self.settled(task) {
            return Vec::new();
        }
        if self.stop {
            return self.returned(task);
        }
        let why = contract::taken_too_often(max + 1, max).unwrap_or_default();
        self.dead(task, why)
    }

    /// Task `task` back to NotStarted, unfinished and not failed.
    fn returned(&mut self, task: u64) -> Vec<Event> {
        self.tokens[task as usize] = None;
        let Some(r) = self.row(task) else {
            return Vec::new();
        };
        r.state = TaskState::NotStarted;
        let worker = r.worker.clone().unwrap_or_default();
        vec![Event::Released { task, worker }]
    }

    fn dead(&mut self, task: u64, why: String) -> Vec<Event> {
        self.tokens[task as usize] = None;
        if let Some(r) = self.row(task) {
            r.state = TaskState::Failed;
            r.note = Some(why.clone());
        }
        vec![Event::Failed {
            task,
            why,
            tally: None,
        }]
    }

    /// A failed attempt: retried, or the dead letter after the last one.
    fn failed(
        &mut self,
        task: u64,
        worker: String,
        why: &str,
        tally: Option<crate::broker::WireTally>,
    ) -> (Vec<Event>, Option<Reply>) {
        let attempt = self.rows[task as usize].attempts;
        match contract::after_failure(attempt, self.spec.max_attempts, why) {
            AfterFailure::DeadLetter { why } => {
                let mut ev = self.dead(task, why);
                if let Some(Event::Failed { tally: t, .. }) = ev.first_mut() {
                    *t = tally;
                }
                (ev, Some(reply("retried", false)))
            }
            AfterFailure::Retry { note } => {
                self.tokens[task as usize] = None;
                if let Some(r) = self.row(task) {
                    r.state = TaskState::NotStarted;
                    r.note = Some(note);
                }
                let ev = Event::Retried {
                    task,
                    worker: Some(worker),
                    why: why.to_string(),
                };
                (vec![ev], Some(reply("retried", true)))
            }
        }
    }
}

fn stale(task: u64, worker: String) -> (Vec<Event>, Option<Reply>) {
    (vec![Event::Stale { task, worker }], Some(reply("stale", false)))
}

fn reply(finished: &str, requeue: bool) -> Reply {
    Reply {
        finished: finished.to_string(),
        requeue,
        stop: false,
    }
}
