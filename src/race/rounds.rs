//! The round loop: every contender once per round, in an order shuffled per round, the
//! treasure at a place drawn per round, the exports rewritten after each round; and,
//! before the rounds when a report is asked for, one traced run per contender.

use super::plan::{contenders, rotate_for};
use super::results::{summarize, RaceResults, Sample, Track};
use super::{runner, CacheMode, Observer, RaceOptions, TracedRun};
use crate::dataset::manifest::Manifest;
use crate::strategy::{RaceService, Service, StrategyKind};
use anyhow::Result;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::ffi::OsString;
use std::path::Path;

/// Runs a race on the data set `manifest` describes, with `exe` as the `hunt` binary.
pub fn run(
    opts: &RaceOptions,
    manifest: &Manifest,
    exe: &Path,
    observer: &mut dyn Observer,
) -> Result<RaceResults> {
    // Services some strategies share for the whole race (a private broker), kept until
    // the race ends.
    let (services, knob_args) = sign_up(opts, observer)?;
    let racing: Vec<StrategyKind> = knob_args.iter().map(|(s, _)| *s).collect();
    if racing.is_empty() {
        anyhow::bail!("no strategy can run here (see the notes above): add what they need, or pick others with --strategies");
    }
    let mut tracks: Vec<Track> = contenders(&racing, &opts.workers)
        .into_iter()
        .map(|contender| Track {
            contender,
            samples: Vec::new(),
            failed: None,
            faulted: Vec::new(),
        })
        .collect();
    if opts.cache == CacheMode::Cold {
        cold_cache_notes(opts, observer);
    }
    let deadline = super::faults::deadline(&racing, &opts.knobs);
    if let Some(kind) = opts.fault {
        observer.note(&super::faults::note(kind, deadline));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
    let total_rounds = opts.warmup + opts.runs;
    let traced_runs = match (opts.timelines, opts.fault) {
        (false, _) => 0,
        (true, None) => tracks.len() as u64,
        // A faulted traced run beside each plain one.
        (true, Some(_)) => 2 * tracks.len() as u64,
    };
    let faulted_runs = if opts.fault.is_some() {
        opts.runs * tracks.len() as u64
    } else {
        0
    };
    observer.start(total_rounds * tracks.len() as u64 + traced_runs + faulted_runs);
    let mut results = summarize(opts, manifest, &tracks, 0);
    let mut race = Race {
        opts,
        manifest,
        exe,
        knob_args,
        expect: match opts.full_scan {
            Some(_) => runner::Expect::FullScan {
                files: manifest.files,
            },
            None => runner::Expect::Treasure(manifest.treasure_index),
        },
        synced: false,
        deadline,
        services,
    };
    if opts.timelines {
        race.traced_runs(&tracks, observer)?;
    }
    for round in 0..total_rounds {
        race.round(round, &mut tracks, &mut rng, observer)?;
        if round >= opts.warmup {
            results = summarize(opts, manifest, &tracks, round - opts.warmup + 1);
            observer.round_done(&results)?;
        }
    }
    // The race's services (private brokers) stop as `race` is dropped.
    drop(race);
    Ok(results)
}

/// Each strategy's knobs as `hunt search` arguments, and the services some share for
/// the whole race (a private broker, whose address joins their knobs); a strategy whose
/// server is missing sits out with one line.
fn sign_up(opts: &RaceOptions, observer: &mut dyn Observer) -> Result<(Services, KnobArgs)> {
    let mut services: Services = Vec::new();
    let mut knob_args = KnobArgs::new();
    for &strategy in &opts.strategies {
        if let Some(why) = opts
            .fault
            .and_then(|kind| super::faults::sit_out(kind, strategy))
        {
            let kind = opts.fault.map_or("", |k| k.name());
            observer.note(&format!("note: {strategy} sits out --fault {kind}: {why}"));
            continue;
        }
        let mut knobs = opts.knobs.clone();
        match strategy.race_service(&opts.knobs)? {
            RaceService::None if opts.fault == Some(crate::fault::FaultKind::KillBroker) => {
                observer.note(&format!(
                    "note: {strategy} sits out --fault kill-broker: the race kills only a private broker of its own, and --broker names another"
                ));
                continue;
            }
            RaceService::None => {}
            RaceService::Shared(service) => {
                let cannot = service.cannot_restart();
                if let Some(why) =
                    cannot.filter(|_| opts.fault == Some(crate::fault::FaultKind::KillBroker))
                {
                    observer.note(&format!(
                        "note: {strategy} sits out --fault kill-broker: {why}"
                    ));
                    continue;
                }
                for (knob, value) in service.knobs() {
                    knobs.set(knob, value);
                }
                services.push((strategy, service));
            }
            RaceService::SitOut(why) => {
                observer.note(&format!("note: {strategy} sits out: {why}"));
                continue;
            }
        }
        knob_args.push((strategy, knobs.args_for(strategy.facts().knobs)));
    }
    Ok((services, knob_args))
}

/// What `--cache cold` does and does not evict, and where it cannot.
fn cold_cache_notes(opts: &RaceOptions, observer: &mut dyn Observer) {
    observer.note(
        "note: --cache cold evicts every data file from the page cache before each run (posix_fadvise DONTNEED); directory entries and inodes stay cached, so opening a file is still cheap",
    );
    if runner::on_tmpfs(&opts.dir) {
        observer.note(&format!(
            "warning: {} is on tmpfs, whose files live in memory and cannot be evicted: --cache cold is the same as warm there",
            opts.dir.display()
        ));
    }
}

/// Each racing strategy's knobs, as `hunt search` arguments.
type KnobArgs = Vec<(StrategyKind, Vec<OsString>)>;

/// The services racing strategies share for the whole race, by strategy.
type Services = Vec<(StrategyKind, Box<dyn Service>)>;

/// One race under way: what every run of it shares.
struct Race<'a> {
    opts: &'a RaceOptions,
    manifest: &'a Manifest,
    exe: &'a Path,
    knob_args: KnobArgs,
    /// What every run must answer.
    expect: runner::Expect,
    /// Whether `--cache cold` has synced the disk yet (once, before the first run).
    synced: bool,
    /// `--fault`: a faulted run not done by then is killed and counted as hung.
    deadline: std::time::Duration,
    /// The services of the race (`--fault kill-broker` kills and restarts one).
    services: Services,
}

