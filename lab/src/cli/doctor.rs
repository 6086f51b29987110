//! `lab doctor`.

use std::path::Path;
use std::process::ExitCode;

use crate::doctor::{DoctorReport, EngineCheck, engine_statuses, format_report};
use crate::store::{DATABASE_FILE, ProgressStore};

pub fn execute(data_dir: &Path, scenarios_dir: Option<&Path>, checks: &[EngineCheck]) -> ExitCode {
    let report = report(data_dir, scenarios_dir, checks);
    print!("{}", format_report(&report));
    if report.all_ready() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn report(data_dir: &Path, scenarios_dir: Option<&Path>, checks: &[EngineCheck]) -> DoctorReport {
    let catalog = super::catalog(scenarios_dir);
    let progress_store = ProgressStore::open_in(data_dir)
        .map(|_| data_dir.join(DATABASE_FILE))
        .map_err(|error| format!("{error}: {}", source_text(&error)));
    DoctorReport {
        data_dir: data_dir.to_path_buf(),
        progress_store,
        scenarios: catalog
            .scenarios
            .iter()
            .map(|s| (s.scenario.id.clone(), s.origin.clone()))
            .collect(),
        scenario_problems: catalog.problems.iter().map(ToString::to_string).collect(),
        engines: engine_statuses(checks),
    }
}

fn source_text(error: &dyn std::error::Error) -> String {
    error.source().map_or_else(String::new, ToString::to_string)
}
