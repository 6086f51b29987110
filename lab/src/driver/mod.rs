//! Drivers run an [`App`](crate::app::App) against a real screen.
//!
//! - [`terminal`]: the local terminal (raw mode, alternate screen, mouse).
//!
//! The SSH server has its own driver that renders into a byte buffer per
//! session; both only call `handle_event` and `render`.

pub mod terminal;
