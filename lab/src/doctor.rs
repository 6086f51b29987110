//! `lab doctor`: what the lab found on this machine and what to do about
//! anything missing.
//!
//! Engines report themselves through [`EngineCheck`] hooks; an engine crate
//! that is wired in replaces the "not built into this lab yet" answer with a
//! real probe of its engine.

use std::path::PathBuf;

use lab_engine_api::{EngineKind, EngineState, EngineStatus};
use serde::Serialize;

/// Asks one engine how it is. Runs on the doctor's thread; may block for a
/// moment (connecting to dockerd, opening /dev/kvm).
pub type EngineCheck = Box<dyn Fn() -> EngineStatus + Send + Sync>;

/// Everything `lab doctor` reports.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub data_dir: PathBuf,
    /// Whether the progress database opened, or why not.
    pub progress_store: Result<PathBuf, String>,
    /// Scenario ids and where each came from.
    pub scenarios: Vec<(String, String)>,
    /// Scenario files that did not load, as `file:line:column: message`.
    pub scenario_problems: Vec<String>,
    pub engines: Vec<EngineStatus>,
}

impl DoctorReport {
    /// True when nothing needs the user's attention.
    pub fn all_ready(&self) -> bool {
        self.progress_store.is_ok()
            && self.scenario_problems.is_empty()
            && self.engines.iter().all(EngineStatus::is_ready)
    }
}

/// The engine checks of this build: one per engine, each saying the engine
/// is not built in. Engine crates replace entries as they are wired in.
pub fn default_engine_checks() -> Vec<EngineCheck> {
    EngineKind::ALL.into_iter().map(not_built_in).collect()
}

fn not_built_in(kind: EngineKind) -> EngineCheck {
    Box::new(move || EngineStatus {
        kind,
        state: EngineState::Unavailable {
            reason: "not built into this lab yet".to_owned(),
            remedy: format!(
                "use a lab build that includes the {kind} engine; scenarios that need it show \
                 \"needs the {kind} engine\" until then"
            ),
        },
    })
}

/// Runs every engine check.
pub fn engine_statuses(checks: &[EngineCheck]) -> Vec<EngineStatus> {
    checks.iter().map(|check| check()).collect()
}

/// The report as lines of text for a terminal.
pub fn format_report(report: &DoctorReport) -> String {
    let mut out = String::new();
    out.push_str(&format!("data directory: {}\n", report.data_dir.display()));
    match &report.progress_store {
        Ok(path) => out.push_str(&format!(
            "  ok       progress database {}\n",
            path.display()
        )),
        Err(error) => out.push_str(&format!(
            "  PROBLEM  progress database: {error}\n           fix: make the data directory \
             writable, or choose another with --data-dir or LAB_DATA_DIR\n"
        )),
    }
    out.push_str(&format!("scenarios: {} found\n", report.scenarios.len()));
    for (id, origin) in &report.scenarios {
        out.push_str(&format!("  ok       {id} ({origin})\n"));
    }
    for problem in &report.scenario_problems {
        out.push_str(&format!("  PROBLEM  {problem}\n"));
    }
    if !report.scenario_problems.is_empty() {
        out.push_str("           fix: run `lab validate` and correct the files listed\n");
    }
    out.push_str("engines:\n");
    for status in &report.engines {
        out.push_str(&engine_line(status));
    }
    out
}

fn engine_line(status: &EngineStatus) -> String {
    match &status.state {
        EngineState::Ready { detail } => format!("  ok       {:<8} {detail}\n", status.kind.name()),
        EngineState::Unavailable { reason, remedy } => format!(
            "  MISSING  {:<8} {reason}\n           fix: {remedy}\n",
            status.kind.name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_reports_a_remedy_until_wired_in() {
        let statuses = engine_statuses(&default_engine_checks());
        assert_eq!(statuses.len(), 3);
        for status in statuses {
            let EngineState::Unavailable { reason, remedy } = status.state else {
                panic!("an engine claims to be ready without being built in");
            };
            assert_eq!(reason, "not built into this lab yet");
            assert!(remedy.contains(status.kind.name()));
        }
    }

    #[test]
    fn report_names_missing_pieces_and_fixes() {
        let report = DoctorReport {
            data_dir: PathBuf::from("/data"),
            progress_store: Err("read-only file system".into()),
            scenarios: vec![("intro".into(), "scenarios/intro.yaml".into())],
            scenario_problems: vec!["bad.yaml:3:1: unknown field".into()],
            engines: engine_statuses(&default_engine_checks()),
        };
        let text = format_report(&report);
        assert!(!report.all_ready());
        assert!(text.contains("PROBLEM  progress database: read-only file system"));
        assert!(text.contains("bad.yaml:3:1: unknown field"));
        assert!(text.contains("MISSING  docker"));
        assert!(text.matches("fix:").count() >= 5);
    }
}
