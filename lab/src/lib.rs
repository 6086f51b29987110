//! The lab core: the TUI, the learner's session, the progress store and
//! the command line.
//!
//! - [`app`]: the TUI as a state machine (`App::handle_event`,
//!   `App::render`), shared by the local terminal and the SSH server.
//! - [`session`]: background work (checks, live answers) through engine
//!   probes, reported back as events.
//! - [`store`]: the SQLite progress store.
//! - [`driver`]: the local terminal loop around an App.
//! - [`watch`]: the scenario file watcher of `lab run --watch`.
//! - [`engines`]: the engines of the process and of each session, and the
//!   lab shell pane that reaches them; local mode and SSH share it.
//! - [`doctor`]: the health report of `lab doctor`.
//! - [`paths`]: the data directory and the local user name.
//! - [`scenario_test`]: plays scenarios' solutions to prove them sound.
//! - [`cli`]: the `lab` command line, one module per subcommand.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod cli;
pub mod doctor;
pub mod driver;
pub mod engines;
pub mod logging;
pub mod paths;
pub mod scenario_test;
pub mod session;
pub mod store;
pub mod watch;
