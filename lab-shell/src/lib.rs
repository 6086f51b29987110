//! The lab shell: a bash-like shell that runs inside the lab process and
//! routes commands to the engines of the student's own session. Nobody
//! gets a shell on the host through it.
//!
//! - [`parse`]: the command-line grammar (quotes, `$VAR`, pipes, `;`, `&&`,
//!   `||`, redirections) into a tree, with bash's error wording.
//! - [`shell`]: [`Shell`], which expands and runs a parsed line against
//!   built-ins, filters and engine commands; headless and independent of
//!   drawing. [`CommandRecorder`] receives every line run.
//! - [`builtins`] and [`filters`]: the commands the shell itself provides.
//! - [`registry`]: the engine commands (`docker`, `kubectl`, `vm`,
//!   `curl`) as [`lab_engine_api::ShellCommand`]s.
//! - [`scratch`]: the session's in-memory scratch files.
//! - [`history`] and [`complete`]: history and Tab completion.
//! - [`script`]: [`run_script`], the line-by-line driver behind `lab shell`.
//! - [`editor`]: the line editor (keys to edits, no drawing).
//! - [`terminal`]: a vt100 screen with scrollback and its ratatui widget.
//! - [`pane`]: [`ShellPane`], the TUI's terminal pane around a [`Shell`].
//! - [`host`]: [`HostShellPane`], a real PTY with the user's login shell for
//!   `lab --host-shell` on the local machine.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod builtins;
pub mod complete;
pub mod editor;
pub mod filters;
pub mod history;
pub mod host;
pub mod keys;
pub mod pane;
pub mod parse;
pub mod registry;
pub mod scratch;
pub mod script;
pub mod shell;
pub mod terminal;

/// The key event types the pane and editor take, re-exported so callers
/// use the same crossterm version.
pub use crossterm;
pub use host::{HostShellError, HostShellPane};
pub use pane::{PaneUpdate, ShellPane};
pub use registry::CommandRegistry;
pub use script::run_script;
pub use shell::{CommandRecorder, ConsoleInput, Foreground, Shell, ShellConfig, TerminalOutput};
/// The terminal emulator whose screen [`ShellPane::screen`] returns.
pub use vt100;
