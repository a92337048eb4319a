//! Fixed results for the exporters' snapshot tests, and a race's context (traced runs,
//! the machine, the command) for the HTML report's.
use crate::race::stats::{Ratio, Summary};
use crate::race::CacheMode;
use crate::race::{ContenderResult, RaceResults, Sample};
use crate::scan::Reader;
use crate::strategy::StrategyKind;

fn sample(round: u64, hunt_s: f64, wall_s: f64) -> Sample {
    Sample {
        round,
        position: 3,
        rotate: 7,
        hunt_s,
        wall_s,
        setup_s: 0.0001,
        time_to_find_s: Some(hunt_s),
        stop_latency_s: Some(0.0),
        files_scanned: 4,
        bytes_scanned: 60_000,
        files_after_find: 0,
        peak_rss_kib: 3072,
    }
}

/// sequential x1 (baseline), rayon x2 (1.8 times faster) and fork x2 (failed).
pub fn results() -> RaceResults {
    let seq = ContenderResult {
        strategy: StrategyKind::Sequential,
        workers: 1,
        runs: 1,
        failed: None,
        hunt: Some(Summary {
            n: 1,
            median: 0.018,
            mean: 0.018,
            stddev: 0.0,
            min: 0.018,
            max: 0.018,
        }),
        wall: Some(Summary {
            n: 1,
            median: 0.0215,
            mean: 0.0215,
            stddev: 0.0,
            min: 0.0215,
            max: 0.0215,
        }),
        speedup: Some(Ratio::ONE),
        wall_speedup: Some(Ratio::ONE),
        efficiency: Some(1.0),
        files_scanned: Some(4.0),
        files_after_find: Some(0.0),
        stop_latency_s: Some(0.0),
        peak_rss_kib: Some(3072),
        noise: None,
        samples: vec![sample(1, 0.018, 0.0215)],
        outcomes: None,
        fault: None,
    };
    let rayon = ContenderResult {
        strategy: StrategyKind::Rayon,
        workers: 2,
        runs: 1,
        failed: None,
        hunt: Some(Summary {
            n: 1,
            median: 0.01,
            mean: 0.01,
            stddev: 0.0005,
            min: 0.0095,
            max: 0.0105,
        }),
        wall: Some(Summary {
            n: 1,
            median: 0.0125,
            mean: 0.0125,
            stddev: 0.0,
            min: 0.0125,
            max: 0.0125,
        }),
        speedup: Some(Ratio {
            value: 1.8,
            se: Some(0.09),
        }),
        wall_speedup: Some(Ratio {
            value: 1.72,
            se: None,
        }),
        efficiency: Some(0.9),
        files_scanned: Some(6.0),
        files_after_find: Some(1.5),
        stop_latency_s: Some(0.000_25),
        peak_rss_kib: Some(4096),
        noise: Some("hunt time per byte scanned: σ/mean is 0.31 (over 0.2)".into()),
        samples: vec![sample(1, 0.01, 0.0125)],
        outcomes: None,
        fault: None,
    };
    let fork = ContenderResult {
        strategy: StrategyKind::Fork,
        workers: 2,
        runs: 0,
        failed: Some("round 1: hunt search failed (exit 2): boom".into()),
        hunt: None,
        wall: None,
        speedup: None,
        wall_speedup: None,
        efficiency: None,
        files_scanned: None,
        files_after_find: None,
        stop_latency_s: None,
        peak_rss_kib: None,
        noise: None,
        samples: vec![],
        outcomes: None,
        fault: None,
    };
    RaceResults {
        hunt_version: "0.1.0".into(),
        dir: "data".into(),
        files: 10,
        total_bytes: 150_000,
        reader: Reader::Read,
        cache: CacheMode::Warm,
        full_scan: false,
        needle: "Treasure".into(),
        runs: 1,
        warmup: 0,
        rounds_done: 1,
        seed: 42,
        cores: 2,
        baseline: Some(StrategyKind::Sequential),
        contenders: vec![seq, rayon, fork],
        fault: None,
    }
}

/// Two traced runs and one that failed, with the treasure at position 3: sequential
/// (one worker, one task) and rayon x2, whose worker 1 finds the treasure at 2.5 us
/// while worker 0 reads one more file after the stop signal.
pub fn context() -> crate::report::Context {
    use crate::race::{Contender, TracedRun};
    use crate::sys::host::Machine;
    use crate::trace::{End, Event, Kind, Meta, Timeline, Track};
    let file = |index: u64, start: u64, stop: u64, end: End| Event {
        kind: Kind::File,
        end,
        lane: 0,
        index,
        start,
        dur: stop - start,
        a: index,
        b: 15_000,
    };
    let meta = |strategy: &str, workers: usize, files_scanned: u64| Meta {
        strategy: strategy.into(),
        workers,
        reader: "read".into(),
        dir: "data".into(),
        files: 10,
        found: Some(7),
        found_by: Some(format!("{strategy} worker {}", workers - 1)),
        files_scanned,
        elapsed_ns: 3_200,
        ..Meta::default()
    };
    let signal = vec![
        Event {
            dur: 3_200,
            ..Event::instant(Kind::Hunt, 0, 0)
        },
        Event::instant(Kind::StopSignal, 0, 2_500),
    ];
    let sequential = Timeline {
        meta: meta("sequential", 1, 2),
        hunt: signal.clone(),
        tracks: vec![Track {
            worker: "sequential worker 0".into(),
            process: None,
            events: vec![
                Event {
                    kind: Kind::Task,
                    a: 0,
                    b: 4,
                    ..file(0, 50, 2_600, End::Done)
                },
                file(6, 100, 2_000, End::Done),
                file(7, 2_000, 2_500, End::Found),
                Event::instant(Kind::Find, 7, 2_500),
                Event::instant(Kind::WorkerStop, 0, 2_600),
            ],
            dropped: 0,
        }],
    };
    let rayon = Timeline {
        meta: meta("rayon", 2, 5),
        hunt: signal,
        tracks: vec![
            Track {
                worker: "rayon worker 0".into(),
                process: None,
                events: vec![
                    file(0, 100, 2_000, End::Done),
                    file(1, 2_600, 2_900, End::Done),
                    Event::instant(Kind::WorkerStop, 0, 3_000),
                ],
                dropped: 0,
            },
            Track {
                worker: "rayon worker 1".into(),
                process: None,
                events: vec![
                    file(5, 100, 1_000, End::Done),
                    file(6, 1_000, 2_000, End::Done),
                    file(7, 2_000, 2_500, End::Found),
                    Event::instant(Kind::Find, 7, 2_500),
                    Event::instant(Kind::WorkerStop, 0, 2_600),
                ],
                dropped: 0,
            },
        ],
    };
    let run = |strategy, workers, timeline| {
        crate::report::html::Chart::of(&TracedRun {
            contender: Contender { strategy, workers },
            position: 3,
            timeline,
            fault: None,
        })
    };
    crate::report::Context {
        timelines: vec![
            run(StrategyKind::Sequential, 1, Ok(sequential)),
            run(StrategyKind::Rayon, 2, Ok(rayon)),
            run(StrategyKind::Fork, 2, Err("boom".to_string())),
        ],
        machine: Machine {
            host: "testhost".into(),
            cores: 2,
            cpu: "Test CPU @ 1.00GHz".into(),
            kernel: "Linux 6.1.0".into(),
            memory_bytes: 8 << 30,
        },
        command: "hunt race --report 'my report.html'".into(),
    }
}
