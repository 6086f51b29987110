//! The progress store: one SQLite database per data directory.
//!
//! Everything a learner does that must survive a restart is written here
//! before the screen acknowledges it: answer attempts, revealed hints,
//! finished tasks, the task they were on, and the lab shell command lines
//! that `command_ran` checks read.
//!
//! Durability: the database runs in WAL mode with `synchronous=FULL`, so
//! every commit is fsynced before the write call returns. A killed process
//! (kill -9) would already keep a committed WAL transaction with
//! `synchronous=NORMAL`; `FULL` also keeps it across a power cut. Writes
//! happen at human speed (an answer, a hint), so the extra fsync is cheap.
//!
//! - [`migrations`]: the schema, one version per entry.
//! - [`report`]: the rows `lab progress` prints.

pub mod migrations;
pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "progress.sqlite3";

/// A store shared by the App, its Session and the lab shell of one process.
pub type SharedStore = Arc<Mutex<ProgressStore>>;

/// Why a progress operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("failed to create the data directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to open the progress database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("failed to migrate the progress database to schema version {version}")]
    Migrate {
        version: usize,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the progress database has schema version {found}, newer than this lab ({known})")]
    TooNew { found: i64, known: usize },
    #[error("failed to {operation} in the progress database")]
    Query {
        operation: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the progress store was poisoned by a panic in another thread")]
    Poisoned,
}

/// One submitted answer, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub user: String,
    pub scenario: String,
    pub task: String,
    pub question: String,
    pub answer: String,
    pub correct: bool,
    /// Points awarded by this attempt (0 for a wrong or repeated answer).
    pub points: u32,
    pub at: SystemTime,
}

/// A lab shell command line as the shell recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    pub line: String,
    pub exit_status: i32,
    pub at_ms: i64,
}

/// What a learner has done in one scenario, for resuming it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioProgress {
    /// Question id to the answer that was accepted and the points it won.
    pub answered: BTreeMap<String, (String, u32)>,
    /// Hint scope (see [`HintScope::key`]) to the number of hints shown.
    pub hints: BTreeMap<String, u32>,
    /// Ids of finished tasks.
    pub tasks_done: Vec<String>,
    /// The task the learner was looking at.
    pub position: Option<String>,
}

impl ScenarioProgress {
    pub fn points(&self) -> u32 {
        self.answered.values().map(|(_, points)| *points).sum()
    }
}

/// What a hint belongs to: a task or one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintScope<'a> {
    Task(&'a str),
    Question(&'a str),
}

impl HintScope<'_> {
    /// The key stored in the database and used in [`ScenarioProgress::hints`].
    pub fn key(&self) -> String {
        match self {
            HintScope::Task(id) => format!("task:{id}"),
            HintScope::Question(id) => format!("question:{id}"),
        }
    }
}

/// The progress database.
#[derive(Debug)]
pub struct ProgressStore {
    conn: Connection,
}

