//! The pipe protocol between a parent and a `hunt worker --pipe` process (the `spawn`
//! strategy): one request in, progress lines and one result out.
//!
//! # Request
//! The worker's command line names the folder (`hunt worker --pipe --dir D`, so `ps`
//! shows what it serves); everything else comes as the first line on its stdin, one JSON
//! object ([`Request`]):
//!
//! ```text
//! {"worker":1,"from":20,"to":40,"files":40,"reader":"read","rotate":0,"needle_hex":"5472..."}
//! ```
//!
//! The needle travels there, hex-encoded, not on the command line: the kernel caps one
//! argument at 128 KiB and all of them together (`E2BIG`), and a needle may be larger.
//! A traced hunt adds `"trace_epoch_ns":N`, the hunt's start on `CLOCK_MONOTONIC`
//! (which the parent and its workers share); a request without it is untraced.
//! After that line the pipe carries only the stop signal: end-of-file (the parent
//! closed it, or died) or a line `stop`.
//!
//! # Progress and result
//! The worker answers on stdout, one line per message ([`Msg`]):
//!
//! ```text
//! found <index>                                the treasure is in file <index>
//! error <index> <code>                         a file could not be read (errno; -1 not
//!                                              regular; -2 a symlink)
//! done <files> <bytes> <after_find> <errors>   its counts; it exits 0 next
//! fatal <message>                              it could not run; it exits 2 next
//! trace <code> <index> <start> <dur> <a> <b>   one event of a traced hunt's timeline
//! ```
//!
//! `trace` lines come only when the request asked for a trace, after `found` and the
//! `error` lines and before `done`: the six numbers of
//! [`crate::trace::Event::to_wire`] (its kind, end and lane packed in `code`; `start`
//! in nanoseconds since `trace_epoch_ns`). The other lines are unchanged, so an
//! untraced hunt's conversation is what it always was.
//!
//! Anything else is a broken worker: the parent reports it with the range it lost.

use crate::scan::Reader;
use crate::sys::hex::unhex;
// Re-exported for the callers that still name it here (the broker's files).
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// What one worker is asked to do: search positions `from..to` of the set in its
/// `--dir`, which must hold `files` files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// This worker's number, for messages and the test hook.
    pub worker: usize,
    /// First search position of its range.
    pub from: u64,
    /// One past its last search position.
    pub to: u64,
    /// Files the parent saw in the set; a worker that sees another count refuses.
    pub files: u64,
    /// How each file is read.
    pub reader: Reader,
    /// Rotation of the search order.
    pub rotate: u64,
    /// The needle, as hex.
    pub needle_hex: String,
    /// For a traced hunt, its start on `CLOCK_MONOTONIC`, in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_epoch_ns: Option<u64>,
}

impl Request {
    /// The request line, newline included.
    pub fn line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Parses the request line (without its newline).
    pub fn parse(line: &[u8]) -> Result<Request> {
        let req: Request = serde_json::from_slice(line)
            .context("the request line on stdin is not a hunt worker request")?;
        if req.from > req.to || req.to > req.files {
            bail!(
                "the request's range {}..{} does not fit its {} files",
                req.from,
                req.to,
                req.files
            );
        }
        Ok(req)
    }

    /// The needle's bytes.
    pub fn needle(&self) -> Result<Vec<u8>> {
        match unhex(&self.needle_hex) {
            Some(n) if !n.is_empty() => Ok(n),
            _ => bail!("the request's needle is not a non-empty hex string"),
        }
    }
}

/// One line a worker sends.
#[derive(Debug, PartialEq, Eq)]
pub enum Msg {
    /// `found <index>`.
    Found(u64),
    /// `error <index> <code>`.
    Error(u64, i32),
    /// `done <files> <bytes> <after_find> <errors>`.
    Done {
        /// Files read.
        files: u64,
        /// Bytes read.
        bytes: u64,
        /// Files read after the stop signal.
        after_find: u64,
        /// Files that failed, itemised or not.
        errors: u64,
    },
    /// `fatal <message>`.
    Fatal(String),
    /// `trace <code> <index> <start> <dur> <a> <b>`: a timeline event.
    Trace([u64; 7]),
}

