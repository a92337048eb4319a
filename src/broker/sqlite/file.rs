//! Which files are a queue: the `sqlite:PATH` URL, the checks made before SQLite may
//! open a file (so a file that is not hunt's queue is refused and left as it was), making
//! a new queue without any process seeing half of one, and SQLite's errors named with
//! the fix.

use super::*;

/// The path of `sqlite:PATH`.
pub(super) fn path_of(url: &str) -> Result<PathBuf> {
    let rest = url
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("sqlite:"))
        .map(|_| &url[7..])
        .ok_or_else(|| anyhow!("--broker {url:?} is not an SQLite URL: write sqlite:PATH"))?;
    if let Some(after) = rest.strip_prefix("//") {
        // sqlite://AUTHORITY/PATH: a file has no user or password, so an '@' there is
        // a server URL's habit, and what precedes it may be a secret: never shown.
        if after[..after.find('/').unwrap_or(after.len())].contains('@') {
            bail!(
                "--broker {:?}: sqlite URLs take no user or password: use sqlite:PATH",
                crate::broker::url::redact(url)
            );
        }
    }
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    if rest.is_empty() {
        bail!(
            "--broker {url:?} names no file: write sqlite:PATH, such as sqlite:/tmp/hunt-queue.db"
        );
    }
    if rest == ":memory:" || rest.starts_with("file:") || rest.contains('?') {
        bail!("--broker {url:?} is not a plain file path: worker processes share the queue through a file, so write sqlite:PATH");
    }
    Ok(PathBuf::from(rest))
}

/// What [`check`] found at a path.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Found {
    Missing,
    Queue,
}

/// Looks at `path` without SQLite and without changing it: a hunt queue of this schema
/// that hunt may write, nothing at all, or an error naming the fix.
pub(super) fn check(path: &Path) -> Result<Found> {
    let p = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok() {
                bail!("{p} is a symbolic link to nothing: give --broker sqlite:PATH a file hunt made, or a new path");
            }
            return Ok(Found::Missing);
        }
        Err(e) => bail!(
            "cannot look at {p} ({e}): give --broker sqlite:PATH a file you can read and write"
        ),
    };
    if !meta.is_file() {
        bail!("{p} is not a regular file (a folder, a pipe or a device), so not a hunt queue: give --broker sqlite:PATH a file hunt made, or a new path");
    }
    if meta.len() == 0 {
        bail!("{p} is an empty file, not a hunt queue: hunt leaves it as it is; give --broker sqlite:PATH a new path (hunt makes the queue) or a queue hunt made");
    }
    let mut head = [0u8; 100];
    let n = {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .with_context(|| {
                format!("cannot read {p}: give --broker sqlite:PATH a file you can read and write")
            })?;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => bail!("cannot read {p} ({e}): give --broker sqlite:PATH a file you can read and write"),
            }
        }
        n
    };
    if n < head.len() || &head[..16] != b"SQLite format 3\0" {
        bail!("{p} is not an SQLite database, so not a hunt queue: hunt leaves it as it is; give --broker sqlite:PATH a new path (hunt makes the queue) or a queue hunt made");
    }
    let be = |at: usize| i32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let (version, app) = (be(60), be(68));
    if app != APPLICATION_ID {
        bail!("{p} is an SQLite database of another program (application_id {app:#x}; a hunt queue's is {APPLICATION_ID:#x}): hunt leaves it as it is; give --broker sqlite:PATH a new path");
    }
    if version > SCHEMA_VERSION {
        bail!("{p} is a queue of a newer hunt (schema {version}; this hunt reads up to {SCHEMA_VERSION}): upgrade hunt, or give --broker sqlite:PATH a new path");
    }
    if version < SCHEMA_VERSION {
        bail!("{p} is a hunt queue of schema {version}, which this hunt does not read (it reads {SCHEMA_VERSION}): give --broker sqlite:PATH a new path");
    }
    if meta.permissions().readonly() || !access(path, libc::W_OK) {
        bail!("{p} is read-only, and workers write the queue: make it writable (chmod u+w {p}), or give --broker sqlite:PATH a new path");
    }
    let dir = folder(path);
    if !access(dir, libc::W_OK | libc::X_OK) {
        bail!(
            "the folder {} is not writable, and SQLite keeps {p}-wal and {p}-shm beside the queue: make it writable, or give --broker sqlite:PATH a path in a folder you can write",
            dir.display()
        );
    }
    Ok(Found::Queue)
}

