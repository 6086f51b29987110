//! Schema versions of the progress database.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version forward; the
//! database's `user_version` pragma records how many have been applied. A
//! migration is never edited once released: a change is a new entry.

/// The SQL of each schema version, in order. Version N is `MIGRATIONS[N-1]`.
pub const MIGRATIONS: &[&str] = &[
    // 1: answers, hints, task completion, positions and command history.
    "CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        user TEXT NOT NULL,
        scenario TEXT NOT NULL,
        task TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        correct INTEGER NOT NULL,
        points INTEGER NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE INDEX attempts_by_user ON attempts (user, scenario, question);
    CREATE TABLE hints (
        user TEXT NOT NULL,
        scenario TEXT NOT NULL,
        scope TEXT NOT NULL,
        revealed INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (user, scenario, scope)
    );
    CREATE TABLE tasks_done (
        user TEXT NOT NULL,
        scenario TEXT NOT NULL,
        task TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (user, scenario, task)
    );
    CREATE TABLE positions (
        user TEXT NOT NULL,
        scenario TEXT NOT NULL,
        task TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (user, scenario)
    );
    CREATE TABLE commands (
        id INTEGER PRIMARY KEY,
        user TEXT NOT NULL,
        scenario TEXT NOT NULL,
        line TEXT NOT NULL,
        exit_status INTEGER NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE INDEX commands_by_user ON commands (user, scenario);",
];
