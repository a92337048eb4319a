//! [`Broker`] on an SQLite queue: each method one statement or one `BEGIN IMMEDIATE`
//! transaction (see the module above for the schema, the claim and the fences).

use super::*;

impl Broker for Sqlite {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn connect_again(&self) -> Result<Box<dyn Broker>> {
        Sqlite::connect(&self.url)
    }

    fn moved(&self) -> Option<String> {
        file::moved(&self.conn, &self.path)
    }

    fn pace(&self, spec: &HuntSpec) -> Option<Duration> {
        poll_ms(spec).map(Duration::from_millis)
    }

    fn publish(&mut self, spec: &HuntSpec, tasks: &[Task]) -> Result<()> {
        let json = serde_json::to_string(spec)?;
        self.write(|s| {
            s.prune()?;
            let now = s.now();
            s.exec(
                "INSERT INTO hunt (id, spec, created_ms, alive_until_ms, tasks, batch, files, max_attempts, lease_ms, poll_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    spec.id,
                    json,
                    now,
                    now + ALIVE_MS,
                    tasks.len() as i64,
                    as_i64(spec.batch),
                    as_i64(spec.files),
                    spec.max_attempts,
                    as_i64(spec.lease_ms),
                    as_i64(poll_ms(spec).unwrap_or(IDLE_POLL_MS)),
                ],
            )?;
            STATEMENTS.fetch_add(tasks.len() as u64, Ordering::Relaxed);
            let mut insert = s
                .conn
                .prepare_cached(
                    "INSERT INTO task (hunt, id, pos_from, pos_to) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| s.explain(&e))?;
            for t in tasks {
                insert
                    .execute(params![
                        spec.id,
                        as_i64(t.id),
                        as_i64(t.range.start),
                        as_i64(t.range.end)
                    ])
                    .map_err(|e| s.explain(&e))?;
            }
            Ok(())
        })
    }

    fn events(&mut self, hunt: &str, wait: Duration) -> Result<Vec<Event>> {
        let poll = self.poll_of(hunt)?;
        // At least one look per call: a caller's last read before it gives up (the
        // coordinator's, once its workers have ended) must see what is there.
        let found = self.poll(poll, wait, true, |s| {
            let after = s.cursors.get(hunt).copied().unwrap_or(0);
            let rows: Vec<(i64, String)> = s.rows(
                "SELECT seq, body FROM event WHERE hunt = ?1 AND seq > ?2 ORDER BY seq",
                params![hunt, after],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let Some(&(last, _)) = rows.last() else {
                return Ok(None);
            };
            s.cursors.insert(hunt.to_string(), last);
            // One unreadable event (garbage someone wrote) must not lose the others.
            Ok(Some(
                rows.into_iter()
                    .map(|(seq, e)| {
                        serde_json::from_str(&e).unwrap_or_else(|err| Event::Garbage {
                            entry: format!("event {seq}"),
                            why: format!("an event hunt cannot read ({err}): {e:.200}"),
                        })
                    })
                    .collect(),
            ))
        })?;
        Ok(found.unwrap_or_default())
    }

    fn keep_alive(&mut self, hunt: &str) -> Result<()> {
        let until = self.now() + ALIVE_MS;
        self.exec(
            "UPDATE hunt SET alive_until_ms = ?2 WHERE id = ?1 AND expires_ms IS NULL",
            params![hunt, until],
        )
        .map(drop)
    }

    fn stop(&mut self, hunt: &str) -> Result<()> {
        self.exec("UPDATE hunt SET stop = 1 WHERE id = ?1", params![hunt])
            .map(drop)
    }

    fn retire(&mut self, hunt: &str, verdict: Verdict, keep: Duration) -> Result<()> {
        let keep = i64::try_from(keep.as_millis())
            .unwrap_or(i64::MAX / 4)
            .max(1);
        self.write(|s| {
            s.exec(
                "UPDATE hunt SET status = ?2, stop = 1, expires_ms = ?3 WHERE id = ?1",
                params![hunt, verdict.name(), s.now() + keep],
            )?;
            s.prune()
        })
    }

    fn exists(&mut self, hunt: &str) -> Result<bool> {
        Ok(self.hunt_row(hunt)?.is_some())
    }

    fn hunts(&mut self) -> Result<Vec<String>> {
        self.rows(
            "SELECT id FROM hunt WHERE expires_ms IS NULL AND alive_until_ms > ?1 ORDER BY created_ms, rowid",
            params![self.now()],
            |r| r.get(0),
        )
    }

    fn spec(&mut self, hunt: &str) -> Result<Option<HuntSpec>> {
        let text: Option<String> = self.row(
            &format!("SELECT spec FROM hunt WHERE id = :id AND NOT {GONE}"),
            named_params! {":id": hunt, ":now": self.now()},
            |r| r.get(0),
        )?;
        match text {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t).map(Some).with_context(|| {
                format!("hunt {hunt}'s spec in the queue is not one hunt can read")
            }),
        }
    }

