//! SQLite as the tests drive it: the "broker" is a queue file in a temp folder of the
//! test's own (made by the first worker or coordinator, removed with its folder), its
//! events and rows read with rusqlite where `hunt status` does not show them.

use super::{Backend, Server};
use serde_json::Value;
use std::path::PathBuf;

/// The SQLite backend.
#[derive(Default)]
pub struct SqliteBackend;

impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn here(&self) -> bool {
        true // built in: nothing to install
    }

    fn start(&self) -> Box<dyn Server> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("q.db");
        Box::new(Queue { dir, path })
    }

    fn start_with_password(&self, _: &str) -> Result<Box<dyn Server>, &'static str> {
        Err("an SQLite queue is a file: who may use it is the file's permissions, there is no password")
    }

    fn bad_urls(&self, _: Option<&dyn Server>) -> Vec<(String, &'static str)> {
        vec![
            ("sqlite:".to_string(), "names no file"),
            ("sqlite::memory:".to_string(), "is not a plain file path"),
            (
                "sqlite:file:q.db?mode=memory".to_string(),
                "is not a plain file path",
            ),
            ("sqlite:/tmp".to_string(), "is not a regular file"),
            (
                "sqlite://:s3cret-pw@/x/q.db".to_string(),
                "sqlite URLs take no user or password: use sqlite:PATH",
            ),
            (
                "sqlite://user:s3cret-pw@host/x/q.db".to_string(),
                "sqlite URLs take no user or password: use sqlite:PATH",
            ),
        ]
    }

    fn other_url(&self) -> &'static str {
        "redis://127.0.0.1:1"
    }

    fn slow_poll(&self) -> Result<Vec<&'static str>, &'static str> {
        Ok(vec!["--poll", "1"])
    }

    fn lost_mid_hunt(&self) -> Result<(), &'static str> {
        Err("an SQLite queue is a file every process of the hunt holds open: removed, it lives on under them and the hunt in flight answers from it (its one failure mid-hunt, a full disk, is tests/sqlite.rs)")
    }
}

/// A queue file of the test's own, in a temp folder removed on drop.
pub struct Queue {
    dir: tempfile::TempDir,
    /// The queue's path (no file until a worker or coordinator makes it).
    pub path: PathBuf,
}

impl Queue {
    /// A connection that never makes the file (a file made by anyone but hunt is
    /// refused by hunt); `None` while there is no queue yet.
    fn conn(&self) -> Option<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        if !self.path.exists() {
            return None;
        }
        let c = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .expect("the queue opens");
        c.busy_timeout(std::time::Duration::from_secs(10))
            .expect("busy timeout");
        Some(c)
    }

    /// The first column of every row `sql` returns, as text (none while there is no
    /// queue).
    fn texts(&self, sql: &str, param: &str) -> Vec<String> {
        let Some(c) = self.conn() else {
            return Vec::new();
        };
        let mut st = c.prepare(sql).expect("SQL");
        let params: &[&dyn rusqlite::ToSql] = if sql.contains("?1") { &[&param] } else { &[] };
        st.query_map(params, |r| r.get::<_, String>(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }
}

impl Server for Queue {
    fn url(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn named(&self) -> String {
        self.path.display().to_string()
    }

    /// The queue's folder removed, with the queue and its journal.
    fn go_away(&mut self) {
        std::fs::remove_dir_all(self.dir.path()).expect("the queue's folder removed");
    }

    /// The folder made again, empty: the next worker or coordinator makes a new queue.
    fn come_back(&mut self) {
        std::fs::create_dir(self.dir.path()).expect("the queue's folder made again");
    }

    fn events(&self) -> Result<Vec<Value>, &'static str> {
        Ok(self
            .texts(
                "SELECT body FROM event WHERE hunt = (SELECT id FROM hunt ORDER BY created_ms DESC, rowid DESC LIMIT 1) ORDER BY seq",
                "",
            )
            .iter()
            .map(|b| serde_json::from_str(b).expect("an event is JSON"))
            .collect())
    }

    /// Rows with negative ids: a claim takes the lowest id first, so a worker meets
    /// them before any real task left.
    fn add_garbage(&self, hunt: &str) -> usize {
        let rows = [(-3, 0, 2), (-2, 0, 1_000_000_000), (-1, 7, 3)];
        let c = self.conn().expect("the hunt made the queue");
        for (id, from, to) in rows {
            c.execute(
                "INSERT INTO task (hunt, id, pos_from, pos_to) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![hunt, id, from, to],
            )
            .expect("INSERT");
        }
        rows.len()
    }

    fn hunt_ids(&self) -> Vec<String> {
        self.texts("SELECT id FROM hunt ORDER BY created_ms", "")
    }

    fn active(&self) -> Vec<String> {
        self.texts("SELECT id FROM hunt WHERE expires_ms IS NULL", "")
    }

    fn records(&self, hunt: &str) -> Vec<String> {
        self.texts(
            "SELECT 'hunt ' || id FROM hunt WHERE id = ?1
             UNION ALL SELECT 'task ' || id FROM task WHERE hunt = ?1
             UNION ALL SELECT 'event ' || seq FROM event WHERE hunt = ?1
             UNION ALL SELECT 'refusal ' || worker FROM refusal WHERE hunt = ?1",
            hunt,
        )
    }

    /// The hunt's row: its task, event and refusal rows are deleted with it.
    fn expiries(&self, hunt: &str) -> Vec<(String, i64)> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        self.texts(
            "SELECT CAST(coalesce(expires_ms, -1) AS TEXT) FROM hunt WHERE id = ?1",
            hunt,
        )
        .iter()
        .map(|e| {
            let e: i64 = e.parse().expect("a number");
            ("hunt row".to_string(), if e < 0 { -1 } else { e - now })
        })
        .collect()
    }
}
