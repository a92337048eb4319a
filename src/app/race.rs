//! `hunt race`: the sweep, with a progress bar and notes on stderr, the table on stdout
//! (or on stderr when an export takes stdout) fitted to its terminal's width, exports
//! rewritten after every round.

use crate::cli::{RaceArgs, DEFAULT_DIR};
use crate::dataset::generate;
use crate::exit::ExitCode;
use crate::report::{self, Dest, Exporter};
use crate::settings::RaceSettings;
use crate::{fileset, output, race, units};
use anyhow::{Context, Result};
use std::path::PathBuf;

pub(super) fn run(args: RaceArgs) -> Result<ExitCode> {
    let settings = RaceSettings::from_args(args)?;
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find the hunt binary to run: {e}"))?;
    let dir = data_set(settings.dir.clone())?;
    let (_, manifest) = fileset::load_dataset(&dir)?;
    if !settings.left_out.is_empty() {
        let names: Vec<&str> = settings.left_out.iter().map(|k| k.name()).collect();
        output::err(&format!(
            "note: {} sit(s) out: left out of this build by its cargo feature (`cargo build --release --features NAME` adds it), or no {} reader",
            names.join(", "),
            settings.reader.name()
        ));
    }
    let full_scan = if settings.full_scan {
        Some(race::full_scan_needle(&manifest)?)
    } else {
        None
    };
    let seed = match settings.seed {
        Some(s) => s,
        None => {
            let s: u64 = rand::random();
            output::err(&format!(
                "seed {s} (--seed {s} repeats this race's order and treasure places)"
            ));
            s
        }
    };
    let opts = race::RaceOptions {
        dir,
        strategies: settings.strategies,
        workers: settings.workers,
        reader: settings.reader,
        runs: settings.runs,
        warmup: settings.warmup,
        cache: settings.cache,
        full_scan,
        seed,
        knobs: settings.knobs,
        timelines: settings
            .exports
            .iter()
            .any(|e| e.format == report::Format::Html),
        fault: settings.fault,
    };
    if !opts.strategies.contains(&race::BASELINE) {
        output::err(&format!(
            "note: {} is not in --strategies, so there are no speedups",
            race::BASELINE
        ));
    }

    let exports = settings.exports;
    let mut ui = RaceUi {
        bar: indicatif::ProgressBar::hidden(),
        exports: &exports,
        context: report::Context {
            timelines: Vec::new(),
            machine: crate::sys::host::Machine::this(),
            command: crate::settings::command_line(),
        },
    };
    let results = race::run(&opts, &manifest, &exe, &mut ui)?;
    ui.bar.finish_and_clear();

    // With an export on stdout, stdout carries only that export; the table moves to
    // stderr so `hunt race --export-json - | jq` works. The noisy contenders' warning
    // is the table's last block, after the verdicts.
    let on_stdout = exports.iter().find(|e| e.dest == Dest::Stdout);
    let width = table_width(
        std::env::var("COLUMNS").ok().as_deref(),
        if on_stdout.is_some() {
            libc::STDERR_FILENO
        } else {
            libc::STDOUT_FILENO
        },
    );
    let table = String::from_utf8(report::table::Table { width }.render(&results)?)?;
    match on_stdout {
        Some(e) => {
            output::err_raw(&table);
            output::bytes(&e.format.exporter(&ui.context).render(&results)?)?;
        }
        None => output::line(table.trim_end())?,
    }
    let failed = results
        .contenders
        .iter()
        .filter(|c| c.failed.is_some())
        .count();
    if failed > 0 {
        output::err(&format!(
            "{failed} of {} contenders failed (see above); the results of the others stand",
            results.contenders.len()
        ));
        return Ok(ExitCode::Error);
    }
    Ok(ExitCode::Succeeded)
}

