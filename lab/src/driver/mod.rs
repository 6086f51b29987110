//! Drivers run an [`App`](crate::app::App) against a real screen.
//!
//! - [`terminal`]: the local terminal (raw mode, alternate screen, mouse).
//! - [`ssh`]: one App per SSH terminal, rendered into bytes for lab-ssh.
//!
//! Both only call `handle_event` and `render`.

pub mod ssh;
pub mod terminal;
