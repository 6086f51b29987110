//! `lab shell`: the lab shell without the TUI, reading lines from standard
//! input, with the same engines a scenario session gets.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use lab_scenario::LoadedScenario;
use lab_shell::{Shell, run_script};
use tokio::io::BufReader;

use crate::engines::{LabEngines, StoreRecorder};
use crate::paths;
use crate::session::Session;
use crate::store::ProgressStore;

#[derive(Debug, Clone, Default, clap::Args)]
#[command(after_long_help = "Examples:\n  lab shell\n  \
                             echo 'docker ps; curl localhost:5000' | lab shell\n  \
                             lab shell --scenario virtualization-and-containers < steps.sh\n\n\
                             The exit status is the status of the last line run.")]
pub struct ShellArgs {
    /// The scenario whose engines (and command history) the shell uses
    /// [default: the first scenario].
    #[arg(long, value_name = "ID")]
    pub scenario: Option<String>,
}

pub fn execute(
    args: &ShellArgs,
    data_dir: &Path,
    scenarios_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let scenario = choose(args, scenarios_dir)?;
    let runtime = super::runtime()?;
    let store = ProgressStore::open_in(data_dir)
        .with_context(|| format!("cannot open the progress store in {}", data_dir.display()))?
        .shared();
    let user = paths::local_user();
    // Nobody reads the session's events here: engine states reach the
    // shell through its commands' own messages.
    let (session, _events) = Session::new(runtime.handle().clone(), store.clone(), &user);
    let lab = LabEngines::new().with_guest_cache(data_dir);
    let recorder = Arc::new(StoreRecorder::new(store, &user, &scenario.scenario.id));

    let status = runtime.block_on(async {
        let mut engines = lab.start_session(&session, &scenario);
        engines.wait_for_cluster().await;
        let (mut shell, mut output) = Shell::new(engines.shell_config(&user, recorder));
        for command in engines.take_late_commands() {
            shell.register(command);
        }
        let input = BufReader::new(tokio::io::stdin());
        let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
        let status = run_script(
            &mut shell,
            &mut output,
            input,
            tokio::io::stdout(),
            interactive,
        )
        .await;
        engines.shutdown().await;
        status
    });
    Ok(exit_code(status))
}

fn choose(args: &ShellArgs, scenarios_dir: Option<&Path>) -> anyhow::Result<LoadedScenario> {
    let catalog = super::catalog(scenarios_dir);
    let found = match &args.scenario {
        Some(id) => catalog.get(id).cloned(),
        None => catalog.scenarios.first().cloned(),
    };
    match (found, &args.scenario) {
        (Some(scenario), _) => Ok(scenario),
        (None, Some(id)) => bail!("no scenario `{id}`; `lab doctor` lists the scenarios found"),
        (None, None) => bail!("no scenarios found; `lab doctor` says where the lab looked"),
    }
}

/// A shell status as a process exit code (statuses wrap like bash's).
fn exit_code(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status.rem_euclid(256)).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_wrap_into_a_byte() {
        assert_eq!(exit_code(0), ExitCode::from(0));
        assert_eq!(exit_code(127), ExitCode::from(127));
        assert_eq!(exit_code(256 + 3), ExitCode::from(3));
        assert_eq!(exit_code(-1), ExitCode::from(255));
    }
}
