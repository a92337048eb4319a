//! A data set's identity, so a worker on another host can tell whether its folder holds
//! the set a hunt was published for, before it scans anything.
//!
//! - A generated set (with a manifest) is named by its manifest: files, lines, seed,
//!   the treasure's place, the needle and the byte count. `hunt generate` with the same
//!   flags and seed writes a byte-identical set on every host, with the same manifest.
//! - A listed folder is named by its files' relative paths and sizes, in search order.
//!
//! The digest is SHA-256 of a canonical encoding (shown as 32 hex digits); the summary
//! is for people ("10000 files x 1000 lines, seed 2026").
//!
//! The identity of a set as it is loaded (`FileSet::identity`, which re-reads the
//! manifest or hashes a listed folder's paths and sizes) lives in `crate::fileset`:
//! the file set sits above the data set, whose manifest it reads, so this module names
//! no file set.

use super::manifest::Manifest;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a data set is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// SHA-256 of the canonical encoding, 32 hex digits.
    pub digest: String,
    /// For people.
    pub summary: String,
}

impl Identity {
    /// An identity from a SHA-256 `digest` of a canonical encoding (shown as its first
    /// 16 bytes in hex, 32 digits) and a `summary` for people.
    pub fn from_digest(digest: &[u8], summary: String) -> Identity {
        Identity {
            digest: hex(digest),
            summary,
        }
    }

    /// The identity of the generated set `m` describes.
    pub fn of_manifest(m: &Manifest) -> Identity {
        let canonical = serde_json::json!({
            "files": m.files,
            "lines": m.lines,
            "seed": m.seed,
            "treasure_index": m.treasure_index,
            "treasure_line": m.treasure_line,
            "needle": m.needle,
            "total_bytes": m.total_bytes,
            "preset": m.preset,
        });
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        Identity::from_digest(
            &digest,
            format!(
                "{} files x {} lines, seed {}{}",
                m.files,
                m.lines,
                m.seed,
                m.preset
                    .as_ref()
                    .map(|p| format!(", preset {p}"))
                    .unwrap_or_default()
            ),
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    crate::sys::hex::hex(&bytes[..16.min(bytes.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(seed: u64) -> Manifest {
        Manifest {
            format_version: 1,
            generator: "hunt 0.1.0".into(),
            files: 10,
            lines: 3,
            seed,
            treasure_index: 4,
            treasure_file: "file_4.txt".into(),
            treasure_line: Some(1),
            needle: "Treasure".into(),
            total_bytes: 400,
            preset: None,
        }
    }

    #[test]
    fn manifests_name_their_sets() {
        let a = Identity::of_manifest(&m(7));
        assert_eq!(a.digest.len(), 32);
        assert_eq!(a, Identity::of_manifest(&m(7)));
        assert_ne!(a.digest, Identity::of_manifest(&m(8)).digest);
        // The program that wrote it is not part of what the set is.
        let mut other = m(7);
        other.generator = "hunt 9.9".into();
        assert_eq!(a, Identity::of_manifest(&other));
        assert_eq!(a.summary, "10 files x 3 lines, seed 7");
    }
}
