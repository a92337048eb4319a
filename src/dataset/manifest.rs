//! `manifest.json`: the record `hunt generate` writes last, after every data file is
//! complete. A folder with a valid manifest is a hunt data set; one without it is either
//! incomplete (an interrupted generate) or foreign, and is searched by listing.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest's file name inside a data set folder.
pub const MANIFEST_NAME: &str = "manifest.json";
/// Written first by `hunt generate` and removed once the manifest is in place: a folder
/// holding it is a data set whose generation did not finish.
pub const PARTIAL_NAME: &str = ".hunt-partial.json";
/// The manifest format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// What a data set holds. Every data file's name follows from its index
/// ([`file_name`]), so no list of names is stored and reading the manifest costs the
/// same for 1,000 or 1,000,000 files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format; a newer one than [`FORMAT_VERSION`] is refused.
    pub format_version: u32,
    /// The program that wrote it, for people reading the file.
    pub generator: String,
    /// Number of data files, named `file_0.txt` .. `file_{files-1}.txt`.
    pub files: u64,
    /// Lines per file.
    pub lines: u64,
    /// Seed of the random choices (treasure file and line).
    pub seed: u64,
    /// Index of the file holding the treasure.
    pub treasure_index: u64,
    /// That file's name, relative to the data set folder.
    pub treasure_file: String,
    /// The line that holds the treasure, or `None` when every line of the file does.
    pub treasure_line: Option<u64>,
    /// The word hidden in the treasure file.
    pub needle: String,
    /// Total bytes of all data files.
    pub total_bytes: u64,
    /// The preset the set was made from, if any (`blog`).
    #[serde(default)]
    pub preset: Option<String>,
}

/// The largest manifest or marker hunt reads: real ones are a few hundred bytes, so
/// anything bigger is not one, and reading it whole could exhaust memory.
pub const MAX_TEXT_BYTES: u64 = 1 << 20;

/// Reads a small file hunt wrote itself (the manifest, the partial marker): `Ok(None)`
/// when absent; an error when it is a symlink, a pipe, a device or too large. Opened
/// with `O_NOFOLLOW | O_NONBLOCK`, so a named pipe planted as `manifest.json` cannot
/// block the hunt (`read_to_string` on it would wait forever for a writer).
pub fn read_own_file(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => anyhow::bail!(
            "{shown} is a symlink, and hunt never writes one: remove it, or choose another --dir"
        ),
        Err(e) => anyhow::bail!("cannot read {shown}: {e}"),
    };
    let meta = file
        .metadata()
        .map_err(|e| anyhow::anyhow!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        anyhow::bail!("{shown} is not a regular file, so hunt did not write it: remove it, or choose another --dir");
    }
    if meta.len() > MAX_TEXT_BYTES {
        anyhow::bail!(
            "{shown} is {} bytes, far too large for a file hunt wrote: remove it, or choose another --dir",
            meta.len()
        );
    }
    let mut text = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_TEXT_BYTES)
        .read_to_end(&mut text)
        .map_err(|e| anyhow::anyhow!("cannot read {shown}: {e}"))?;
    Ok(Some(text))
}

/// The manifest's bytes as text; a manifest that is not UTF-8 is malformed.
pub fn utf8<'a>(bytes: &'a [u8], dir: &Path) -> Result<&'a str, ManifestError> {
    std::str::from_utf8(bytes).map_err(|e| ManifestError::Malformed {
        path: dir.join(MANIFEST_NAME).display().to_string(),
        dir: dir.display().to_string(),
        reason: format!("not UTF-8: {e}"),
    })
}

/// The name of data file `index`.
pub fn file_name(index: u64) -> String {
    format!("file_{index}.txt")
}

/// Parses `file_{i}.txt` back to `i`; `None` for any other name (leading zeros too, so
/// that a name maps to exactly one index).
pub fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("file_")?.strip_suffix(".txt")?;
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Why a manifest cannot be used. Each message names the fix. The fix is never
/// `hunt generate --force`: that deletes only files a valid manifest names, so it refuses
/// a folder whose manifest is one of these.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("{path}: malformed manifest ({reason}); hunt cannot tell which files there are its own: remove the folder and make a new set with `hunt generate --dir {dir}`, or pass another --dir")]
    Malformed {
        path: String,
        dir: String,
        reason: String,
    },
    #[error("{path}: manifest format {found} is newer than this hunt understands ({FORMAT_VERSION}); upgrade hunt, or remove the folder and make a new set with `hunt generate --dir {dir}`")]
    TooNew {
        path: String,
        dir: String,
        found: u32,
    },
    #[error("{path}: manifest names {name:?}, which is not a data file inside its folder: remove the folder and make a new set with `hunt generate --dir {dir}`, or pass another --dir")]
    Escapes {
        path: String,
        dir: String,
        name: String,
    },
}

