//! `hunt generate`: writes N files of `Not a treasure` lines, exactly one of them holding
//! the treasure, reproducibly from a seed, in parallel.
//!
//! Safety rules, because a generator that deletes the wrong file is worse than none:
//! - hunt writes only into a new folder, an empty one, or one that holds nothing but an
//!   earlier hunt data set (its `manifest.json` or its `.hunt-partial.json` marker, and
//!   the `file_{i}.txt` files those name; [`super::folder`] checks this first). A `.gitignore` is tolerated and never touched,
//!   so the repository's note in `treasure_data/` can stay.
//! - `--force` is needed to replace an earlier data set, and even then it deletes only
//!   files the old manifest (or marker) names. Anything else in the folder (another file,
//!   a subfolder, a symlink, a `file_{i}.txt` past the old set's end) makes it refuse.
//! - the marker is written first and the manifest last, after every file is complete,
//!   so an interrupted run leaves a folder that `hunt search` calls incomplete and
//!   `hunt generate --force` can clean up.
//! - each data file is written by unlinking the old name and creating a new file with
//!   `O_CREAT | O_EXCL | O_NOFOLLOW`, never by truncating in place: a name in the old set
//!   that someone hard-linked to a file of theirs loses only the link, never that file's
//!   contents, and a symlink or file planted after the folder check makes the write fail.
//! - Ctrl-C ([`crate::interrupt`]) stops the writers between files; the marker stays,
//!   the manifest is not written and its temporary file is removed.

use super::folder::{claim_folder, Partial, MANIFEST_TMP};
use super::manifest::{self, Manifest, FORMAT_VERSION, MANIFEST_NAME, PARTIAL_NAME};
use anyhow::{bail, Context, Result};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An ordinary line.
pub const PLAIN_LINE: &[u8] = b"Not a treasure\n";
/// The default needle.
pub const DEFAULT_NEEDLE: &str = "Treasure";
/// Default number of files (the blog's N).
pub const DEFAULT_FILES: u64 = 10_000;
/// Default lines per file: 15 kB files, a 150 MB set.
pub const DEFAULT_LINES: u64 = 1_000;
/// Largest data file hunt writes: each file's bytes are built in memory first, so a
/// bigger one would abort on a failed allocation instead of failing with a message.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Named data sets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// The blog's set: 10,000 files of 10,000 lines (1.5 GB), the treasure file made
    /// entirely of `Treasure` lines.
    Blog,
}

/// What to generate, checked.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The folder to write.
    pub dir: PathBuf,
    /// Number of files (at least 1).
    pub files: u64,
    /// Lines per file (at least 1).
    pub lines: u64,
    /// Seed of the treasure's place.
    pub seed: u64,
    /// Fixes the treasure's file instead of drawing it.
    pub treasure_at: Option<u64>,
    /// Every line of the treasure file is the treasure (the blog's layout).
    pub whole_file: bool,
    /// The preset this came from, recorded in the manifest.
    pub preset: Option<Preset>,
    /// Replace an earlier hunt data set.
    pub force: bool,
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
}

/// What was written.
#[derive(Debug)]
pub struct Generated {
    /// The manifest, as written.
    pub manifest: Manifest,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

/// Checks flags and draws a seed when none was given.
pub fn spec(
    dir: PathBuf,
    files: Option<u64>,
    lines: Option<u64>,
    seed: Option<u64>,
    treasure_at: Option<u64>,
    preset: Option<Preset>,
    force: bool,
) -> Result<Spec> {
    let (def_files, def_lines, whole_file) = match preset {
        Some(Preset::Blog) => (10_000, 10_000, true),
        None => (DEFAULT_FILES, DEFAULT_LINES, false),
    };
    let files = files.unwrap_or(def_files);
    let lines = lines.unwrap_or(def_lines);
    if files == 0 {
        bail!("--files must be at least 1 (one file must hold the treasure)");
    }
    if lines == 0 {
        bail!("--lines must be at least 1 (the treasure needs a line)");
    }
    let max_lines = MAX_FILE_BYTES / PLAIN_LINE.len() as u64;
    if lines > max_lines {
        bail!("--lines {lines} makes each file over 1 GiB, and hunt generate builds a file in memory before writing it: choose --lines {max_lines} or fewer");
    }
    if files
        .checked_mul(lines)
        .and_then(|x| x.checked_mul(PLAIN_LINE.len() as u64))
        .is_none()
    {
        bail!("--files {files} x --lines {lines} is too large a data set; choose smaller numbers");
    }
    if let Some(t) = treasure_at {
        if t >= files {
            bail!(
                "--treasure-at {t} is past the last file: files are numbered 0 to {}",
                files - 1
            );
        }
    }
    Ok(Spec {
        dir,
        files,
        lines,
        seed: seed.unwrap_or_else(rand::random),
        treasure_at,
        whole_file,
        preset,
        force,
        progress: true,
    })
}

/// The treasure's file and line, drawn from the seed. Both are always drawn, in this
/// order, so fixing the file with `--treasure-at` leaves the line unchanged.
pub fn treasure_place(spec: &Spec) -> (u64, Option<u64>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed);
    let file = rng.gen_range(0..spec.files);
    let line = rng.gen_range(0..spec.lines);
    (
        spec.treasure_at.unwrap_or(file),
        (!spec.whole_file).then_some(line),
    )
}

