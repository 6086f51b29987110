//! Scenarios: what instructors write and what the lab runs.
//!
//! - [`model`]: the typed scenario (tasks, questions, answer rules, checks).
pub mod model;
