//! Where the lab keeps its files, and who the local learner is.

use std::path::PathBuf;

/// Environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "LAB_DATA_DIR";

/// The data directory: `explicit` (from `--data-dir`) when given, else
/// `$LAB_DATA_DIR`, `$XDG_DATA_HOME/lab`, `~/.local/share/lab`, and as a
/// last resort `./.lab` when there is no home directory at all.
pub fn data_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| non_empty_env(DATA_DIR_ENV).map(PathBuf::from))
        .or_else(|| non_empty_env("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("lab")))
        .or_else(|| non_empty_env("HOME").map(|h| PathBuf::from(h).join(".local/share/lab")))
        .unwrap_or_else(|| PathBuf::from(".lab"))
}

/// The local learner: `$USER`, or `learner` when it is unset.
pub fn local_user() -> String {
    non_empty_env("USER").unwrap_or_else(|| "learner".to_owned())
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}
