//! Properties of the hunt over small random data sets, checked with proptest through
//! the library (no process per case, so many cases run in seconds):
//! - a generated data set: whatever its size, treasure, rotation, strategy, reader and
//!   worker count, the hunt finds the manifest's treasure;
//! - a folder without a manifest (random files in random subfolders, the needle in at
//!   most one of them): every strategy and reader gives the same answer, the file the
//!   needle was put in, or a clean "not found" after reading every file;
//! - a needle across the read reader's chunk boundary or the mmap reader's window, at
//!   every offset around it: found by every strategy and reader.
use hunt::dataset::generate;
use hunt::fileset::{self, FileSet};
use hunt::scan::Reader;
use hunt::search::hunt_once;
use hunt::strategy::{runnable_pairs, StrategyKind};
use proptest::prelude::*;
use proptest::sample::select;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

const NEEDLE: &[u8] = b"Treasure";

fn strategies() -> impl Strategy<Value = StrategyKind> {
    // Peers (Celery, RQ) need a Python environment: tests/celery.rs checks them.
    select(
        StrategyKind::ALL
            .iter()
            .copied()
            .filter(|k| !k.facts().peer && !k.facts().slow_private)
            .collect::<Vec<_>>(),
    )
}

/// The pairs the properties run in-process, case after case. A strategy whose private
/// server takes seconds to start (`Facts::slow_private`: RabbitMQ's node) would start
/// one per case here; it runs every case of tests/strategies.rs and the contract suite
/// against one server per test binary instead.
fn pairs() -> Vec<(StrategyKind, Reader)> {
    runnable_pairs()
        .into_iter()
        .filter(|(k, _)| !k.facts().slow_private)
        .collect()
}

fn readers() -> impl Strategy<Value = Reader> {
    select(Reader::ALL.to_vec())
}

