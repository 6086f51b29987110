//! Logs go to `lab.log` in the data directory, never to the screen the
//! learner is looking at. `LAB_LOG` sets the filter (default `info`).

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// File name of the log inside the data directory.
pub const LOG_FILE: &str = "lab.log";

/// Sends tracing output to the log file. When the file cannot be opened,
/// logging stays off rather than writing over the TUI.
pub fn init(data_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join(LOG_FILE))?;
    let filter = EnvFilter::try_from_env("LAB_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(())
}
