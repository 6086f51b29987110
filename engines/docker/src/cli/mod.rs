//! The lab shell's `docker` command.
//!
//! It speaks the docker CLI's language (same tables, IDs, error wording and
//! exit codes) but acts only on the student's session: names are shown
//! without the session prefix, ports as the student published them, and
//! options that would reach the host are refused with an explanation.
//!
//! - [`args`]: flag parsing with docker's conventions;
//! - [`table`]: tables, durations and sizes as the docker CLI prints them;
//! - [`help`]: `--help` texts;
//! - `containers`: `run`, `ps`, `stop`, `start`, `restart`, `rm`, `logs`,
//!   `exec`, `inspect`;
//! - `images`: `images`, `pull`, `version`.

pub mod args;
mod containers;
pub use containers::ports_column as containers_ports_column;
pub mod help;
mod images;
pub mod table;

use std::sync::Arc;

use async_trait::async_trait;
use lab_engine_api::{CommandOutput, Invocation, ShellCommand};

use crate::error::DockerError;
use crate::session::DockerSession;

/// The `docker` command of one session's lab shell.
pub struct DockerCommand {
    session: Arc<DockerSession>,
}

impl DockerCommand {
    pub fn new(session: Arc<DockerSession>) -> Self {
        DockerCommand { session }
    }

    pub fn session(&self) -> &Arc<DockerSession> {
        &self.session
    }
}

/// Exit status of a docker CLI usage error.
const EXIT_USAGE: i32 = 125;

#[async_trait]
impl ShellCommand for DockerCommand {
    fn name(&self) -> &str {
        "docker"
    }

    fn summary(&self) -> &str {
        "run and manage your containers (docker run, ps, logs, exec, ...)"
    }

    fn help(&self, topic: &[String]) -> String {
        match topic.first().and_then(|t| help::find(t)) {
            Some(sub) => help::subcommand(sub),
            None => help::overview(),
        }
    }

    fn complete(&self, before: &[String], partial: &str) -> Vec<String> {
        let words: Vec<&str> = before
            .iter()
            .map(String::as_str)
            .skip_while(|w| *w == "docker")
            .collect();
        let Some(sub) = words.first() else {
            return prefixed(help::SUBCOMMANDS.iter().map(|s| s.name.to_owned()), partial);
        };
        let Some(sub) = help::find(sub) else {
            return Vec::new();
        };
        if partial.starts_with('-') {
            let flags = sub.flags.iter().map(|(spec, _)| format!("--{}", spec.long));
            return prefixed(flags, partial);
        }
        match sub.name {
            "run" | "pull" => prefixed(self.image_names(), partial),
            "stop" | "start" | "restart" | "rm" | "logs" | "exec" | "inspect" => {
                prefixed(self.session.cached_names(), partial)
            }
            _ => Vec::new(),
        }
    }

    async fn run(&self, invocation: Invocation<'_>) -> i32 {
        let Some((sub, rest)) = invocation.args.split_first() else {
            let _ = invocation.stdout.write(help::overview()).await;
            return 0;
        };
        if sub == "--help" || sub == "-h" || sub == "help" {
            let _ = invocation.stdout.write(help::overview()).await;
            return 0;
        }
        let Some(spec) = help::find(sub) else {
            let _ = invocation
                .stderr
                .line(format!(
                    "docker: unknown command: docker {sub}\n\nRun 'docker --help' for more information"
                ))
                .await;
            return 1;
        };
        if rest.iter().any(|a| a == "--help") {
            let _ = invocation.stdout.write(help::subcommand(spec)).await;
            return 0;
        }
        let span = tracing::debug_span!("docker_command", session = %self.session.id(), sub = %sub);
        let _enter = span.enter();
        self.dispatch(sub, rest, &invocation).await
    }
}

impl DockerCommand {
    async fn dispatch(&self, sub: &str, args: &[String], inv: &Invocation<'_>) -> i32 {
        match sub {
            "run" => self.run_container(args, inv).await,
            "ps" => self.ps(args, inv).await,
            "stop" | "start" | "restart" => self.lifecycle(sub, args, inv).await,
            "rm" => self.rm(args, inv).await,
            "logs" => self.logs(args, inv).await,
            "exec" => self.exec(args, inv).await,
            "inspect" => self.inspect(args, inv).await,
            "images" => self.images(args, inv).await,
            "pull" => self.pull(args, inv).await,
            "version" => self.version(inv).await,
            _ => 1,
        }
    }

    fn image_names(&self) -> Vec<String> {
        self.session
            .catalog()
            .images()
            .iter()
            .map(|i| {
                i.reference
                    .strip_suffix(":latest")
                    .unwrap_or(&i.reference)
                    .to_owned()
            })
            .collect()
    }
}

fn prefixed(words: impl IntoIterator<Item = String>, partial: &str) -> Vec<String> {
    let mut found: Vec<String> = words
        .into_iter()
        .filter(|w| w.starts_with(partial))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Parses a subcommand's flags; on error prints docker's usage error.
async fn parse_or_usage(
    sub: &str,
    args: &[String],
    stop_at_positional: bool,
    stderr: &CommandOutput,
) -> Option<args::Parsed> {
    let spec = help::find(sub)?;
    match args::parse(args, &help::specs(spec), stop_at_positional) {
        Ok(parsed) => Some(parsed),
        Err(message) => {
            let _ = stderr
                .line(format!(
                    "{message}\n\nUsage:  {}\n\nRun 'docker {sub} --help' for more information",
                    spec.usage
                ))
                .await;
            None
        }
    }
}

/// Docker's "requires at least N argument" usage error.
async fn missing_argument(sub: &str, at_least: usize, stderr: &CommandOutput) -> i32 {
    let usage = help::find(sub).map(|s| s.usage).unwrap_or("docker");
    let plural = if at_least == 1 {
        "argument"
    } else {
        "arguments"
    };
    let _ = stderr
        .line(format!(
            "docker: 'docker {sub}' requires at least {at_least} {plural}\n\nUsage:  {usage}\n\nSee 'docker {sub} --help' for more information"
        ))
        .await;
    1
}

/// How the docker CLI words an error from the engine.
pub fn daemon_error(session: &DockerSession, error: &DockerError) -> String {
    match error {
        DockerError::EngineDown { address, .. } => format!(
            "Cannot connect to the Docker daemon at {address}. Is the docker daemon running?\n\
             (lab: {})",
            crate::engine::ENGINE_REMEDY
        ),
        DockerError::NoSuchContainer(name) => {
            format!("Error response from daemon: No such container: {name}")
        }
        DockerError::ImageNotAvailable(image) => {
            let known: Vec<String> = session
                .catalog()
                .images()
                .iter()
                .skip(1)
                .map(|i| {
                    i.reference
                        .strip_suffix(":latest")
                        .unwrap_or(&i.reference)
                        .to_owned()
                })
                .collect();
            format!(
                "Error response from daemon: image {image} is not available offline in this lab \
                 (images you can use: {})",
                known.join(", ")
            )
        }
        DockerError::Api { .. }
        | DockerError::NameInUse { .. }
        | DockerError::PortInUse { .. }
        | DockerError::Refused(_) => {
            format!(
                "Error response from daemon: {}",
                session.student_text(&error.daemon_message())
            )
        }
        other => format!("Error: {}", crate::engine::error_chain(other)),
    }
}