/// The width the terminal table must fit, in characters:
/// - `COLUMNS`, when set to a whole number (10 or more): the user's or a script's
///   choice, even when the table goes to a file or a pipe;
/// - otherwise, when `fd` (where the table goes) is a terminal, that terminal's width,
///   or 100 if the terminal does not tell it;
/// - otherwise (a file or a pipe, which have no width) no limit: every terminal column.
fn table_width(columns: Option<&str>, fd: libc::c_int) -> Option<usize> {
    if let Some(n) = columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&n| n >= 10)
    {
        return Some(n);
    }
    // SAFETY: isatty only reads the descriptor's kind.
    if unsafe { libc::isatty(fd) } != 1 {
        return None;
    }
    // SAFETY: an all-zero winsize is valid to be overwritten; the result is checked.
    let cols = unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0 {
            ws.ws_col as usize
        } else {
            0
        }
    };
    Some(if cols >= 10 { cols } else { 100 })
}

/// The data set to race on: `--dir`, or the default folder, generated first when it has
/// no data set.
fn data_set(dir: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = dir {
        return Ok(dir);
    }
    let dir = PathBuf::from(DEFAULT_DIR);
    if !dir.join(crate::dataset::manifest::MANIFEST_NAME).is_file() {
        output::err(&format!(
            "no data set in {DEFAULT_DIR}: generating the default one first ({} files of {} lines)",
            generate::DEFAULT_FILES,
            generate::DEFAULT_LINES
        ));
        let spec = generate::spec(dir.clone(), None, None, None, None, None, false)?;
        let done = generate::generate(&spec).with_context(|| {
            format!("cannot make the default data set in {DEFAULT_DIR} (see `hunt generate --help`), or pass --dir")
        })?;
        output::err(&format!(
            "wrote {} files ({}) to {DEFAULT_DIR} in {}",
            done.manifest.files,
            units::bytes(done.manifest.total_bytes),
            units::duration(done.elapsed)
        ));
    }
    Ok(dir)
}

/// The race's face: a progress bar (the contender running, the time left) and notes on
/// stderr, exports rewritten each round.
struct RaceUi<'a> {
    bar: indicatif::ProgressBar,
    exports: &'a [report::Export],
    /// The traced runs, the machine and the command, for the report.
    context: report::Context,
}

impl race::Observer for RaceUi<'_> {
    fn note(&mut self, line: &str) {
        if self.bar.is_hidden() {
            output::err(line);
        } else {
            self.bar.println(format!("hunt: {line}"));
        }
    }

    fn start(&mut self, total: u64) {
        // The stderr target draws nothing when stderr is not a terminal.
        self.bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} racing {pos}/{len} runs [{bar:30}] about {eta} left, now {msg}",
        ) {
            self.bar.set_style(style);
        }
    }

    fn running(&mut self, what: &str) {
        self.bar.set_message(what.to_string());
    }

    fn ran(&mut self, _contender: &race::Contender) {
        self.bar.inc(1);
    }

    fn traced(&mut self, run: race::TracedRun) {
        // Only the chart is kept: a few kB, where the timeline holds every event.
        self.context.timelines.push(report::html::Chart::of(&run));
        drop(run);
        // Reading the trace took a few MB that glibc would keep for later, and every
        // later child starts from this process's size (its peak-memory figure): give
        // them back now.
        #[cfg(target_env = "gnu")]
        // SAFETY: malloc_trim only releases free memory.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    fn round_done(&mut self, results: &race::RaceResults) -> Result<()> {
        report::write_files(results, self.exports, &self.context)
    }
}

#[cfg(test)]
mod tests {
    use super::table_width;

    #[test]
    fn columns_wins_then_the_terminal_then_no_limit() {
        // The tests' stdin is no terminal (cargo test pipes or closes it), nor is a
        // closed descriptor.
        assert_eq!(table_width(Some("80"), -1), Some(80));
        assert_eq!(table_width(Some(" 120 "), -1), Some(120));
        assert_eq!(table_width(Some("wide"), -1), None);
        assert_eq!(table_width(Some("3"), -1), None);
        assert_eq!(table_width(None, -1), None);
    }
}