/// Writes the data set.
pub fn generate(spec: &Spec) -> Result<Generated> {
    let started = Instant::now();
    let old = claim_folder(&spec.dir, spec.force)?;
    let dir = &spec.dir;
    let (treasure_index, treasure_line) = treasure_place(spec);

    // Mark the folder as a set in progress before touching anything, covering the old
    // set's files too, so an interruption leaves it cleanable.
    let partial = Partial {
        format_version: FORMAT_VERSION,
        files: old.as_ref().map_or(0, |o| o.files).max(spec.files),
    };
    let marker = dir.join(PARTIAL_NAME);
    if let Err(e) = write_file(&marker, &serde_json::to_vec(&partial)?, true) {
        // A half-written marker would block `--force` later; nothing else was touched.
        let _ = std::fs::remove_file(&marker);
        return Err(write_error(e, &marker, dir));
    }
    remove_if_present(&dir.join(MANIFEST_NAME))?;
    // Only the old files that exist: the manifest's count may be anything, and a loop
    // up to it could run for ever.
    for &i in old.iter().flat_map(|o| &o.present) {
        if i >= spec.files {
            remove_if_present(&dir.join(manifest::file_name(i)))?;
        }
    }

    let plain = PLAIN_LINE.repeat(spec.lines as usize);
    let treasure = treasure_content(spec, treasure_line);
    let bar = progress_bar(spec);
    let slow = crate::hooks::slow_file();
    let written = (0..spec.files).into_par_iter().try_for_each(|i| {
        crate::interrupt::check()?;
        if let Some(pause) = slow {
            std::thread::sleep(pause);
        }
        let content = if i == treasure_index {
            &treasure
        } else {
            &plain
        };
        let path = dir.join(manifest::file_name(i));
        write_file(&path, content, old.as_ref().is_some_and(|o| i < o.files))
            .map_err(|e| write_error(e, &path, dir))?;
        bar.inc(1);
        anyhow::Ok(())
    });
    bar.finish_and_clear();
    written?;
    crate::interrupt::check()?;

    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        generator: format!("hunt {}", env!("CARGO_PKG_VERSION")),
        files: spec.files,
        lines: spec.lines,
        seed: spec.seed,
        treasure_index,
        treasure_file: manifest::file_name(treasure_index),
        treasure_line,
        needle: DEFAULT_NEEDLE.into(),
        total_bytes: (spec.files - 1) * plain.len() as u64 + treasure.len() as u64,
        preset: spec.preset.map(|_| "blog".to_string()),
    };
    let tmp = dir.join(MANIFEST_TMP);
    let mut text = serde_json::to_vec_pretty(&manifest)?;
    text.push(b'\n');
    if let Err(e) = write_file(&tmp, &text, true) {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_error(e, &tmp, dir));
    }
    if crate::interrupt::requested() {
        let _ = std::fs::remove_file(&tmp);
        return Err(crate::interrupt::Interrupted.into());
    }
    std::fs::rename(&tmp, dir.join(MANIFEST_NAME))
        .with_context(|| format!("cannot write the manifest in {}", dir.display()))?;
    remove_if_present(&dir.join(PARTIAL_NAME))?;
    Ok(Generated {
        manifest,
        elapsed: started.elapsed(),
    })
}