/// Why the open queue `conn` is no longer the file at `path`, or `None` while it is.
/// SQLite's own check (the inode at the path against the open file's): a file removed
/// or replaced under an open connection goes on working for it, in WAL mode even for
/// writes, so without this look an idle worker would serve the old file for ever and
/// never the queue now at its path.
pub(super) fn moved(conn: &Connection, path: &Path) -> Option<String> {
    let mut moved: std::ffi::c_int = 0;
    conn.file_control(
        Some(rusqlite::MAIN_DB),
        rusqlite::FileControl::HasMoved(&mut moved),
    )
    .ok()?;
    if moved == 0 {
        return None;
    }
    let p = path.display();
    let dir = folder(path);
    Some(if std::fs::symlink_metadata(path).is_ok() {
        format!("the queue file at {p} was replaced by another file: this worker leaves the old one for the queue at that path")
    } else if dir.is_dir() {
        format!("the queue file at {p} was removed: this worker makes a new queue there")
    } else {
        format!(
            "the queue file at {p} was removed with its folder {}: this worker waits for the folder to come back and makes a new queue there",
            dir.display()
        )
    })
}

pub(super) fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

pub(super) fn access(path: &Path, mode: libc::c_int) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), mode) == 0 }
}

/// Makes a new queue at `path`: a new file beside it, initialised, then linked to its
/// name, so the name never shows half a queue and nothing that is there is replaced.
/// A name taken meanwhile (by another worker making the same queue) is left to
/// [`check`].
pub(super) fn create(path: &Path) -> Result<()> {
    let p = path.display();
    let dir = folder(path);
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{p} names no file: give --broker sqlite:PATH a file path"))?;
    let made = {
        use std::os::unix::fs::PermissionsExt;
        tempfile::Builder::new()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".new")
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)
    };
    let tmp = made.map_err(|e| {
        if e.raw_os_error() == Some(libc::ENOSPC) {
            full(path)
        } else {
            anyhow!(
                "cannot make the queue {p} ({e}): give --broker sqlite:PATH a path in a folder that exists and that you can write"
            )
        }
    })?;
    let side = |suffix: &str| {
        let mut s = tmp.path().as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let init = || -> rusqlite::Result<()> {
        let conn = Connection::open_with_flags(
            tmp.path(),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {SCHEMA_SQL}; PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        conn.close().map_err(|(_, e)| e)
    };
    let result = init().map_err(|e| explain(&e, path));
    for s in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(side(s));
    }
    result?;
    match std::fs::hard_link(tmp.path(), path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => Err(full(path)),
        Err(e) => Err(anyhow!(
            "cannot give the new queue its name {p} ({e}): give --broker sqlite:PATH a path on a local disk"
        )),
    }
}

pub(super) fn full(path: &Path) -> anyhow::Error {
    anyhow!(
        "the disk that holds the queue {} is full: free some space, or give --broker sqlite:PATH a path on another disk",
        path.display()
    )
}

/// An SQLite error as one line naming the queue and the fix.
pub(super) fn explain(e: &rusqlite::Error, path: &Path) -> anyhow::Error {
    let p = path.display();
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => full(path),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => anyhow!(
            "the queue {p} is locked by another process (waited {} s): close the program that holds it (an sqlite3 shell?), or give --broker sqlite:PATH another file",
            BUSY.as_secs()
        ),
        Some(ErrorCode::ReadOnly) => anyhow!(
            "the queue {p} cannot be written (a read-only file, folder or disk): make it writable, or give --broker sqlite:PATH another path"
        ),
        Some(ErrorCode::CannotOpen) => anyhow!(
            "cannot open the queue {p} (or its -wal and -shm beside it): check the file and its folder are there and writable"
        ),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => anyhow!(
            "{p} is damaged or not an SQLite database: hunt leaves it as it is; give --broker sqlite:PATH a new path"
        ),
        Some(ErrorCode::SystemIoFailure) => anyhow!(
            "an I/O error on the queue {p} ({e}): check the disk, or give --broker sqlite:PATH a path on another"
        ),
        _ => anyhow!("the queue {p} failed: {e}"),
    }
}
