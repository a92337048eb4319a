//! Where exports go: checked before any run (so a typo costs nothing), written after
//! every round (so a late failure loses nothing measured).

use super::Format;
use crate::race::RaceResults;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Where an export goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// `-`: written once, at the end of the race.
    Stdout,
    /// A file, rewritten after every timed round.
    File(PathBuf),
}

/// One requested export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The format.
    pub format: Format,
    /// Where it goes.
    pub dest: Dest,
}

/// Checks the export flags before any run, so a typo costs nothing: at most one `-`,
/// no path twice, each file's folder exists, and an existing file is replaced only with
/// `force` (hunt never overwrites a file it did not write unless told to).
pub fn check_exports(requested: &[(Format, Option<PathBuf>)], force: bool) -> Result<Vec<Export>> {
    let mut out: Vec<Export> = Vec::new();
    for (format, path) in requested {
        let Some(path) = path else { continue };
        let flag = format.flag();
        let dest = if path.as_os_str() == "-" {
            if let Some(other) = out.iter().find(|e| e.dest == Dest::Stdout) {
                bail!(
                    "{flag} - and {} - both want stdout: send one of them to a file",
                    other.format.flag()
                );
            }
            Dest::Stdout
        } else {
            check_path(flag, path, force)?;
            if let Some(other) = out.iter().find(|e| e.dest == Dest::File(path.clone())) {
                bail!(
                    "{flag} and {} both name {}: give each its own file",
                    other.format.flag(),
                    path.display()
                );
            }
            Dest::File(path.clone())
        };
        out.push(Export {
            format: *format,
            dest,
        });
    }
    Ok(out)
}

/// Checks one output path before any work: its folder exists, it is not a folder, and
/// an existing file is replaced only with `force`. `hunt search --trace` uses it too.
pub fn check_path(flag: &str, path: &Path, force: bool) -> Result<()> {
    let shown = path.display();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        bail!(
            "{flag} {shown}: the folder {} does not exist; create it first or choose another path",
            parent.display()
        );
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => bail!("{flag} {shown} is a folder: name a file in it"),
        Ok(m) if m.is_file() && !force => {
            bail!(
                "{flag} {shown} already exists: pass --force to replace it, or choose another path"
            )
        }
        _ => Ok(()),
    }
}

/// Rewrites every file export with `results` (and `context`, for the report); stdout
/// exports wait for the end.
pub fn write_files(
    results: &RaceResults,
    exports: &[Export],
    context: &super::Context,
) -> Result<()> {
    for e in exports {
        if let Dest::File(path) = &e.dest {
            let bytes = e.format.exporter(context).render(results)?;
            std::fs::write(path, bytes)
                .with_context(|| format!("cannot write {} {}", e.format.flag(), path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_flags_are_checked() {
        let tmp = std::env::temp_dir().join(format!("hunt-report-test-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let existing = tmp.join("old.json");
        std::fs::write(&existing, "{}").unwrap();
        let missing = tmp.join("no/such/folder/x.csv");
        let err = |req: &[(Format, Option<PathBuf>)], force| {
            check_exports(req, force).unwrap_err().to_string()
        };

        let e = err(&[(Format::Csv, Some(missing.clone()))], false);
        assert!(
            e.contains("--export-csv") && e.contains("does not exist"),
            "{e}"
        );
        let e = err(&[(Format::Json, Some(existing.clone()))], false);
        assert!(e.contains("already exists: pass --force"), "{e}");
        assert!(check_exports(&[(Format::Json, Some(existing.clone()))], true).is_ok());
        let e = err(
            &[
                (Format::Json, Some("-".into())),
                (Format::Csv, Some("-".into())),
            ],
            false,
        );
        assert!(e.contains("both want stdout"), "{e}");
        let same = tmp.join("same");
        let e = err(
            &[
                (Format::Json, Some(same.clone())),
                (Format::Csv, Some(same)),
            ],
            false,
        );
        assert!(e.contains("both name"), "{e}");
        let e = err(&[(Format::Svg, Some(tmp.clone()))], false);
        assert!(e.contains("is a folder"), "{e}");
        let ok = check_exports(
            &[
                (Format::Json, Some("-".into())),
                (Format::Markdown, None),
                (Format::Svg, Some(tmp.join("p.svg"))),
            ],
            false,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].dest, Dest::Stdout);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