fn treasure_content(spec: &Spec, line: Option<u64>) -> Vec<u8> {
    let treasure_line = format!("{DEFAULT_NEEDLE}\n");
    match line {
        None => treasure_line.as_bytes().repeat(spec.lines as usize),
        Some(at) => {
            let mut v = PLAIN_LINE.repeat(at as usize);
            v.extend_from_slice(treasure_line.as_bytes());
            v.extend(PLAIN_LINE.repeat((spec.lines - at - 1) as usize));
            v
        }
    }
}

/// Writes `path` as a new file: the old name (ours, checked by [`claim_folder`]) is
/// unlinked first, so its inode, which a hard link may share with a file hunt did not
/// write, is never truncated; `O_EXCL` refuses anything planted there meanwhile.
/// `replace` says an old file of ours may be there; without it the unlink is skipped
/// (one system call per file saved on a fresh folder), and anything found there makes
/// `O_EXCL` fail.
fn write_file(path: &Path, content: &[u8], replace: bool) -> std::io::Result<()> {
    if replace {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    f.write_all(content)
}

/// One line for a failed write; a full disk names the folder and the fix.
fn write_error(e: std::io::Error, path: &Path, dir: &Path) -> anyhow::Error {
    let shown = dir.display();
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => anyhow::anyhow!(
            "cannot write {}: the disk holding {shown} is full ({e}); the data set there is incomplete: free some space or ask for fewer --files or --lines, then run `hunt generate --force --dir {shown}`",
            path.display()
        ),
        _ => anyhow::anyhow!("cannot write {}: {e}", path.display()),
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

fn progress_bar(spec: &Spec) -> indicatif::ProgressBar {
    if !spec.progress {
        return indicatif::ProgressBar::hidden();
    }
    // The stderr target draws nothing when stderr is not a terminal.
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(spec.files),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} writing {pos}/{len} files [{bar:30}] {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_for(dir: &Path, files: u64, lines: u64, seed: u64) -> Spec {
        let mut s = spec(
            dir.into(),
            Some(files),
            Some(lines),
            Some(seed),
            None,
            None,
            false,
        )
        .unwrap();
        s.progress = false;
        s
    }

    #[test]
    fn treasure_content_has_one_treasure_line() {
        let s = spec_for(Path::new("x"), 3, 5, 1);
        for at in 0..5 {
            let c = treasure_content(&s, Some(at));
            let lines: Vec<&[u8]> = c.split(|&b| b == b'\n').collect();
            assert_eq!(lines.len(), 6); // five lines and the empty tail
            assert_eq!(lines[at as usize], b"Treasure");
            assert_eq!(lines.iter().filter(|l| **l == b"Treasure").count(), 1);
        }
    }

    #[test]
    fn same_seed_same_place_and_treasure_at_keeps_line() {
        let a = spec_for(Path::new("x"), 1000, 100, 42);
        assert_eq!(treasure_place(&a), treasure_place(&a.clone()));
        let mut b = a.clone();
        b.treasure_at = Some(3);
        assert_eq!(treasure_place(&b).0, 3);
        assert_eq!(treasure_place(&b).1, treasure_place(&a).1);
        // Different seeds spread over the files.
        let places: std::collections::HashSet<u64> = (0..50)
            .map(|seed| treasure_place(&spec_for(Path::new("x"), 1000, 100, seed)).0)
            .collect();
        assert!(places.len() > 40);
    }

    #[test]
    fn flags_are_checked() {
        let e = |r: Result<Spec>| r.unwrap_err().to_string();
        assert!(e(spec("d".into(), Some(0), None, None, None, None, false))
            .contains("--files must be at least 1"));
        assert!(
            e(spec("d".into(), Some(5), None, None, Some(5), None, false))
                .contains("--treasure-at 5 is past the last file")
        );
        assert!(e(spec("d".into(), None, Some(0), None, None, None, false)).contains("--lines"));
        assert!(e(spec(
            "d".into(),
            Some(1),
            Some(u64::MAX / 2),
            None,
            None,
            None,
            false
        ))
        .contains("--lines 71582788 or fewer"));
        assert!(spec(
            "d".into(),
            Some(1),
            Some(71_582_788),
            None,
            None,
            None,
            false
        )
        .is_ok());
        let blog = spec(
            "d".into(),
            None,
            None,
            Some(1),
            None,
            Some(Preset::Blog),
            false,
        )
        .unwrap();
        assert_eq!(
            (blog.files, blog.lines, blog.whole_file),
            (10_000, 10_000, true)
        );
    }
}
