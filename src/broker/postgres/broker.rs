//! [`Broker`] on a PostgreSQL queue: each method one statement or one transaction (see
//! the module above for the tables, the claim, the fences and the notices).

use super::*;

impl Broker for Postgres {
    fn describe(&self) -> String {
        shown(&self.url)
    }

    fn connect_again(&self) -> Result<Box<dyn Broker>> {
        Ok(Box::new(Postgres::open(&self.url, true)?))
    }

    /// A take that finds nothing waits for a notice itself (see [`Postgres::take`]), so
    /// the worker looks again at once.
    fn pace(&self, _spec: &HuntSpec) -> Option<Duration> {
        Some(Duration::ZERO)
    }

    /// Publishes the hunt in one transaction. A publish whose reply was lost is made
    /// again by the coordinator: the hunt's row is there, so it is done.
    fn publish(&mut self, spec: &HuntSpec, tasks: &[Task]) -> Result<()> {
        let json = serde_json::to_string(spec)?;
        let ids: Vec<i64> = tasks.iter().map(|t| as_i64(t.id)).collect();
        let from: Vec<i64> = tasks.iter().map(|t| as_i64(t.range.start)).collect();
        let to: Vec<i64> = tasks.iter().map(|t| as_i64(t.range.end)).collect();
        let max_attempts = i32::try_from(spec.max_attempts).unwrap_or(i32::MAX);
        self.write(|p| {
            p.prune()?;
            let made = p.exec(
                "INSERT INTO hunt (id, spec, alive_until, tasks, batch, files, max_attempts, lease_ms)
                 VALUES ($1, $2, now() + interval '60 seconds', $3, $4, $5, $6, $7)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &spec.id,
                    &json,
                    &(tasks.len() as i64),
                    &as_i64(spec.batch),
                    &as_i64(spec.files),
                    &max_attempts,
                    &as_i64(spec.lease_ms),
                ],
            )?;
            if made == 0 {
                return Ok(());
            }
            p.exec(
                "INSERT INTO task (hunt, id, pos_from, pos_to)
                 SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[])",
                &[&spec.id, &ids, &from, &to],
            )?;
            p.wake_workers(&spec.id)
        })
    }

    fn events(&mut self, hunt: &str, wait: Duration) -> Result<Vec<Event>> {
        self.listen(EVENTS)?;
        self.drain()?;
        // At least one look per call: a caller's last read before it gives up (the
        // coordinator's, once its workers have ended) must see what is there.
        let mut found = self.read_events(hunt)?;
        if found.is_empty() && self.wait_for(true, &[hunt], wait)? {
            found = self.read_events(hunt)?;
        }
        Ok(found)
    }

    fn keep_alive(&mut self, hunt: &str) -> Result<()> {
        self.exec(
            "UPDATE hunt SET alive_until = now() + interval '60 seconds' WHERE id = $1 AND expires IS NULL",
            &[&hunt],
        )
        .map(drop)
    }

    fn stop(&mut self, hunt: &str) -> Result<()> {
        self.write(|p| {
            p.exec(STOP_LOCK, &[&hunt])?;
            p.exec("UPDATE hunt SET stop = true WHERE id = $1", &[&hunt])?;
            p.wake_workers(hunt)
        })
    }

    fn retire(&mut self, hunt: &str, verdict: Verdict, keep: Duration) -> Result<()> {
        let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX / 4).max(1);
        self.write(|p| {
            p.exec(STOP_LOCK, &[&hunt])?;
            p.exec(
                "UPDATE hunt SET status = $2, stop = true, expires = now() + $3::bigint * interval '1 millisecond' WHERE id = $1",
                &[&hunt, &verdict.name(), &keep_ms],
            )?;
            p.wake_workers(hunt)?;
            p.prune()
        })
    }

    fn exists(&mut self, hunt: &str) -> Result<bool> {
        Ok(self.hunt_row(hunt)?.is_some())
    }

    fn hunts(&mut self) -> Result<Vec<String>> {
        Ok(self
            .rows(
                "SELECT id FROM hunt WHERE expires IS NULL AND alive_until > now() ORDER BY created, id",
                &[],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn spec(&mut self, hunt: &str) -> Result<Option<HuntSpec>> {
        let text: Option<String> = self
            .row(
                "SELECT spec FROM hunt WHERE id = $1 AND NOT ((expires IS NOT NULL AND expires <= now()) OR (expires IS NULL AND alive_until <= now()))",
                &[&hunt],
            )?
            .map(|r| r.get(0));
        match text {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t).map(Some).with_context(|| {
                format!("hunt {hunt}'s spec in the queue is not one hunt can read")
            }),
        }
    }

    /// One claim; when there is nothing to claim, waits for a notice on `hunt_work` about
    /// this hunt, at most until its earliest lease runs out and at most [`FALLBACK`],
    /// and says `Wait` (the worker then looks again at once).
    fn take(&mut self, hunt: &str, me: &Me) -> Result<Take> {
        self.listen(WORK)?;
        self.drain()?;
        self.work_news.remove(hunt);
        let taken = self.write(|p| p.claim_in(hunt, me))?;
        if matches!(taken, Take::Wait) {
            self.wait_after_take(hunt)?;
        }
        Ok(taken)
    }

    /// One statement in the common case (`hunt.finish_take`, postgres/finish_take.sql):
    /// the report and the next claim in one round trip and one transaction, on a
    /// connection that LISTENs to nothing while it has tasks (see `unlisten`). A find, a
    /// failed attempt, a fenced report or a row the claim must pass over runs the steps
    /// of [`Broker::finish`] and [`Broker::take`] instead, each in its own transaction.
    fn finish_and_take(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<(Finished, Take)> {
        let token = lease.token.parse::<i64>();
        let (Ok(token), None, true) = (token, done.found, done.why.is_empty()) else {
            return self.finish_then_take(hunt, me, lease, done);
        };
        // A worker with tasks to run listens to nothing: a take that finds none
        // LISTENs again before it looks (`take`, on `wait` below).
        self.unlisten(WORK)?;
        let label = me.label();
        let task = lease.task.id;
        let event = serde_json::to_string(&Event::Finished {
            task,
            worker: label.clone(),
            tally: done.tally.clone(),
            cut_short: done.cut_short,
        })?;
        let note = done.cut_short.then_some(contract::CUT_SHORT);
        let r = self
            .row(FINISH_TAKE, &[&hunt, &me.consumer, &label, &as_i64(task), &token, &note, &event])?
            .ok_or_else(|| anyhow!("hunt.finish_take returned no row: is another version of hunt's schema in the database?"))?;
        let (reply, next): (&str, &str) = (r.get(0), r.get(1));
        let finished = match reply {
            "accepted" => Finished::Accepted,
            "slow" => return self.finish_then_take(hunt, me, lease, done),
            other => return Err(unknown_reply(other)),
        };
        let taken = match next {
            "task" => {
                let (id, from, to, attempt, token): (i64, i64, i64, i32, i64) =
                    (r.get(2), r.get(3), r.get(4), r.get(5), r.get(6));
                Take::Task(Lease {
                    task: Task {
                        id: as_u64(id),
                        range: as_u64(from)..as_u64(to),
                    },
                    attempt: u32::try_from(attempt).unwrap_or(0),
                    token: token.to_string(),
                })
            }
            "over" => Take::Over,
            // Nothing to claim now: LISTEN, then look again before waiting (a notice
            // sent before the LISTEN would be lost).
            "wait" | "slow" => self.take(hunt, me)?,
            other => return Err(unknown_reply(other)),
        };
        Ok((finished, taken))
    }

    fn renew(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<bool> {
        let Ok(token) = lease.token.parse::<i64>() else {
            return Ok(false);
        };
        let n = self.exec(
            "UPDATE task SET lease_until = now() + (SELECT lease_ms FROM hunt WHERE id = $1) * interval '1 millisecond'
              WHERE hunt = $1 AND id = $2 AND state = 'Running' AND owner = $3 AND token = $4",
            &[&hunt, &as_i64(lease.task.id), &me.consumer, &token],
        )?;
        Ok(n == 1)
    }

    fn finish(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<Finished> {
        self.write(|p| p.report_in(hunt, me, lease, done))
    }

    fn fail(&mut self, hunt: &str, me: &Me, lease: &Lease, why: &str) -> Result<Finished> {
        let label = me.label();
        let task = lease.task.id;
        self.write(|p| {
            let (Some(attempt), Some(h)) = (p.owned(hunt, me, lease)?, p.hunt_row(hunt)?) else {
                p.emit(hunt, &[Event::Stale { task, worker: label.clone() }])?;
                return Ok(Finished::Stale);
            };
            p.after_failure(hunt, task, attempt, h.max_attempts, &label, why, None)?;
            Ok(Finished::Retried)
        })
    }

    fn release(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<()> {
        let label = me.label();
        let task = lease.task.id;
        self.write(|p| {
            if p.owned(hunt, me, lease)?.is_none() {
                return p.emit(hunt, &[Event::Stale { task, worker: label.clone() }]);
            }
            // Handed back, not failed: the attempt does not count.
            p.exec(
                "UPDATE task SET state = 'NotStarted', owner = NULL, lease_until = NULL, attempts = greatest(attempts - 1, 0)
                  WHERE hunt = $1 AND id = $2",
                &[&hunt, &as_i64(task)],
            )?;
            p.wake_workers(hunt)?;
            p.emit(hunt, &[Event::Released { task, worker: label.clone() }])
        })
    }

    fn refuse(&mut self, hunt: &str, me: &Me, why: &str) -> Result<()> {
        let label = me.label();
        self.write(|p| {
            p.exec(
                "INSERT INTO refusal (hunt, worker, why) VALUES ($1, $2, $3)
                 ON CONFLICT (hunt, worker) DO UPDATE SET why = excluded.why",
                &[&hunt, &label, &why],
            )?;
            p.emit(
                hunt,
                &[Event::Refused {
                    worker: label.clone(),
                    why: why.to_string(),
                }],
            )
        })
    }

    /// Looks at the stop flags when a notice came, a hunt is new to this connection, or
    /// [`FALLBACK`] has passed; else waits for a notice.
    fn stopped(&mut self, hunts: &[String], wait: Duration) -> Result<Vec<String>> {
        self.listen(WORK)?;
        self.drain()?;
        let ids: Vec<&str> = hunts.iter().map(String::as_str).collect();
        if hunts.is_empty() {
            // No hunt to watch: wait for news of one (a hunt published).
            self.work_news.clear();
            self.wait_for(false, &[], wait)?;
            self.work_news.clear();
            return Ok(Vec::new());
        }
        let due = |p: &Postgres| {
            ids.iter().any(|h| {
                p.work_news.contains(*h)
                    || p.looked.get(*h).is_none_or(|t| t.elapsed() >= FALLBACK)
            })
        };
        if due(self) {
            let now = self.stopped_now(hunts)?;
            if !now.is_empty() {
                return Ok(now);
            }
        }
        if self.wait_for(false, &ids, wait)? {
            return self.stopped_now(hunts);
        }
        Ok(Vec::new())
    }

    fn heartbeat(&mut self, info: &WorkerInfo) -> Result<()> {
        let json = serde_json::to_string(info)?;
        self.exec(
            "INSERT INTO worker (name, info, last_seen)
             VALUES ($1, jsonb_set($2::text::jsonb, '{last_seen_ms}', to_jsonb((extract(epoch FROM now()) * 1000)::bigint))::text, now())
             ON CONFLICT (name) DO UPDATE SET info = excluded.info, last_seen = excluded.last_seen",
            &[&info.name, &json],
        )
        .map(drop)
    }

    fn status(&mut self) -> Result<Vec<HuntStatus>> {
        self.write(|p| p.prune())?;
        let hunts: Vec<(String, String, String, Option<String>)> = self
            .rows(
                "SELECT h.id, h.spec, h.status, a.body FROM hunt h LEFT JOIN answer a ON a.hunt = h.id
                  WHERE NOT ((h.expires IS NOT NULL AND h.expires <= now()) OR (h.expires IS NULL AND h.alive_until <= now()))
                  ORDER BY h.created DESC, h.id DESC",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        let mut out = Vec::new();
        for (id, spec, state, answer) in hunts {
            let Ok(spec) = serde_json::from_str::<HuntSpec>(&spec) else {
                continue;
            };
            let mut tasks = Vec::new();
            for r in self.rows(
                "SELECT id, pos_from, pos_to, state, worker, attempts, note FROM task WHERE hunt = $1 ORDER BY id",
                &[&id],
            )? {
                let state: String = r.get(3);
                tasks.push(TaskRow {
                    id: as_u64(r.get(0)),
                    range: as_u64(r.get(1))..as_u64(r.get(2)),
                    // The schema's CHECK admits only the four states (a test pins it
                    // to the enum); anything else is an error, never a guess.
                    state: TaskState::from_name(&state).ok_or_else(|| {
                        anyhow!("task {} of hunt {id} is in a state hunt does not know: {state:?}", r.get::<_, i64>(0))
                    })?,
                    worker: r.get(4),
                    attempts: u32::try_from(r.get::<_, i32>(5)).unwrap_or(0),
                    note: r.get(6),
                });
            }
            let refused = self
                .rows(
                    "SELECT worker, why FROM refusal WHERE hunt = $1 ORDER BY worker",
                    &[&id],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            out.push(HuntStatus {
                state: HuntState::from_name(&state, &id)?,
                spec,
                answer: answer.and_then(|a| serde_json::from_str(&a).ok()),
                tasks,
                refused,
            });
        }
        Ok(out)
    }

    fn clock(&mut self) -> Result<u64> {
        let ms: Option<i64> = self
            .row(
                "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
                &[],
            )?
            .map(|r| r.get(0));
        Ok(as_u64(ms.unwrap_or(0)))
    }

    fn workers(&mut self) -> Result<Vec<WorkerInfo>> {
        Ok(self
            .rows(
                "SELECT info FROM worker WHERE last_seen >= now() - interval '60 seconds' ORDER BY name",
                &[],
            )?
            .iter()
            .filter_map(|r| serde_json::from_str(r.get::<_, &str>(0)).ok())
            .collect())
    }
}

/// The steps the reports and takes are made of, each inside the caller's transaction.
impl Postgres {
    /// The events after this connection's cursor, in order.
    fn read_events(&mut self, hunt: &str) -> Result<Vec<Event>> {
        self.event_news.remove(hunt);
        let after = self.cursors.get(hunt).copied().unwrap_or(0);
        let rows = self.rows(
            "SELECT seq, body FROM hunt.events_after($1, $2)",
            &[&hunt, &after],
        )?;
        let Some(last) = rows.last().map(|r| r.get::<_, i64>(0)) else {
            return Ok(Vec::new());
        };
        self.cursors.insert(hunt.to_string(), last);
        // One unreadable event (garbage someone wrote) must not lose the others. A row
        // holds one event, or a JSON array of a task's events in order (finish_take's
        // `finished` and the next `started`: one row, one insert).
        Ok(rows
            .iter()
            .flat_map(|r| {
                let (seq, e): (i64, &str) = (r.get(0), r.get(1));
                let read = if e.starts_with('[') {
                    serde_json::from_str::<Vec<Event>>(e)
                } else {
                    serde_json::from_str::<Event>(e).map(|one| vec![one])
                };
                read.unwrap_or_else(|err| {
                    vec![Event::Garbage {
                        entry: format!("event {seq}"),
                        why: format!("an event hunt cannot read ({err}): {e:.200}"),
                    }]
                })
            })
            .collect())
    }

    /// The hunts among `hunts` whose stop flag is up or that are gone.
    fn stopped_now(&mut self, hunts: &[String]) -> Result<Vec<String>> {
        let ids: Vec<&str> = hunts.iter().map(String::as_str).collect();
        let running: HashSet<String> = self
            .rows(
                "SELECT id FROM hunt WHERE id = ANY($1) AND NOT stop
                   AND NOT ((expires IS NOT NULL AND expires <= now()) OR (expires IS NULL AND alive_until <= now()))",
                &[&ids],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let now = Instant::now();
        for h in hunts {
            self.work_news.remove(h);
            self.looked.insert(h.clone(), now);
        }
        Ok(hunts
            .iter()
            .filter(|h| !running.contains(*h))
            .cloned()
            .collect())
    }
}

impl Postgres {
    /// The report and the next claim as two calls, each in its own transaction (what
    /// [`Broker::finish_and_take`] does where `hunt.finish_take` cannot).
    fn finish_then_take(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<(Finished, Take)> {
        let finished = self.finish(hunt, me, lease, done)?;
        Ok((finished, self.take(hunt, me)?))
    }
}

/// A reply of `hunt.finish_take` this build does not know.
fn unknown_reply(said: &str) -> anyhow::Error {
    anyhow!("hunt.finish_take answered {said:?}, which hunt does not know: is another version of hunt's schema in the database?")
}
