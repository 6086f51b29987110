//! `lab validate [PATH...]`: every problem in scenario files, one line each
//! as `file:line:column: message`, exit status 1 when there is any.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lab_scenario::Diagnostic;

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:\n  lab validate\n  lab validate scenarios/ my-draft.yaml")]
pub struct ValidateArgs {
    /// Scenario files or directories of them [default: the scenarios
    /// directory when present, else the built-in scenarios].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub fn execute(args: &ValidateArgs, scenarios_dir: Option<&Path>) -> ExitCode {
    let (what, diagnostics) = diagnostics(args, scenarios_dir);
    for diagnostic in &diagnostics {
        println!("{diagnostic}");
    }
    if diagnostics.is_empty() {
        println!("ok: {what} valid");
        ExitCode::SUCCESS
    } else {
        eprintln!("{} problem(s) found", diagnostics.len());
        ExitCode::FAILURE
    }
}

/// What was validated (for the closing line) and the problems found.
fn diagnostics(args: &ValidateArgs, scenarios_dir: Option<&Path>) -> (String, Vec<Diagnostic>) {
    let paths = match (args.paths.is_empty(), scenarios_dir) {
        (false, _) => args.paths.clone(),
        (true, Some(dir)) => vec![dir.to_path_buf()],
        (true, None) => return embedded(),
    };
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    (names.join(", "), lab_scenario::validate_paths(&paths))
}

fn embedded() -> (String, Vec<Diagnostic>) {
    match lab_scenario::load_embedded() {
        Ok(loaded) => (format!("{} built-in scenario(s)", loaded.len()), Vec::new()),
        Err(problems) => ("built-in scenarios".to_owned(), problems),
    }
}
