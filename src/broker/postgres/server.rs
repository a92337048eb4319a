//! A private PostgreSQL server for one hunt or one race, when no `--broker` is given:
//! `initdb` and `pg_ctl` (the newest of `/usr/lib/postgresql/*/bin`, else on `PATH`) in
//! a temporary folder under `/tmp`, a Unix socket there, no TCP port, durability off
//! (`fsync`, `synchronous_commit`, `full_page_writes`: it is thrown away afterwards).
//! PostgreSQL refuses to run as root: as root, both run as the `postgres` account
//! (`runuser -u postgres --`), in a folder given to it; otherwise as this user. Dropping
//! the guard stops the server (`pg_ctl stop -m immediate`) and removes the folder.

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What to do when the server's programs are missing.
pub const INSTALL_HINT: &str = "PostgreSQL's initdb and pg_ctl are not installed: install them (`apt-get install postgresql`), or pass --broker postgres://USER@HOST/DB of a running server";

/// The account the server runs as when hunt runs as root.
const ACCOUNT: &str = "postgres";

/// A running private server; dropping it stops the server and removes its folder.
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    url: String,
}

/// The folder holding `initdb` and `pg_ctl`: the newest version under
/// `/usr/lib/postgresql`, else the one on `PATH`.
pub fn programs() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let v: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            let bin = e.path().join("bin");
            v.filter(|_| has(&bin)).map(|v| (v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|d| has(d))
}

/// Why no private server can start here, if so.
pub fn missing() -> Option<String> {
    if programs().is_none() {
        return Some(INSTALL_HINT.to_string());
    }
    if is_root() && account().is_none() {
        return Some(format!("PostgreSQL refuses to run as root, and there is no `{ACCOUNT}` account to run it as: install the package (`apt-get install postgresql`, which makes it), or run hunt as another user"));
    }
    None
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The `postgres` account's uid and gid.
fn account() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(ACCOUNT).ok()?;
    // SAFETY: a valid C string; the result is read at once, before any other call.
    unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        (!pw.is_null()).then(|| ((*pw).pw_uid, (*pw).pw_gid))
    }
}

impl PrivatePostgres {
    /// Makes a cluster in a new folder, starts it and waits until it answers.
    pub fn start() -> Result<PrivatePostgres> {
        if let Some(why) = missing() {
            bail!("{why}");
        }
        let bin = programs().expect("checked by missing()");
        let dir = tempfile::Builder::new()
            .prefix("hunt-postgres-")
            .tempdir_in("/tmp")
            .context("cannot make a private folder for PostgreSQL in /tmp")?;
        if is_root() {
            let (uid, gid) = account().expect("checked by missing()");
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .context("cannot give the private PostgreSQL folder to the postgres account")?;
        }
        let data = dir.path().join("data");
        let log = dir.path().join("log");
        let p = PrivatePostgres {
            url: format!("postgres://hunt@/postgres?host={}", dir.path().display()),
            bin,
            dir,
        };
        p.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                "hunt".as_ref(),
                "-N".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        )?;
        let options = format!(
            "-k {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            p.dir.path().display()
        );
        p.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "30".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        )
        .map_err(|e| anyhow!("{e}: {}", last_line(&log)))?;
        Ok(p)
    }

    /// Its URL (`postgres://hunt@/postgres?host=/tmp/hunt-postgres-...`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one of the server's programs (as the `postgres` account when root), its
    /// output kept for the error.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
        let exe = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", ACCOUNT, "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        let out = cmd
            .output()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            let said = said.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            bail!(
                "the private PostgreSQL server's {program} failed ({}): {said}",
                out.status
            );
        }
        Ok(())
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Nothing to save: stop at once; the folder goes with the guard.
        let data = self.dir.path().join("data");
        let _ = self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
    }
}

fn last_line(log: &Path) -> String {
    std::fs::read_to_string(log)
        .ok()
        .and_then(|t| {
            t.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(String::from)
        })
        .unwrap_or_else(|| "it wrote nothing".to_string())
}
