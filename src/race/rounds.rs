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
    // the race ends; a strategy whose server is missing sits out with one line.
    let mut services: Vec<Box<dyn Service>> = Vec::new();
    let mut knob_args: Vec<(StrategyKind, Vec<OsString>)> = Vec::new();
    for &strategy in &opts.strategies {
        let mut knobs = opts.knobs.clone();
        match strategy.race_service(&opts.knobs)? {
            RaceService::None => {}
            RaceService::Shared(service) => {
                for (knob, value) in service.knobs() {
                    knobs.set(knob, value);
                }
                services.push(service);
            }
            RaceService::SitOut(why) => {
                observer.note(&format!("note: {strategy} sits out: {why}"));
                continue;
            }
        }
        knob_args.push((strategy, knobs.args_for(strategy.facts().knobs)));
    }
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
        })
        .collect();
    if opts.cache == CacheMode::Cold {
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
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
    let n = manifest.files;
    let total_rounds = opts.warmup + opts.runs;
    let traced_runs = if opts.timelines {
        tracks.len() as u64
    } else {
        0
    };
    observer.start(total_rounds * tracks.len() as u64 + traced_runs);
    let mut results = summarize(opts, manifest, &tracks, 0);
    let mut synced = false;
    let expect = match opts.full_scan {
        Some(_) => runner::Expect::FullScan { files: n },
        None => runner::Expect::Treasure(manifest.treasure_index),
    };
    if opts.timelines {
        // Its own stream of the seed: the rounds' draws do not depend on --report.
        let mut place = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
        place.set_stream(1);
        let position = place.gen_range(0..n);
        let rotate = rotate_for(manifest.treasure_index, position, n);
        let folder = tempfile::Builder::new()
            .prefix("hunt-race-traces-")
            .tempdir()
            .map_err(|e| anyhow::anyhow!("cannot make a folder for the traced runs: {e}"))?;
        for (i, track) in tracks.iter().enumerate() {
            crate::interrupt::check()?;
            let c = track.contender;
            observer.running(&format!("{c}, traced run"));
            prepare_cache(opts, n, &mut synced)?;
            let path = folder.path().join(format!("{i}.json"));
            let spec = run_spec(opts, &knob_args, c, rotate, Some(&path));
            let timeline = runner::run(exe, &spec, expect).and_then(|_| {
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
            });
            observer.ran(&c);
        }
    }
    for round in 0..total_rounds {
        let position = rng.gen_range(0..n);
        let rotate = rotate_for(manifest.treasure_index, position, n);
        // The whole list is shuffled even when some have failed, so the draws (and the
        // treasure's places) do not depend on failures.
        let mut order: Vec<usize> = (0..tracks.len()).collect();
        order.shuffle(&mut rng);
        for i in order {
            let track = &mut tracks[i];
            // Ctrl-C: stop between runs; the exports keep the rounds already done.
            crate::interrupt::check()?;
            if track.failed.is_none() {
                observer.running(&if round < opts.warmup {
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
                prepare_cache(opts, n, &mut synced)?;
                let spec = run_spec(opts, &knob_args, track.contender, rotate, None);
                let run = runner::run(exe, &spec, expect);
                // A run cut short by Ctrl-C (the child killed by us, or by the same
                // signal from the terminal) is not the contender's failure.
                crate::interrupt::check()?;
                match run {
                    Err(e) => {
                        let when = if round < opts.warmup {
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
                    Ok(m) if round >= opts.warmup => {
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
                    Ok(_) => {} // a warm-up run: checked, not kept
                }
            }
            observer.ran(&track.contender);
        }
        if round >= opts.warmup {
            results = summarize(opts, manifest, &tracks, round - opts.warmup + 1);
            observer.round_done(&results)?;
        }
    }
    drop(services);
    Ok(results)
}

/// With `--cache cold`, evicts the data set before a run (syncing once, before the first).
fn prepare_cache(opts: &RaceOptions, files: u64, synced: &mut bool) -> Result<()> {
    if opts.cache == CacheMode::Cold {
        runner::evict(&opts.dir, files, !*synced).map_err(anyhow::Error::msg)?;
        *synced = true;
    }
    Ok(())
}

/// The `hunt search` child of one run: the contender, the treasure's place, its knobs.
fn run_spec<'a>(
    opts: &'a RaceOptions,
    knob_args: &'a [(StrategyKind, Vec<OsString>)],
    contender: super::Contender,
    rotate: u64,
    trace: Option<&'a Path>,
) -> runner::RunSpec<'a> {
    runner::RunSpec {
        dir: &opts.dir,
        strategy: contender.strategy,
        workers: contender.workers,
        reader: opts.reader,
        rotate,
        needle: opts.full_scan.as_deref(),
        knobs: knob_args
            .iter()
            .find(|(s, _)| *s == contender.strategy)
            .map_or(&[][..], |(_, a)| a),
        trace,
    }
}