    fn take(&mut self, hunt: &str, me: &Me) -> Result<Take> {
        // A read first, without the write lock: most looks of an idle worker find nothing.
        let Some(h) = self.hunt_row(hunt)? else {
            return Ok(Take::Over);
        };
        if h.over() {
            return Ok(Take::Over);
        }
        let ready: bool = self
            .row(
                READY_SQL,
                named_params! {":hunt": hunt, ":now": self.now(), ":consumer": me.consumer},
                |r| r.get(0),
            )?
            .unwrap_or(false);
        if !ready {
            return Ok(Take::Wait);
        }
        let label = me.label();
        self.write(|s| loop {
            let Some(h) = s.hunt_row(hunt)? else {
                return Ok(Take::Over);
            };
            if h.over() {
                return Ok(Take::Over);
            }
            let now = s.now();
            let claimed = s.row(
                CLAIM_SQL,
                named_params! {
                    ":hunt": hunt,
                    ":now": now,
                    ":until": now + h.lease_ms,
                    ":worker": label,
                    ":consumer": me.consumer,
                },
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, u32>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )?;
            let Some((id, from, to, attempt, token)) = claimed else {
                return Ok(Take::Wait);
            };
            let task = as_u64(id);
            // Tasks carry positions, never paths; a row that is not a task of this hunt
            // (written by someone else) is refused, and never read.
            if s.refused_garbage(hunt, &h, id, from, to)? {
                continue;
            }
            if let Some(why) = contract::taken_too_often(attempt, h.max_attempts) {
                s.dead_letter(hunt, task, why, None)?;
                continue;
            }
            s.event(
                hunt,
                &Event::Started {
                    task,
                    worker: label.clone(),
                    attempt,
                },
            )?;
            return Ok(Take::Task(Lease {
                task: Task {
                    id: task,
                    range: as_u64(from)..as_u64(to),
                },
                attempt,
                token: token.to_string(),
            }));
        })
    }