impl Race<'_> {
    /// One untimed traced run per contender, the treasure at one place for all.
    fn traced_runs(&mut self, tracks: &[Track], observer: &mut dyn Observer) -> Result<()> {
        let (opts, n) = (self.opts, self.manifest.files);
        // Its own stream of the seed: the rounds' draws do not depend on --report.
        let mut place = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
        place.set_stream(1);
        let position = place.gen_range(0..n);
        let rotate = rotate_for(self.manifest.treasure_index, position, n);
        let folder = tempfile::Builder::new()
            .prefix("hunt-race-traces-")
            .tempdir()
            .map_err(|e| anyhow::anyhow!("cannot make a folder for the traced runs: {e}"))?;
        for (i, track) in tracks.iter().enumerate() {
            crate::interrupt::check()?;
            let c = track.contender;
            observer.running(&format!("{c}, traced run"));
            self.prepare_cache()?;
            let path = folder.path().join(format!("{i}.json"));
            let spec = self.spec(c, rotate, Some(&path));
            let timeline = runner::run(self.exe, &spec, self.expect).and_then(|_| {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("its trace cannot be read: {e}"))?;
                crate::trace::chrome::read(&text).map_err(|e| format!("{e:#}"))
            });
            crate::interrupt::check()?;
            if let Err(e) = &timeline {
                observer.note(&format!(
                    "warning: the traced run of {c} failed, so the report has no timeline for it: {e}"
                ));
            }
            observer.traced(TracedRun {
                contender: c,
                position,
                timeline,
                fault: None,
            });
            observer.ran(&c);
            if let Some(kind) = opts.fault {
                let path = folder.path().join(format!("{i}-fault.json"));
                self.traced_faulted(c, kind, rotate, position, &path, observer)?;
            }
        }
        Ok(())
    }

    /// One untimed traced run of `c` under `kind`, for the report's timeline of a
    /// faulted run.
    fn traced_faulted(
        &mut self,
        c: super::Contender,
        kind: crate::fault::FaultKind,
        rotate: u64,
        position: u64,
        path: &Path,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        observer.running(&format!("{c}, traced run under --fault {}", kind.name()));
        self.prepare_cache()?;
        let run = self.faulted(c, kind, rotate, Some(path));
        crate::interrupt::check()?;
        let timeline = run.and_then(|_| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("its trace cannot be read: {e}"))?;
            crate::trace::chrome::read(&text).map_err(|e| format!("{e:#}"))
        });
        if let Err(e) = &timeline {
            observer.note(&format!(
                "warning: the traced run of {c} under --fault {} gave no timeline: {e}",
                kind.name()
            ));
        }
        observer.traced(TracedRun {
            contender: c,
            position,
            timeline,
            fault: Some(kind),
        });
        observer.ran(&c);
        Ok(())
    }

    /// Round `round`: the treasure's place drawn, then every contender once, in a
    /// shuffled order.
    fn round(
        &mut self,
        round: u64,
        tracks: &mut [Track],
        rng: &mut rand_chacha::ChaCha8Rng,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let n = self.manifest.files;
        let position = rng.gen_range(0..n);
        let rotate = rotate_for(self.manifest.treasure_index, position, n);
        // The whole list is shuffled even when some have failed, so the draws (and the
        // treasure's places) do not depend on failures. With `--fault`, each contender's
        // faulted run of a timed round is one more entry, shuffled with the plain ones.
        let faulted = self.opts.fault.is_some() && round >= self.opts.warmup;
        let mut order: Vec<(usize, bool)> = (0..tracks.len()).map(|i| (i, false)).collect();
        if faulted {
            order.extend((0..tracks.len()).map(|i| (i, true)));
        }
        order.shuffle(rng);
        for (i, fault) in order {
            let track = &mut tracks[i];
            // Ctrl-C: stop between runs; the exports keep the rounds already done.
            crate::interrupt::check()?;
            if track.failed.is_none() {
                if fault {
                    self.run_faulted(track, round, rotate, observer)?;
                } else {
                    self.run_once(track, round, position, rotate, observer)?;
                }
            }
            observer.ran(&track.contender);
        }
        Ok(())
    }

    /// One faulted run of `track`'s contender (`--fault`): its answer sorted into an
    /// outcome, or the contender marked failed when the child crashed.
    fn run_faulted(
        &mut self,
        track: &mut Track,
        round: u64,
        rotate: u64,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let Some(kind) = self.opts.fault else {
            return Ok(());
        };
        let timed = round - self.opts.warmup + 1;
        observer.running(&format!(
            "{}, round {timed} of {}, --fault {}",
            track.contender,
            self.opts.runs,
            kind.name()
        ));
        self.prepare_cache()?;
        let run = self.faulted(track.contender, kind, rotate, None);
        crate::interrupt::check()?;
        match run {
            Ok(mut s) => {
                s.round = timed;
                track.faulted.push(s);
            }
            Err(e) => {
                let e = format!("round {timed} with --fault {}: {e}", kind.name());
                observer.note(&format!("error: {} failed in {e}", track.contender));
                track.failed = Some(e);
            }
        }
        Ok(())
    }

    /// One timed run of `track`'s contender: a sample kept (after the warm-up), or the
    /// contender marked failed.
    fn run_once(
        &mut self,
        track: &mut Track,
        round: u64,
        position: u64,
        rotate: u64,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let opts = self.opts;
        let warmup = round < opts.warmup;
        observer.running(&if warmup {
            format!(
                "{}, warm-up round {} of {}",
                track.contender,
                round + 1,
                opts.warmup
            )
        } else {
            format!(
                "{}, round {} of {}",
                track.contender,
                round - opts.warmup + 1,
                opts.runs
            )
        });
        self.prepare_cache()?;
        let spec = self.spec(track.contender, rotate, None);
        let run = runner::run(self.exe, &spec, self.expect);
        // A run cut short by Ctrl-C (the child killed by us, or by the same
        // signal from the terminal) is not the contender's failure.
        crate::interrupt::check()?;
        match run {
            Err(e) => {
                let when = if warmup {
                    format!("warm-up round {}", round + 1)
                } else {
                    format!("round {}", round - opts.warmup + 1)
                };
                observer.note(&format!("error: {} failed in {when}: {e}", track.contender));
                track.failed = Some(format!("{when}: {e}"));
            }
            Ok(m) if m.report.workers != track.contender.workers => {
                let e = format!(
                    "asked for {} workers, hunt search used {}",
                    track.contender.workers, m.report.workers
                );
                observer.note(&format!("error: {} failed: {e}", track.contender));
                track.failed = Some(e);
            }
            Ok(_) if warmup => {} // a warm-up run: checked, not kept
            Ok(m) => {
                let r = &m.report;
                track.samples.push(Sample {
                    round: round - opts.warmup + 1,
                    position,
                    rotate,
                    hunt_s: r.elapsed_s,
                    wall_s: m.wall_s,
                    setup_s: r.setup_s,
                    time_to_find_s: r.time_to_find_s,
                    stop_latency_s: r.stop_latency_s,
                    files_scanned: r.files_scanned,
                    bytes_scanned: r.bytes_scanned,
                    files_after_find: r.files_after_find,
                    peak_rss_kib: m.peak_rss_kib,
                });
            }
        }
        Ok(())
    }

    /// One faulted `hunt search` of `c` ([`super::faults::run`]), with its strategy's
    /// service to restart for `kill-broker`.
    fn faulted(
        &mut self,
        c: super::Contender,
        kind: crate::fault::FaultKind,
        rotate: u64,
        trace: Option<&Path>,
    ) -> std::result::Result<super::faults::FaultSample, String> {
        // Taken out while the run borrows the race, put back after.
        let mut services = std::mem::take(&mut self.services);
        let spec = self.spec(c, rotate, trace);
        let pause = super::faults::pause_for(c.strategy, &self.opts.knobs);
        let mut service = services
            .iter_mut()
            .find(|(s, _)| *s == c.strategy)
            .map(|(_, service)| service);
        let mut restart = || match service.as_mut() {
            Some(s) => s.kill_and_restart().map_err(|e| format!("{e:#}")),
            None => Err("the race has no broker of its own for it".to_string()),
        };
        let run = super::faults::run(
            self.exe,
            &spec,
            self.manifest.treasure_index,
            (kind, pause, self.deadline),
            &mut restart,
        );
        self.services = services;
        run
    }

    /// With `--cache cold`, evicts the data set before a run (syncing once, before the
    /// first).
    fn prepare_cache(&mut self) -> Result<()> {
        if self.opts.cache == CacheMode::Cold {
            runner::evict(&self.opts.dir, self.manifest.files, !self.synced)
                .map_err(anyhow::Error::msg)?;
            self.synced = true;
        }
        Ok(())
    }

    /// The `hunt search` child of one run: the contender, the treasure's place, its knobs.
    fn spec<'s>(
        &'s self,
        contender: super::Contender,
        rotate: u64,
        trace: Option<&'s Path>,
    ) -> runner::RunSpec<'s> {
        runner::RunSpec {
            dir: &self.opts.dir,
            strategy: contender.strategy,
            workers: contender.workers,
            reader: self.opts.reader,
            rotate,
            needle: self.opts.full_scan.as_deref(),
            knobs: self
                .knob_args
                .iter()
                .find(|(s, _)| *s == contender.strategy)
                .map_or(&[][..], |(_, a)| a),
            trace,
        }
    }
}
