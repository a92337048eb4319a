//! A worker's calls: the arguments of the take and report functions, what their
//! replies say, and calls sent ahead of their replies ([`Broker::send_finish_and_take`]):
//! a worker thread keeps a report on the wire while it reads its other task's files.
//! The connection keeps every call's reply in the order sent: any other call first
//! reads the replies still on the wire ([`Redis::read_wire`]) and keeps them for
//! [`Broker::receive`].

use super::broker::shape;
use super::*;

/// A call sent ahead of its reply.
pub(super) struct Sent {
    /// The function called, and its arguments (called again where the server had to
    /// load the library first).
    function: fn(&Library) -> &String,
    args: Vec<String>,
    /// The hunt and consumer it takes for (an `again` reply takes again for them).
    hunt: String,
    me: crate::broker::Me,
    /// A report and a take (`finish_take`), or a take alone.
    report: bool,
    /// Its reply, once read.
    reply: Option<redis::RedisResult<String>>,
}

impl Redis {
    /// Reads the reply of every call sent and not yet read, in order, so that the next
    /// reply on the wire is that of the next call made.
    pub(super) fn read_wire(&mut self) -> redis::RedisResult<()> {
        while self.sent.iter().any(|s| s.reply.is_none()) {
            self.read_one()?;
        }
        Ok(())
    }

    /// Reads the reply of the oldest call sent whose reply is not yet read. A server's
    /// error is that call's reply; a failed read fails the connection.
    pub(super) fn read_one(&mut self) -> redis::RedisResult<()> {
        let Some(conn) = self.conn.as_mut() else {
            self.sent.clear();
            return Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "the connection the calls were sent on is gone",
            )));
        };
        let value = match conn.recv_response() {
            Ok(v) => v,
            Err(e) => {
                // Whatever failed, the wire is out of step now: the connection goes.
                self.conn = None;
                self.sent.clear();
                return Err(e);
            }
        };
        let reply = value
            .extract_error()
            .and_then(|v| redis::from_redis_value::<String>(v).map_err(Into::into));
        if let Some(s) = self.sent.iter_mut().find(|s| s.reply.is_none()) {
            s.reply = Some(reply);
        }
        Ok(())
    }

    /// Sends one of the library's functions without reading its reply: `function`'s
    /// call with `args`, a report and a take (`report`) or a take alone, for consumer
    /// `me` of `hunt`.
    pub(super) fn send(
        &mut self,
        function: fn(&Library) -> &String,
        args: Vec<String>,
        (hunt, me): (&str, &Me),
        report: bool,
    ) -> Result<()> {
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(function(library())).arg(0).arg(&args);
        let packed = cmd.get_packed_command();
        // Not through `call_raw`: a send leaves the replies before it on the wire.
        let result = self.conn().and_then(|c| c.send_packed_command(&packed));
        if let Err(e) = result {
            self.dropped_if_broken(&e);
            return Err(explain(&e, &self.url));
        }
        self.sent.push_back(Sent {
            function,
            args,
            hunt: hunt.to_string(),
            me: me.clone(),
            report,
            reply: None,
        });
        Ok(())
    }

    /// [`Broker::receive`].
    pub(super) fn receive_sent(&mut self) -> Result<(Option<Finished>, Take)> {
        if self.sent.front().is_some_and(|s| s.reply.is_none()) {
            self.read_one().map_err(|e| explain(&e, &self.url))?;
        }
        let Some(sent) = self.sent.pop_front() else {
            bail!("no call was sent on this connection, so there is no reply to receive");
        };
        let reply = match sent.reply.expect("read just above") {
            Ok(reply) => reply,
            // A fresh server, or one restarted without persistence: the call runs again
            // once the library is loaded (every reply before it was read, so this call
            // is the next on the wire).
            Err(e) if missing_function(&e) => self.run(sent.function, &sent.args)?,
            Err(e) => return Err(explain(&e, &self.url)),
        };
        if sent.report {
            let (finished, take) = finished_and_taken(self, &sent.hunt, &sent.me, &reply)?;
            Ok((Some(finished), take))
        } else {
            Ok((None, taken_or_again(self, &sent.hunt, &sent.me, &reply)?))
        }
    }
}

/// The leading arguments of the finish and fail scripts (`fail.lua` also hands a task
/// back): the hunt's key prefix, who reports, and which lease of which task it reports
/// on, in the order the scripts read them.
pub(super) fn lease_args(hunt: &str, me: &Me, lease: &Lease) -> Vec<String> {
    vec![
        prefix(hunt),
        me.consumer.clone(),
        me.label(),
        lease.token.clone(),
        lease.task.id.to_string(),
        lease.attempt.to_string(),
    ]
}

/// The arguments of the take function.
pub(super) fn take_args(r: &mut Redis, hunt: &str, me: &Me) -> Result<Vec<String>> {
    let lease_ms = shape(r, hunt)?.lease_ms;
    Ok(vec![prefix(hunt), me.consumer.clone(), me.label(), lease_ms.to_string(), "1".to_string()])
}

/// The arguments of the finish_take function: a report's, then the lease of the take.
pub(super) fn finish_take_args(r: &mut Redis, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<Vec<String>> {
    let lease_ms = shape(r, hunt)?.lease_ms;
    let mut args = finish_args(hunt, me, lease, done)?;
    args.push(lease_ms.to_string());
    Ok(args)
}

/// What a finish_take reply (`WORD JSON`) says: what the report did, and the take.
pub(super) fn finished_and_taken(r: &mut Redis, hunt: &str, me: &Me, reply: &str) -> Result<(Finished, Take)> {
    let Some((word, json)) = reply.split_once(' ') else {
        bail!("the broker's finish_take script said {reply:?}, which hunt does not know: is another version of hunt's scripts loaded there?");
    };
    let finished = crate::broker::contract::finished(word)?;
    Ok((finished, taken_or_again(r, hunt, me, json)?))
}

/// The take a take's JSON reply says; an `again` take (many entries used up at once)
/// takes again, passing over the rest.
fn taken_or_again(r: &mut Redis, hunt: &str, me: &Me, json: &str) -> Result<Take> {
    let shape = shape(r, hunt)?;
    match taken(json, &shape)? {
        Some(t) => Ok(t),
        None => r.take(hunt, me),
    }
}

/// The arguments of the finish script (and the first of finish_take's).
pub(super) fn finish_args(hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<Vec<String>> {
    let mut args = lease_args(hunt, me, lease);
    args.extend([
        serde_json::to_string(&done.tally)?,
        done.found.map_or("-1".to_string(), |i| i.to_string()),
        u8::from(done.cut_short).to_string(),
        done.why.clone(),
        hunt.to_string(),
    ]);
    Ok(args)
}
