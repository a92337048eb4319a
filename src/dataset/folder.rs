//! Which folders `hunt generate` may write into, and which files in them it may replace:
//! the safety rules of [`super::generate`], in one place.
//!
//! hunt writes only into a new folder, an empty one, or one that holds nothing but an
//! earlier hunt data set (its `manifest.json` or its `.hunt-partial.json` marker, and the
//! `file_{i}.txt` files those name). A `.gitignore` is tolerated and never touched.
//! `--force` replaces an earlier set and deletes only files the old manifest (or marker)
//! names; anything else in the folder makes it refuse.

use super::manifest::{self, Manifest, FORMAT_VERSION, MANIFEST_NAME, PARTIAL_NAME};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Where the manifest is written before it is renamed into place.
pub(super) const MANIFEST_TMP: &str = ".hunt-manifest.tmp";
/// Files hunt leaves alone when deciding whether a folder is its own.
const TOLERATED: &[&str] = &[".gitignore"];

/// The partial-set marker's contents.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Partial {
    pub(super) format_version: u32,
    /// Files `0..files` may exist and belong to hunt.
    pub(super) files: u64,
}

/// An earlier data set that `--force` may replace.
pub(super) struct Earlier {
    /// Files `0..files` are hunt's, by its manifest or marker.
    pub(super) files: u64,
    /// The indices of those that exist in the folder now.
    pub(super) present: Vec<u64>,
}

/// Makes sure hunt may write into `dir`, creating it when absent. Returns the earlier
/// data set there (all of whose files hunt may overwrite or delete), or `None` when
/// there is none.
pub(super) fn claim_folder(dir: &Path, force: bool) -> Result<Option<Earlier>> {
    let shown = dir.display();
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {shown}"))?;
            return Ok(None);
        }
        Err(e) => bail!("cannot read {shown}: {e}"),
        Ok(m) if m.is_dir() => {}
        Ok(m) if m.file_type().is_symlink() && dir.is_dir() => {}
        Ok(_) => bail!("{shown} is not a folder: pass a new or empty folder with --dir"),
    }

    let mut has_manifest = false;
    let mut has_partial = false;
    let mut data_files: Vec<(u64, String)> = Vec::new();
    let mut foreign: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {shown}"))? {
        let entry = entry.with_context(|| format!("cannot read {shown}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        match name.as_str() {
            MANIFEST_NAME if is_file => has_manifest = true,
            PARTIAL_NAME if is_file => has_partial = true,
            MANIFEST_TMP if is_file => {}
            n if TOLERATED.contains(&n) => {}
            n => match manifest::parse_file_name(n) {
                Some(i) if is_file => data_files.push((i, name)),
                _ => foreign.push(name),
            },
        }
    }

    let owned = if has_manifest {
        let path = dir.join(MANIFEST_NAME);
        let bytes = manifest::read_own_file(&path)?
            .with_context(|| format!("{} vanished while hunt read the folder", path.display()))?;
        let text = manifest::utf8(&bytes, dir)?;
        match Manifest::parse(text, dir) {
            Ok(m) => Some(m.files),
            Err(e) => bail!("{e} (hunt deletes only files a valid manifest names, so even --force leaves {shown} alone)"),
        }
    } else {
        None
    };
    let owned = match (owned, has_partial) {
        (Some(n), _) => Some(n),
        (None, true) => {
            let path = dir.join(PARTIAL_NAME);
            let text = manifest::read_own_file(&path)?.with_context(|| {
                format!("{} vanished while hunt read the folder", path.display())
            })?;
            match serde_json::from_slice::<Partial>(&text) {
                Ok(p) if p.format_version <= FORMAT_VERSION => Some(p.files),
                _ => bail!("{} is not a marker hunt understands; remove {shown} yourself or choose another --dir", path.display()),
            }
        }
        (None, false) => None,
    };
    let limit = owned.unwrap_or(0);
    let (present, beyond): (Vec<_>, Vec<_>) = data_files.into_iter().partition(|(i, _)| *i < limit);
    // Name the most telling entry: one that is not a data file at all (a symlink, a
    // folder, a pipe named like ours) before a data file past the old set's end.
    foreign.sort();
    let mut beyond: Vec<String> = beyond.into_iter().map(|(_, n)| n).collect();
    beyond.sort();
    foreign.extend(beyond);
    if let Some(first) = foreign.first() {
        let more = match foreign.len() {
            1 => String::new(),
            n => format!(" and {} other entries", n - 1),
        };
        bail!("{shown} holds {first}{more}, which hunt did not write; hunt never deletes files it did not write: choose a new or empty folder with --dir");
    }
    match owned {
        Some(n) if !force => {
            let what = if has_manifest {
                "a hunt data set"
            } else {
                "an incomplete hunt data set"
            };
            bail!("{shown} already holds {what} ({n} files): use --force to replace it, or choose another --dir")
        }
        other => Ok(other.map(|files| Earlier {
            files,
            present: present.into_iter().map(|(i, _)| i).collect(),
        })),
    }
}
