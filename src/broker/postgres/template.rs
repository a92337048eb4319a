//! One `initdb` per user and PostgreSQL version, not one per private server: `initdb`
//! takes about a second here, and every `hunt search` without `--broker` starts a
//! private server. The first private server makes a cluster in
//! `/tmp/hunt-pgtemplate-UID-VERSION/data` (made in a folder of its own, then renamed
//! into place, so a second process sees either nothing or a whole cluster), and each
//! private server copies it into its own folder. A template is used only when hunt
//! made it: a real folder (not a link) owned by the account the server runs as, that no
//! one else may write; anything else is left alone and a fresh `initdb` is run instead.

use anyhow::{bail, Context, Result};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Changes when the cluster `initdb` makes (its options, its settings) changes.
const FORMAT: u32 = 1;

/// The cluster to copy for a private server of the programs in `bin`, made with
/// `make(folder)` (which runs `initdb` into `folder/data`) when there is none yet.
/// `owner` is the account the server runs as (its files' owner).
pub(super) fn template(
    bin: &Path,
    owner: (u32, u32),
    make: &dyn Fn(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let place = Path::new("/tmp").join(format!(
        "hunt-pgtemplate-{}-{}-{FORMAT}",
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() },
        version(bin)?
    ));
    if ours(&place, owner.0) {
        return Ok(place.join("data"));
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let making = Path::new("/tmp").join(format!("hunt-pgtemplate-making-{pid}-{nanos}"));
    std::fs::create_dir(&making)
        .with_context(|| format!("cannot make {}", making.display()))?;
    let made = (|| {
        std::fs::set_permissions(&making, std::fs::Permissions::from_mode(0o700))?;
        std::os::unix::fs::chown(&making, Some(owner.0), Some(owner.1))?;
        make(&making)?;
        match std::fs::rename(&making, &place) {
            Ok(()) => Ok(()),
            // Another process put its template there first: use that one.
            Err(_) if ours(&place, owner.0) => {
                let _ = std::fs::remove_dir_all(&making);
                Ok(())
            }
            Err(e) => Err(anyhow::Error::new(e)),
        }
    })();
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&making);
        return Err(e.context(format!(
            "cannot make the PostgreSQL template {}",
            place.display()
        )));
    }
    if !ours(&place, owner.0) {
        bail!("{} is not a template hunt made", place.display());
    }
    Ok(place.join("data"))
}

/// Whether `place` is a whole template hunt made: a folder, not a link, owned by
/// `uid`, that no one else may write, with a cluster in it.
fn ours(place: &Path, uid: u32) -> bool {
    let Ok(m) = std::fs::symlink_metadata(place) else {
        return false;
    };
    m.is_dir()
        && m.uid() == uid
        && m.mode() & 0o022 == 0
        && place.join("data").join("PG_VERSION").is_file()
}

/// The version of the programs in `bin`, as a name part (`15.18`).
fn version(bin: &Path) -> Result<String> {
    let out = std::process::Command::new(bin.join("postgres"))
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("cannot run {} --version", bin.join("postgres").display()))?;
    // `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`: the first word that
    // starts with a digit.
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or("unknown");
    Ok(v.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect())
}

/// Copies the cluster `from` into the new folder `to`, every folder 0700 and every
/// file its mode, all owned by `owner` (PostgreSQL refuses a data folder others can
/// enter).
pub(super) fn copy(from: &Path, to: &Path, owner: (u32, u32)) -> Result<()> {
    std::fs::create_dir(to).with_context(|| format!("cannot make {}", to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))?;
    std::os::unix::fs::chown(to, Some(owner.0), Some(owner.1))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy(&src, &dst, owner)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst)
                .with_context(|| format!("cannot copy {}", src.display()))?;
            std::os::unix::fs::chown(&dst, Some(owner.0), Some(owner.1))?;
        } else {
            bail!("{} is neither a file nor a folder", src.display());
        }
    }
    Ok(())
}
