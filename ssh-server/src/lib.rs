//! SSH server: authentication, limits, and one lab session per terminal.
//!
//! Students connect with any SSH client and get the application that a
//! [`SessionFactory`] provides, one [`TerminalSession`] per terminal.
//!
//! Modules:
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
//!   connection that has stopped talking; `admission` counts failures and
//!   sessions for the limits; `password_check` runs argon2 on its own
//!   threads.
//!
//! Serving an application (the `lab serve` wiring):
//!
//! ```no_run
//! # async fn wire(
//! #     factory: std::sync::Arc<dyn lab_ssh::SessionFactory>,
//! # ) -> Result<(), lab_ssh::ServeError> {
//! let mut config = lab_ssh::ServerConfig::new("lab-data");
//! config.listen = "0.0.0.0:2222".parse().expect("a valid address");
//! config.users_file = Some("lab-data/users.toml".into());
//! let shutdown = lab_ssh::CancellationToken::new();
//! let on_signal = shutdown.clone();
//! tokio::spawn(async move {
//!     let _ = tokio::signal::ctrl_c().await;
//!     on_signal.cancel();
//! });
//! lab_ssh::serve(config, factory, shutdown).await
//! # }
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod admission;
pub mod config;
mod connection;
mod cuttable_stream;
pub mod host_key;
pub mod input;
mod password_check;
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
