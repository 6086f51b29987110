//! SSH server: authentication, limits, and one lab session per terminal.
//!
//! Students connect with any SSH client and get the application that a
//! [`SessionFactory`] provides, one [`TerminalSession`] per terminal.
//!
//! - [`server`]: [`Server`] binds and runs; [`serve`] does both.
//! - [`config`]: [`ServerConfig`] and [`Limits`].
//! - [`session`]: the boundary traits the application implements.
//! - [`terminal`]: [`RemoteTerminal`], ratatui drawing into bytes.
//! - [`input`]: raw client bytes to crossterm events.
//! - [`users`]: the users file, password hashes, `lab user` helpers.
//! - [`host_key`]: the persistent ed25519 host key.
//! - `connection` and `terminal_channel`: per-connection authentication and
//!   the per-terminal session loop; `cuttable_stream` lets the server end a
//!   connection that has stopped talking.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod admission;
pub mod config;
mod connection;
mod cuttable_stream;
pub mod host_key;
pub mod input;
pub mod server;
pub mod session;
pub mod terminal;
mod terminal_channel;
pub mod users;

pub use config::{Limits, ServerConfig};
pub use server::{ServeError, Server, serve};
pub use session::{
    RedrawHandle, SessionContext, SessionFactory, SessionOpenError, TICK_INTERVAL, TermSize,
    TerminalSession,
};
pub use terminal::RemoteTerminal;
pub use tokio_util::sync::CancellationToken;