impl ProgressStore {
    /// Opens (creating when needed) the database in `data_dir`.
    pub fn open_in(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::CreateDir {
            path: data_dir.to_owned(),
            source,
        })?;
        Self::open(&data_dir.join(DATABASE_FILE))
    }

    /// Opens the database file at `path`, sets durability and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(open_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_error)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_error)?;
        migrate(&conn)?;
        Ok(ProgressStore { conn })
    }

    /// Wraps the store for sharing between the App, Session and shell.
    pub fn shared(self) -> SharedStore {
        Arc::new(Mutex::new(self))
    }

    /// Records one answer attempt.
    pub fn record_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO attempts (user, scenario, task, question, answer, correct, points, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    attempt.user,
                    attempt.scenario,
                    attempt.task,
                    attempt.question,
                    attempt.answer,
                    attempt.correct,
                    attempt.points,
                    millis(attempt.at)
                ],
            )
            .map(drop)
            .map_err(query_error("record an answer"))
    }

    /// Records that `revealed` hints of `scope` are now shown.
    pub fn record_hints(
        &self,
        user: &str,
        scenario: &str,
        scope: HintScope<'_>,
        revealed: u32,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO hints (user, scenario, scope, revealed, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (user, scenario, scope) DO UPDATE SET revealed = excluded.revealed,
                 at_ms = excluded.at_ms",
                params![user, scenario, scope.key(), revealed, now_ms()],
            )
            .map(drop)
            .map_err(query_error("record a revealed hint"))
    }

    /// Records that a task is finished (idempotent).
    pub fn record_task_done(
        &self,
        user: &str,
        scenario: &str,
        task: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO tasks_done (user, scenario, task, at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![user, scenario, task, now_ms()],
            )
            .map(drop)
            .map_err(query_error("record a finished task"))
    }

    /// Records the task the learner is looking at, to resume there.
    pub fn record_position(
        &self,
        user: &str,
        scenario: &str,
        task: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO positions (user, scenario, task, at_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user, scenario) DO UPDATE SET task = excluded.task, at_ms = excluded.at_ms",
                params![user, scenario, task, now_ms()],
            )
            .map(drop)
            .map_err(query_error("record the current task"))
    }

    /// Records a command line the lab shell ran, for `command_ran` checks
    /// and instructors.
    pub fn record_command(
        &self,
        user: &str,
        scenario: &str,
        line: &str,
        exit_status: i32,
        at: SystemTime,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO commands (user, scenario, line, exit_status, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user, scenario, line, exit_status, millis(at)],
            )
            .map(drop)
            .map_err(query_error("record a command line"))
    }

    /// The command lines `user` ran in `scenario`, oldest first.
    pub fn commands(&self, user: &str, scenario: &str) -> Result<Vec<CommandRecord>, StoreError> {
        let read = query_error("read the command history");
        let mut statement = self
            .conn
            .prepare(
                "SELECT line, exit_status, at_ms FROM commands WHERE user = ?1 AND scenario = ?2
                 ORDER BY id",
            )
            .map_err(read)?;
        let rows = statement
            .query_map(params![user, scenario], |row| {
                Ok(CommandRecord {
                    line: row.get(0)?,
                    exit_status: row.get(1)?,
                    at_ms: row.get(2)?,
                })
            })
            .map_err(read)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(read)
    }

    /// Every attempt `user` made in `scenario`, oldest first.
    pub fn attempts(&self, user: &str, scenario: &str) -> Result<Vec<Attempt>, StoreError> {
        let read = query_error("read answer attempts");
        let mut statement = self
            .conn
            .prepare(
                "SELECT task, question, answer, correct, points, at_ms FROM attempts
                 WHERE user = ?1 AND scenario = ?2 ORDER BY id",
            )
            .map_err(read)?;
        let rows = statement
            .query_map(params![user, scenario], |row| {
                Ok(Attempt {
                    user: user.to_owned(),
                    scenario: scenario.to_owned(),
                    task: row.get(0)?,
                    question: row.get(1)?,
                    answer: row.get(2)?,
                    correct: row.get(3)?,
                    points: row.get(4)?,
                    at: from_millis(row.get(5)?),
                })
            })
            .map_err(read)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(read)
    }

    /// What `user` has done in `scenario`, for resuming.
    pub fn load_progress(
        &self,
        user: &str,
        scenario: &str,
    ) -> Result<ScenarioProgress, StoreError> {
        Ok(ScenarioProgress {
            answered: self.answered(user, scenario)?,
            hints: self.hints(user, scenario)?,
            tasks_done: self.tasks_done(user, scenario)?,
            position: self.position(user, scenario)?,
        })
    }

    fn answered(
        &self,
        user: &str,
        scenario: &str,
    ) -> Result<BTreeMap<String, (String, u32)>, StoreError> {
        let read = query_error("read accepted answers");
        let mut statement = self
            .conn
            .prepare(
                "SELECT question, answer, points FROM attempts
                 WHERE user = ?1 AND scenario = ?2 AND correct = 1 ORDER BY id",
            )
            .map_err(read)?;
        let rows = statement
            .query_map(params![user, scenario], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    (row.get::<_, String>(1)?, row.get::<_, u32>(2)?),
                ))
            })
            .map_err(read)?;
        let mut answered = BTreeMap::new();
        for row in rows {
            let (question, accepted) = row.map_err(read)?;
            // The first correct attempt is the one that won the points.
            answered.entry(question).or_insert(accepted);
        }
        Ok(answered)
    }

    fn hints(&self, user: &str, scenario: &str) -> Result<BTreeMap<String, u32>, StoreError> {
        let read = query_error("read revealed hints");
        let mut statement = self
            .conn
            .prepare("SELECT scope, revealed FROM hints WHERE user = ?1 AND scenario = ?2")
            .map_err(read)?;
        let rows = statement
            .query_map(params![user, scenario], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(read)?;
        rows.collect::<Result<BTreeMap<_, _>, _>>().map_err(read)
    }

    fn tasks_done(&self, user: &str, scenario: &str) -> Result<Vec<String>, StoreError> {
        let read = query_error("read finished tasks");
        let mut statement = self
            .conn
            .prepare("SELECT task FROM tasks_done WHERE user = ?1 AND scenario = ?2 ORDER BY at_ms")
            .map_err(read)?;
        let rows = statement
            .query_map(params![user, scenario], |row| row.get(0))
            .map_err(read)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(read)
    }

    fn position(&self, user: &str, scenario: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT task FROM positions WHERE user = ?1 AND scenario = ?2",
                params![user, scenario],
                |row| row.get(0),
            )
            .optional()
            .map_err(query_error("read the current task"))
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Locks a shared store, turning a poisoned lock into an error.
pub fn lock(store: &SharedStore) -> Result<MutexGuard<'_, ProgressStore>, StoreError> {
    store.lock().map_err(|_| StoreError::Poisoned)
}

