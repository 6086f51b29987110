//! The lab core: scenario sessions, the TUI, the progress store and the CLI.
