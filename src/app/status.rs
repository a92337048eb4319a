//! `hunt status`: reads a broker's task table ([`crate::broker::status`]) and prints
//! it, as tables or (`--json`) one object; `--watch` redraws it every second until
//! Ctrl-C.

use crate::broker::status::{read, Status};
use crate::cli::StatusArgs;
use crate::exit::ExitCode;
use crate::output;
use crate::tasks::TaskSummary;
use anyhow::Result;
use std::fmt::Write;
use std::time::Duration;

/// Runs `hunt status`.
pub(super) fn run(args: StatusArgs) -> Result<ExitCode> {
    crate::broker::tls::use_ca(args.broker_ca.as_deref())?;
    let mut broker = crate::broker::connect_existing(&args.broker)?;
    loop {
        let status = read(broker.as_mut(), args.hunt.as_deref())?;
        let text = if args.json {
            serde_json::to_string(&status)?
        } else {
            render(&status)
        };
        if args.watch && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            // Clear the screen and go home, as watch(1) does.
            output::bytes(b"\x1b[H\x1b[2J")?;
        }
        output::line(text.trim_end())?;
        if !args.watch {
            return Ok(ExitCode::Succeeded);
        }
        for _ in 0..20 {
            crate::interrupt::check()?;
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn render(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "broker {}", s.broker);
    if s.hunts.is_empty() {
        let _ = writeln!(out, "no current or recent hunts");
    }
    for h in &s.hunts {
        let spec = &h.spec;
        let needle = crate::sys::hex::unhex(&spec.needle_hex).unwrap_or_default();
        let _ = writeln!(
            out,
            "\nhunt {}  {}  on {}, needle {:?}, tasks of {} files, lease {}, {} attempts",
            spec.id,
            h.state,
            spec.identity.summary,
            String::from_utf8_lossy(&needle),
            spec.batch,
            crate::units::secs(spec.lease_ms as f64 / 1000.0),
            spec.max_attempts
        );
        if let Some(a) = &h.answer {
            let _ = writeln!(
                out,
                "  answer: file index {}, found by {} in task {}",
                a.index, a.worker, a.task
            );
        }
        let c = TaskSummary::of(&h.tasks);
        let _ = writeln!(
            out,
            "  tasks: {} NotStarted, {} Running, {} Completed, {} Failed ({} retries)",
            c.not_started, c.running, c.completed, c.failed, c.retries
        );
        for (worker, why) in &h.refused {
            let _ = writeln!(out, "  refused by {worker}: {why}");
        }
        let _ = writeln!(
            out,
            "  {:>6}  {:<21}  {:<10}  {:<28}  {:>8}  note",
            "task", "search positions", "state", "worker", "attempts"
        );
        for t in &h.tasks {
            let line = format!(
                "  {:>6}  {:<21}  {:<10}  {:<28}  {:>8}  {}",
                t.id,
                format!("{}..{}", t.range.start, t.range.end),
                t.state.name(),
                t.worker.as_deref().unwrap_or("-"),
                t.attempts,
                t.note.as_deref().unwrap_or("")
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    let _ = writeln!(
        out,
        "\nworkers heard from in the last minute: {}",
        s.workers.len()
    );
    if !s.workers.is_empty() {
        let _ = writeln!(
            out,
            "  {:<28}  {:<16}  {:>8}  {:>7}  {:<30}  last heard",
            "name", "host", "pid", "threads", "folder"
        );
    }
    for w in &s.workers {
        let ago = s.now_ms.saturating_sub(w.last_seen_ms) as f64 / 1000.0;
        let _ = writeln!(
            out,
            "  {:<28}  {:<16}  {:>8}  {:>7}  {:<30}  {} ago",
            w.name,
            w.host,
            w.pid,
            w.threads,
            w.dir,
            crate::units::secs(ago.max(0.0))
        );
    }
    out
}