/// Applies every migration newer than the database's `user_version`.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|source| StoreError::Migrate { version: 0, source })?;
    let applied = usize::try_from(found).unwrap_or(0);
    if applied > migrations::MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            found,
            known: migrations::MIGRATIONS.len(),
        });
    }
    for (index, sql) in migrations::MIGRATIONS.iter().enumerate().skip(applied) {
        apply_migration(conn, index + 1, sql)?;
    }
    Ok(())
}

fn apply_migration(conn: &Connection, version: usize, sql: &str) -> Result<(), StoreError> {
    let failed = |source| StoreError::Migrate { version, source };
    let batch = format!("BEGIN; {sql}; PRAGMA user_version = {version}; COMMIT;");
    conn.execute_batch(&batch).map_err(failed)
}

fn query_error(operation: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + Copy {
    move |source| StoreError::Query { operation, source }
}

/// Milliseconds since the Unix epoch; times before it count as 0.
pub fn millis(at: SystemTime) -> i64 {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> SystemTime {
    let ms = u64::try_from(ms).unwrap_or(0);
    UNIX_EPOCH + std::time::Duration::from_millis(ms)
}

fn now_ms() -> i64 {
    millis(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(question: &str, correct: bool, points: u32) -> Attempt {
        Attempt {
            user: "ada".into(),
            scenario: "s".into(),
            task: "t".into(),
            question: question.into(),
            answer: "x".into(),
            correct,
            points,
            at: SystemTime::now(),
        }
    }

    #[test]
    fn migrations_set_user_version_and_reopen_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        drop(ProgressStore::open_in(dir.path()).unwrap());
        let store = ProgressStore::open_in(dir.path()).unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(
            version,
            i64::try_from(migrations::MIGRATIONS.len()).unwrap()
        );
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            ProgressStore::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn progress_keeps_first_correct_answer_hints_tasks_and_position() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProgressStore::open_in(dir.path()).unwrap();
        store.record_attempt(&attempt("q1", false, 0)).unwrap();
        store.record_attempt(&attempt("q1", true, 3)).unwrap();
        store.record_attempt(&attempt("q1", true, 0)).unwrap();
        store
            .record_hints("ada", "s", HintScope::Question("q2"), 2)
            .unwrap();
        store.record_task_done("ada", "s", "t").unwrap();
        store.record_task_done("ada", "s", "t").unwrap();
        store.record_position("ada", "s", "t2").unwrap();

        let progress = store.load_progress("ada", "s").unwrap();
        assert_eq!(progress.answered.get("q1"), Some(&("x".to_owned(), 3)));
        assert_eq!(progress.points(), 3);
        assert_eq!(progress.hints.get("question:q2"), Some(&2));
        assert_eq!(progress.tasks_done, vec!["t".to_owned()]);
        assert_eq!(progress.position.as_deref(), Some("t2"));
        assert_eq!(store.attempts("ada", "s").unwrap().len(), 3);
        assert!(store.load_progress("bob", "s").unwrap().answered.is_empty());
    }

    #[test]
    fn commands_are_kept_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProgressStore::open_in(dir.path()).unwrap();
        store
            .record_command("ada", "s", "docker ps", 0, SystemTime::now())
            .unwrap();
        store
            .record_command("ada", "s", "docker rn", 127, SystemTime::now())
            .unwrap();
        let lines: Vec<_> = store.commands("ada", "s").unwrap();
        assert_eq!(lines[0].line, "docker ps");
        assert_eq!(lines[1].exit_status, 127);
    }
}