fn nz(k: usize) -> NonZeroUsize {
    NonZeroUsize::new(k).expect("workers >= 1")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn generated_sets_give_the_manifest_treasure(
        files in 1u64..=60,
        lines in 1u64..=40,
        treasure_frac in 0.0f64..1.0,
        seed in any::<u64>(),
        rotate in any::<u64>(),
        strategy in strategies(),
        reader in readers(),
        workers in 1usize..=9,
    ) {
        prop_assume!(strategy.runs_with(reader));
        let treasure_at = ((files as f64 * treasure_frac) as u64).min(files - 1);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("set");
        let mut spec = generate::spec(
            dir.clone(), Some(files), Some(lines), Some(seed), Some(treasure_at), None, false,
        ).unwrap();
        spec.progress = false;
        let done = generate::generate(&spec).unwrap();
        prop_assert_eq!(done.manifest.treasure_index, treasure_at);

        let loaded = fileset::load(&dir, false).unwrap();
        let manifest = loaded.manifest.as_ref().expect("a generated set has a manifest");
        prop_assert_eq!(manifest, &done.manifest);
        prop_assert_eq!(loaded.files.len(), files);
        let out = hunt_once(&loaded.files, NEEDLE, strategy, nz(workers), reader, rotate).unwrap();
        let found = out.found().map(|f| f.index);
        prop_assert_eq!(found, Some(manifest.treasure_index), "{} {:?} x{}", strategy, reader, workers);
        prop_assert_eq!(loaded.files.path(manifest.treasure_index), dir.join(&manifest.treasure_file));
        prop_assert!(out.errors().is_empty(), "{:?}", out.errors());
        prop_assert!(out.worker_failures.is_empty(), "{:?}", out.worker_failures);
        prop_assert!(out.tally.files_scanned >= 1 && out.tally.files_scanned <= files);
    }

    #[test]
    fn folders_without_manifest_give_one_answer_for_every_strategy(
        layout in prop::collection::vec((0usize..3, 0usize..400), 1..=30),
        needle_in in prop::option::of((any::<prop::sample::Index>(), any::<prop::sample::Index>())),
        rotate in 0u64..100,
        workers in 1usize..=9,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("folder");
        // Filler that cannot hold the needle: lowercase letters and newlines only.
        let mut paths: Vec<PathBuf> = Vec::new();
        let mut contents: Vec<Vec<u8>> = Vec::new();
        for (i, (depth, len)) in layout.iter().enumerate() {
            let mut p = root.clone();
            for d in 0..*depth {
                p.push(format!("sub{}", (i + d) % 3));
            }
            p.push(format!("f{i}.log"));
            let bytes: Vec<u8> = (0..*len)
                .map(|k| if (k * 7 + i) % 23 == 0 { b'\n' } else { b'a' + ((k * 31 + i * 17) % 26) as u8 })
                .collect();
            paths.push(p);
            contents.push(bytes);
        }
        let expect: Option<PathBuf> = needle_in.map(|(file, offset)| {
            let f = file.index(contents.len());
            let at = offset.index(contents[f].len() + 1);
            contents[f].splice(at..at, NEEDLE.iter().copied());
            paths[f].clone()
        });
        for (p, bytes) in paths.iter().zip(&contents) {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }

        let loaded = fileset::load(&root, false).unwrap();
        prop_assert!(loaded.manifest.is_none());
        let listed = matches!(loaded.files, FileSet::Listed { .. });
        prop_assert!(listed, "a folder without manifest is listed");
        prop_assert_eq!(loaded.files.len(), paths.len() as u64);
        prop_assert!(listed_in_path_order(&loaded.files));
        for (strategy, reader) in pairs() {
            let out = hunt_once(&loaded.files, NEEDLE, strategy, nz(workers), reader, rotate).unwrap();
            let found = out.found().map(|f| loaded.files.path(f.index));
            prop_assert_eq!(&found, &expect, "{} {:?} x{} rotate {}", strategy, reader, workers, rotate);
            prop_assert!(out.errors().is_empty(), "{:?}", out.errors());
            prop_assert!(out.worker_failures.is_empty(), "{:?}", out.worker_failures);
            if expect.is_none() {
                prop_assert_eq!(out.tally.files_scanned, paths.len() as u64, "{} {:?}", strategy, reader);
                let total: u64 = contents.iter().map(|c| c.len() as u64).sum();
                prop_assert_eq!(out.tally.bytes_scanned, total, "{} {:?}", strategy, reader);
            }
        }
    }
}

/// The listing mode visits files sorted by path.
fn listed_in_path_order(files: &FileSet) -> bool {
    let list: Vec<PathBuf> = (0..files.len()).map(|i| files.path(i)).collect();
    list.windows(2).all(|w| Path::new(&w[0]) < Path::new(&w[1]))
}

/// A needle across the read reader's chunk boundary, or the mmap reader's window, is
/// still found: every offset around the boundary, every strategy and reader.
#[test]
fn needle_across_a_chunk_boundary_is_found() {
    let chunk = hunt::scan::CHUNK;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("big");
    std::fs::create_dir(&root).unwrap();
    for (i, boundary) in [chunk, 1 << 20].into_iter().enumerate() {
        for shift in 0..=NEEDLE.len() {
            let at = boundary - NEEDLE.len() + shift;
            let mut bytes = vec![b'x'; boundary + 100];
            bytes[at..at + NEEDLE.len()].copy_from_slice(NEEDLE);
            let dir = root.join(format!("b{i}_s{shift}"));
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("a.txt"), b"nothing here").unwrap();
            std::fs::write(dir.join("b.txt"), &bytes).unwrap();
            let loaded = fileset::load(&dir, false).unwrap();
            for (strategy, reader) in pairs() {
                let out = hunt_once(&loaded.files, NEEDLE, strategy, nz(2), reader, 0).unwrap();
                assert_eq!(
                    out.found().map(|f| f.index),
                    Some(1),
                    "{strategy} {reader:?}: needle at {at} around boundary {boundary}"
                );
            }
        }
    }
}