    fn renew(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<bool> {
        let Ok(token) = lease.token.parse::<i64>() else {
            return Ok(false);
        };
        let n = self.exec(
            "UPDATE task SET lease_until = ?5 + (SELECT lease_ms FROM hunt WHERE id = ?1)
              WHERE hunt = ?1 AND id = ?2 AND state = 'Running' AND consumer = ?3 AND token = ?4",
            params![hunt, as_i64(lease.task.id), me.consumer, token, self.now()],
        )?;
        Ok(n == 1)
    }

    fn finish(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<Finished> {
        let label = me.label();
        let task = lease.task.id;
        self.write(|s| {
            let (Some(attempt), Some(h)) = (s.owned(hunt, me, lease)?, s.hunt_row(hunt)?) else {
                s.event(hunt, &Event::Stale { task, worker: label.clone() })?;
                return Ok(Finished::Stale);
            };
            if !done.why.is_empty() && done.found.is_none() {
                let tally = Some(done.tally.clone());
                s.after_failure(hunt, task, attempt, h.max_attempts, &label, &done.why, tally)?;
                return Ok(Finished::Retried);
            }
            s.exec(
                "UPDATE task SET state = 'Completed', worker = ?3, consumer = NULL, lease_until = NULL, note = ?4
                  WHERE hunt = ?1 AND id = ?2",
                params![
                    hunt,
                    as_i64(task),
                    label,
                    done.cut_short.then_some(contract::CUT_SHORT)
                ],
            )?;
            s.terminal(hunt)?;
            s.event(
                hunt,
                &Event::Finished {
                    task,
                    worker: label.clone(),
                    tally: done.tally.clone(),
                    cut_short: done.cut_short,
                },
            )?;
            if let Some(index) = done.found {
                let answer = Answer {
                    index,
                    task,
                    worker: label.clone(),
                };
                let committed = s.exec(
                    "UPDATE hunt SET answer = ?2, stop = 1, status = ?3 WHERE id = ?1 AND answer IS NULL",
                    params![hunt, serde_json::to_string(&answer)?, HuntState::Found.name()],
                )?;
                if committed == 1 {
                    s.event(hunt, &Event::Answer(answer))?;
                    return Ok(Finished::Answered);
                }
            }
            Ok(Finished::Accepted)
        })
    }

    fn fail(&mut self, hunt: &str, me: &Me, lease: &Lease, why: &str) -> Result<Finished> {
        let label = me.label();
        let task = lease.task.id;
        self.write(|s| {
            let (Some(attempt), Some(h)) = (s.owned(hunt, me, lease)?, s.hunt_row(hunt)?) else {
                s.event(
                    hunt,
                    &Event::Stale {
                        task,
                        worker: label.clone(),
                    },
                )?;
                return Ok(Finished::Stale);
            };
            s.after_failure(hunt, task, attempt, h.max_attempts, &label, why, None)?;
            Ok(Finished::Retried)
        })
    }

    fn release(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<()> {
        let label = me.label();
        let task = lease.task.id;
        self.write(|s| {
            if s.owned(hunt, me, lease)?.is_none() {
                return s.event(hunt, &Event::Stale { task, worker: label.clone() });
            }
            // Handed back, not failed: the attempt does not count.
            s.exec(
                "UPDATE task SET state = 'NotStarted', consumer = NULL, lease_until = NULL, attempts = max(attempts - 1, 0)
                  WHERE hunt = ?1 AND id = ?2",
                params![hunt, as_i64(task)],
            )?;
            s.event(hunt, &Event::Released { task, worker: label.clone() })
        })
    }

    fn refuse(&mut self, hunt: &str, me: &Me, why: &str) -> Result<()> {
        let label = me.label();
        self.write(|s| {
            s.exec(
                "INSERT INTO refusal (hunt, worker, why) VALUES (?1, ?2, ?3)
                 ON CONFLICT (hunt, worker) DO UPDATE SET why = excluded.why",
                params![hunt, label, why],
            )?;
            s.event(
                hunt,
                &Event::Refused {
                    worker: label.clone(),
                    why: why.to_string(),
                },
            )
        })
    }

    fn stopped(&mut self, hunts: &[String], wait: Duration) -> Result<Vec<String>> {
        if hunts.is_empty() {
            // No hunt to watch: wait for news of one (a hunt published or deleted).
            let before = self.news()?;
            self.poll(IDLE_POLL_MS, wait, false, |s| {
                Ok((s.news()? != before).then_some(()))
            })?;
            return Ok(Vec::new());
        }
        let mut poll = u64::MAX;
        for h in hunts {
            poll = poll.min(self.poll_of(h)?);
        }
        Ok(self
            .poll(poll, wait, false, |s| {
                let v = s.stopped_now(hunts)?;
                Ok((!v.is_empty()).then_some(v))
            })?
            .unwrap_or_default())
    }

    fn heartbeat(&mut self, info: &WorkerInfo) -> Result<()> {
        let now = self.now();
        let info = WorkerInfo {
            last_seen_ms: as_u64(now),
            ..info.clone()
        };
        let json = serde_json::to_string(&info)?;
        self.exec(
            "INSERT INTO worker (name, info, last_seen_ms, statements) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET info = excluded.info, last_seen_ms = excluded.last_seen_ms, statements = excluded.statements",
            params![info.name, json, now, as_i64(statements())],
        )
        .map(drop)
    }

    fn status(&mut self) -> Result<Vec<HuntStatus>> {
        self.write(|s| s.prune())?;
        let hunts: Vec<(String, String, String, Option<String>)> = self.rows(
            &format!(
                "SELECT id, spec, status, answer FROM hunt WHERE NOT {GONE} ORDER BY created_ms DESC, rowid DESC"
            ),
            named_params! {":now": self.now()},
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let mut out = Vec::new();
        for (id, spec, state, answer) in hunts {
            let Ok(spec) = serde_json::from_str::<HuntSpec>(&spec) else {
                continue;
            };
            let tasks = self.rows(
                "SELECT id, pos_from, pos_to, state, worker, attempts, note FROM task WHERE hunt = ?1 ORDER BY id",
                params![id],
                |r| {
                    let state: String = r.get(3)?;
                    Ok(TaskRow {
                        id: as_u64(r.get(0)?),
                        range: as_u64(r.get(1)?)..as_u64(r.get(2)?),
                        // The schema's CHECK admits only the four states (a test pins
                        // it to the enum); anything else is an error, never a guess.
                        state: TaskState::from_name(&state).ok_or_else(|| {
                            rusqlite::Error::InvalidColumnType(3, state, rusqlite::types::Type::Text)
                        })?,
                        worker: r.get(4)?,
                        attempts: r.get(5)?,
                        note: r.get(6)?,
                    })
                },
            )?;
            let refused = self.rows(
                "SELECT worker, why FROM refusal WHERE hunt = ?1 ORDER BY worker",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
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
        Ok(as_u64(self.now()))
    }

    fn workers(&mut self) -> Result<Vec<WorkerInfo>> {
        let infos: Vec<String> = self.rows(
            "SELECT info FROM worker WHERE last_seen_ms >= ?1 ORDER BY name",
            params![self.now() - ALIVE_MS],
            |r| r.get(0),
        )?;
        Ok(infos
            .iter()
            .filter_map(|i| serde_json::from_str(i).ok())
            .collect())
    }
}