impl Msg {
    /// Parses one line; `None` for anything outside the protocol.
    pub fn parse(line: &str) -> Option<Msg> {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let nums = || -> Option<Vec<u64>> { rest.split(' ').map(|x| x.parse().ok()).collect() };
        match word {
            "found" => Some(Msg::Found(rest.parse().ok()?)),
            "error" => {
                let (i, c) = rest.split_once(' ')?;
                Some(Msg::Error(i.parse().ok()?, c.parse().ok()?))
            }
            "done" => match nums()?.as_slice() {
                &[files, bytes, after_find, errors] => Some(Msg::Done {
                    files,
                    bytes,
                    after_find,
                    errors,
                }),
                _ => None,
            },
            "fatal" => Some(Msg::Fatal(rest.to_string())),
            "trace" => match nums()?.as_slice() {
                &[code, index, start, dur, a, b] => {
                    Some(Msg::Trace([code, index, start, dur, a, b, 0]))
                }
                _ => None,
            },
            _ => None,
        }
    }
}

impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Found(i) => write!(f, "found {i}"),
            Msg::Error(i, c) => write!(f, "error {i} {c}"),
            Msg::Done {
                files,
                bytes,
                after_find,
                errors,
            } => write!(f, "done {files} {bytes} {after_find} {errors}"),
            Msg::Fatal(why) => write!(f, "fatal {}", why.replace('\n', " ")),
            Msg::Trace([code, index, start, dur, a, b, _]) => {
                write!(f, "trace {code} {index} {start} {dur} {a} {b}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lines_parse_and_garbage_does_not() {
        assert_eq!(Msg::parse("found 12"), Some(Msg::Found(12)));
        assert_eq!(Msg::parse("error 3 -1"), Some(Msg::Error(3, -1)));
        assert_eq!(
            Msg::parse("done 1 2 3 4"),
            Some(Msg::Done {
                files: 1,
                bytes: 2,
                after_find: 3,
                errors: 4
            })
        );
        assert_eq!(
            Msg::parse("fatal no data"),
            Some(Msg::Fatal("no data".into()))
        );
        for bad in [
            "",
            "found",
            "found x",
            "done 1 2 3",
            "done 1 2 3 4 5",
            "hello",
            "error 1",
            "trace 1 2 3 4 5",
            "trace 1 2 3 4 5 x",
        ] {
            assert_eq!(Msg::parse(bad), None, "{bad:?}");
        }
        for m in [
            Msg::Found(7),
            Msg::Error(1, -2),
            Msg::Done {
                files: 1,
                bytes: 2,
                after_find: 0,
                errors: 3,
            },
            Msg::Fatal("gone".into()),
            Msg::Trace([258, 1, 2, 3, 4, 5, 0]),
        ] {
            assert_eq!(Msg::parse(&m.to_string()), Some(m));
        }
    }

    #[test]
    fn requests_round_trip_and_bad_ones_are_refused() {
        let r = Request {
            worker: 1,
            from: 2,
            to: 5,
            files: 5,
            reader: Reader::Mmap,
            rotate: 3,
            needle_hex: crate::sys::hex::hex(b"Treasure"),
            trace_epoch_ns: None,
        };
        let line = r.line();
        // An untraced request's line is the one it always was.
        assert!(!String::from_utf8_lossy(&line).contains("trace"));
        let traced = Request {
            trace_epoch_ns: Some(7),
            ..r.clone()
        };
        assert_eq!(
            Request::parse(traced.line().trim_ascii_end()).unwrap(),
            traced
        );
        assert_eq!(Request::parse(&line[..line.len() - 1]).unwrap(), r);
        assert_eq!(r.needle().unwrap(), b"Treasure");
        assert!(Request::parse(b"{}").is_err());
        let past = Request { to: 6, ..r.clone() };
        assert!(Request::parse(&past.line()[..]).is_err());
        let empty = Request {
            needle_hex: String::new(),
            ..r
        };
        assert!(empty.needle().is_err());
    }
}
