//! The `lab` command line: one module per subcommand.
//!
//! Each subcommand is a variant of [`Command`] and a module here; `serve`
//! (the SSH server) and `user` (its accounts) wire in lab-ssh.

pub mod cluster;
pub mod doctor;
pub mod images;
pub mod progress;
pub mod run;
pub mod scenario;
pub mod scenario_new;
pub mod schema;
pub mod serve;
pub mod shell;
pub mod user;
pub mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lab_scenario::ScenarioCatalog;

use crate::app::{App, PaneStatus};
use crate::doctor::{EngineCheck, default_engine_checks};
use crate::paths;

/// A teaching lab in your terminal: guided scenarios with lessons,
/// questions, hints and hands-on checks against real containers, clusters
/// and virtual machines.
#[derive(Debug, Parser)]
#[command(name = "lab", version, after_long_help = EXAMPLES)]
pub struct Cli {
    /// Where progress and logs are kept [default: $XDG_DATA_HOME/lab or
    /// ~/.local/share/lab].
    #[arg(long, global = true, env = paths::DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// A directory of scenario files to use besides the built-in ones; a
    /// scenario here replaces a built-in one with the same id [default:
    /// ./scenarios when it exists].
    #[arg(long, global = true, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,

    /// Give the terminal pane your own login shell on this machine instead
    /// of the lab shell (local use only; lab commands like `docker` then run
    /// on the host, and the lab records no commands).
    #[arg(long, global = true)]
    pub host_shell: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

const EXAMPLES: &str = "\
Examples:
  lab                                   pick a scenario and start learning
  lab run virtualization-and-containers start (or resume) one scenario
  lab run ./my-scenario.yaml            try a scenario file you are writing
  lab validate scenarios/               check scenario files, file:line:column
  lab scenario test scenarios/          play each task's solution with real engines
  lab scenario new web-basics           start a new scenario from a working example
  lab progress --format csv > out.csv   export every learner's progress
  lab shell < steps.sh                  run lab shell lines without the TUI
  lab images build                      build the lab's images for offline use
  lab cluster serve                     a Kubernetes API for your own kubectl
  lab serve                             serve the lab over SSH (ssh -p 2222 thmuser@127.0.0.1)
  lab user add alice                    add a student account for `lab serve`
  lab doctor                            see what is installed and what is missing";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start or resume a scenario in this terminal (the default).
    Run(run::RunArgs),
    /// Check scenario files and print every problem as file:line:column.
    Validate(validate::ValidateArgs),
    /// Scenario format tools.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Print learners' progress for instructors.
    Progress(progress::ProgressArgs),
    /// Report the data directory, the scenarios found and the state of each
    /// engine, with what to do about anything missing.
    Doctor,
    /// The lab shell without the TUI: runs lines from standard input with
    /// a scenario's engines (docker, curl, vm, ...).
    Shell(shell::ShellArgs),
    /// The lab's Docker images and Linux guest, built locally for offline use.
    #[command(subcommand)]
    Images(images::ImagesCommand),
    /// The embedded Kubernetes cluster on its own.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Serve the lab over SSH: every student who logs in gets the TUI.
    Serve(serve::ServeArgs),
    /// Student accounts for `lab serve`.
    #[command(subcommand)]
    User(user::UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Print the JSON Schema of scenario files (for editors).
    #[command(after_long_help = "Example:\n  lab scenario schema > scenario.schema.json")]
    Schema,
    /// Play every task's `solution:` lines with real engines and report
    /// whether the scenario is sound.
    Test(scenario::TestArgs),
    /// Write a small working scenario (YAML and lessons) to start from.
    New(scenario_new::NewArgs),
}

/// Called with the App and the scenario id when a scenario opens locally.
pub type ScenarioStartHook = Box<dyn FnMut(&mut App, &str)>;

/// Called once when the local TUI ends (the learner quit), while the
/// session's runtime still runs: stop the session's engines here.
pub type SessionEndHook = Box<dyn FnOnce(&mut App)>;

/// What the binary plugs in from the engine and shell crates. The default
/// has no engines: `lab doctor` says so and checks that need one say which.
pub struct Wiring {
    /// One health check per engine, for `lab doctor`.
    pub engine_checks: Vec<EngineCheck>,
    /// Called when a scenario opens in the local TUI (also when `lab run ID`
    /// opens it at start): start its engines, attach their probes with
    /// `app.session().attach_probe(...)` and the lab shell with
    /// `app.attach_pane(...)`. Must not block for long; slow start-up belongs
    /// on a task that reports through `Session::notify`.
    pub on_scenario_start: ScenarioStartHook,
    /// Called when the local TUI ends; may block until cleanup is done.
    pub on_session_end: SessionEndHook,
}

impl Default for Wiring {
    fn default() -> Self {
        Wiring {
            engine_checks: default_engine_checks(),
            on_scenario_start: Box::new(|app, _| {
                let reason = "it is not built into this lab yet".to_owned();
                app.set_pane_status(PaneStatus::Unavailable { reason });
            }),
            on_session_end: Box::new(|_| {}),
        }
    }
}

impl Cli {
    /// Runs the chosen subcommand with the engines and shell in `wiring`.
    pub fn execute(self, wiring: Wiring) -> anyhow::Result<ExitCode> {
        let data_dir = paths::data_dir(self.data_dir.clone());
        let scenarios_dir = scenarios_dir(self.scenarios.clone());
        let dir = scenarios_dir.as_deref();
        match self
            .command
            .unwrap_or(Command::Run(run::RunArgs::default()))
        {
            Command::Run(args) => run::execute(&args, &data_dir, dir, wiring),
            Command::Validate(args) => Ok(validate::execute(&args, dir)),
            Command::Scenario(ScenarioCommand::Schema) => Ok(schema::execute()),
            Command::Scenario(ScenarioCommand::Test(args)) => scenario::test(&args, &data_dir, dir),
            Command::Scenario(ScenarioCommand::New(args)) => scenario_new::execute(&args),
            Command::Progress(args) => progress::execute(&args, &data_dir),
            Command::Doctor => Ok(doctor::execute(&data_dir, dir, &wiring.engine_checks)),
            Command::Shell(args) => shell::execute(&args, &data_dir, dir),
            Command::Images(command) => images::execute(&command, &data_dir),
            Command::Cluster(command) => cluster::execute(&command, &data_dir, dir),
            Command::Serve(args) => serve::execute(&args, &data_dir, dir),
            Command::User(command) => user::execute(&command, &data_dir),
        }
    }
}

/// `--scenarios`, else `./scenarios` when it is a directory.
fn scenarios_dir(explicit: Option<PathBuf>) -> Option<PathBuf> {
    explicit.or_else(|| Some(PathBuf::from("scenarios")).filter(|dir| dir.is_dir()))
}

/// The runtime a subcommand's engine work runs on.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the background runtime")
}

/// The built-in scenarios joined by those in `dir`.
pub fn catalog(dir: Option<&std::path::Path>) -> ScenarioCatalog {
    let user_paths: Vec<PathBuf> = dir.map(std::path::Path::to_path_buf).into_iter().collect();
    ScenarioCatalog::load(&user_paths)
}