impl Manifest {
    /// Reads and checks the manifest text of the data set in `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(MANIFEST_NAME).display().to_string();
        let dir_s = dir.display().to_string();
        let malformed = |reason: String| ManifestError::Malformed {
            path: path.clone(),
            dir: dir_s.clone(),
            reason,
        };
        // Look at the version first, so a newer format gets the right message even when
        // its other fields changed shape.
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
        let version = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| malformed("no format_version".into()))?;
        if version > u64::from(FORMAT_VERSION) {
            return Err(ManifestError::TooNew {
                path,
                dir: dir_s,
                found: u32::try_from(version).unwrap_or(u32::MAX),
            });
        }
        let m: Manifest = serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
        if m.format_version == 0 {
            return Err(malformed("format_version 0".into()));
        }
        if m.files == 0 {
            return Err(malformed("files is 0".into()));
        }
        if m.treasure_index >= m.files {
            return Err(malformed(format!(
                "treasure_index {} is past the last file {}",
                m.treasure_index,
                m.files - 1
            )));
        }
        if m.needle.is_empty() {
            return Err(malformed("empty needle".into()));
        }
        if parse_file_name(&m.treasure_file) != Some(m.treasure_index) {
            return Err(ManifestError::Escapes {
                path,
                dir: dir_s,
                name: m.treasure_file,
            });
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format_version: 1,
            generator: "hunt test".into(),
            files: 10,
            lines: 3,
            seed: 7,
            treasure_index: 4,
            treasure_file: "file_4.txt".into(),
            treasure_line: Some(1),
            needle: "Treasure".into(),
            total_bytes: 400,
            preset: None,
        }
    }

    #[test]
    fn round_trips() {
        let m = sample();
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(Manifest::parse(&text, Path::new("d")).unwrap(), m);
    }

    #[test]
    fn file_names_map_one_to_one() {
        assert_eq!(parse_file_name("file_0.txt"), Some(0));
        assert_eq!(parse_file_name("file_123.txt"), Some(123));
        assert_eq!(parse_file_name("file_0123.txt"), None);
        assert_eq!(parse_file_name("file_.txt"), None);
        assert_eq!(parse_file_name("file_1.txt.bak"), None);
        assert_eq!(parse_file_name("../file_1.txt"), None);
        assert_eq!(parse_file_name("file_-1.txt"), None);
        assert_eq!(parse_file_name(&file_name(99)), Some(99));
    }

    #[test]
    fn refuses_newer_format_and_escapes() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["format_version"] = 2.into();
        let e = Manifest::parse(&v.to_string(), Path::new("d")).unwrap_err();
        assert!(matches!(e, ManifestError::TooNew { found: 2, .. }), "{e}");

        for name in ["../x", "/etc/passwd", "file_5.txt", "sub/file_4.txt"] {
            let mut v = serde_json::to_value(sample()).unwrap();
            v["treasure_file"] = name.into();
            let e = Manifest::parse(&v.to_string(), Path::new("d")).unwrap_err();
            assert!(matches!(e, ManifestError::Escapes { .. }), "{name}: {e}");
        }
    }

    #[test]
    fn refuses_malformed() {
        for text in [
            "",
            "{",
            "[]",
            "{\"format_version\": 1}",
            "{\"format_version\": \"1\"}",
        ] {
            let e = Manifest::parse(text, Path::new("d")).unwrap_err();
            assert!(matches!(e, ManifestError::Malformed { .. }), "{text}: {e}");
            assert!(e.to_string().contains("hunt generate --dir"));
            assert!(!e.to_string().contains("--force"));
        }
        let mut v = serde_json::to_value(sample()).unwrap();
        v["treasure_index"] = 10.into();
        v["treasure_file"] = "file_10.txt".into();
        assert!(Manifest::parse(&v.to_string(), Path::new("d")).is_err());
        let mut v = serde_json::to_value(sample()).unwrap();
        v["files"] = 0.into();
        assert!(Manifest::parse(&v.to_string(), Path::new("d")).is_err());
    }
}
