//! The contract between the lab core and its engines.
//!
//! The TUI, the scenario model and the lab shell depend on this crate and never
//! on bollard, kube or kvm-ioctls. Each engine crate implements these traits
//! for the resources of one student session.
//!
//! - [`check`]: hands-on check kinds and live answer sources as they appear in
//!   scenario YAML, and the [`Probe`] an engine implements to evaluate them.
//! - [`command`]: the shape of a lab shell command (`docker`, `kubectl`, `vm`,
//!   `curl`) that an engine plugs into the shell.
//! - [`status`]: what `lab doctor` and the UI say about an engine.

pub mod check;
pub mod command;
pub mod status;

pub use check::{CheckOutcome, CheckSpec, LiveValueSpec, Probe, ProbeError};
pub use command::{CommandOutput, Invocation, OutputClosed, ScratchFiles, ShellCommand};
pub use status::{EngineKind, EngineState, EngineStatus};
