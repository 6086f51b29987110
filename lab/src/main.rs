//! The `lab` binary: parses the command line and runs a subcommand.

use std::process::ExitCode;

use clap::Parser;
use lab::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let data_dir = lab::paths::data_dir(cli.data_dir.clone());
    if let Err(error) = lab::logging::init(&data_dir) {
        eprintln!("warning: no log file in {}: {error}", data_dir.display());
    }
    let pane = if cli.host_shell {
        lab::engines::PaneChoice::HostShell
    } else {
        lab::engines::PaneChoice::LabShell
    };
    // `lab run --cluster` decides where the local sessions' clusters run.
    let cluster = match &cli.command {
        Some(lab::cli::Command::Run(args)) => args.cluster.clone(),
        _ => lab::engines::ClusterSource::Embedded,
    };
    match cli.execute(lab::engines::local_wiring(pane, &data_dir, cluster)) {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "lab failed");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
