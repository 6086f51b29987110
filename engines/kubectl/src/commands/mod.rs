//! The subcommands, one module each, and what they share: [`Context`] (the
//! client, the parsed line, where output goes) and [`Failure`].

pub mod apply;
pub mod create;
pub mod describe;
pub mod get;
pub mod info;
pub mod logs;
pub mod modify;
pub mod rollout;

use lab_engine_api::{CommandOutput, OutputClosed, ScratchFiles};
use tokio_util::sync::CancellationToken;

use crate::args::Args;
use crate::client::{ApiError, ClusterClient};
use crate::kinds::ResourceKind;

/// Everything one subcommand run gets.
pub struct Context<'a> {
    pub client: &'a ClusterClient,
    pub args: &'a Args,
    pub out: &'a CommandOutput,
    pub err: &'a CommandOutput,
    pub files: &'a dyn ScratchFiles,
    /// Piped input (for `apply -f -`).
    pub stdin: Option<Vec<u8>>,
    pub cancel: CancellationToken,
}

/// Why a subcommand stopped; printed on stderr, exit status 1.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Api(#[from] ApiError),
    /// A usage or input problem, printed as `error: ...`.
    #[error("error: {0}")]
    Usage(String),
    /// The reason was already printed; only the exit status is left.
    #[error("")]
    Reported,
    /// The terminal went away; nothing more to print.
    #[error("output closed")]
    Closed(#[from] OutputClosed),
}

pub type Outcome = Result<(), Failure>;

/// Shorthand for a usage failure.
pub fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(message.into())
}

impl Context<'_> {
    /// The namespace of this run: `-n`, or the client's default.
    pub fn namespace(&self) -> &str {
        self.args
            .value("namespace")
            .unwrap_or(self.client.namespace())
    }

    /// The positional words after the subcommand (and after `skip` more).
    pub fn operands(&self, skip: usize) -> &[String] {
        self.args.positional.get(1 + skip..).unwrap_or(&[])
    }

    /// Whether `--dry-run=client|server` asks to print instead of change.
    pub fn dry_run(&self) -> Result<bool, Failure> {
        match self.args.value("dry-run") {
            None | Some("none") => Ok(false),
            Some("client" | "server") => Ok(true),
            Some(other) => Err(usage(format!(
                "Invalid dry-run value ({other:?}). Must be \"none\", \"server\", or \"client\"."
            ))),
        }
    }

    /// Refuses `--dry-run` where the lab's kubectl would otherwise change
    /// the cluster anyway.
    pub fn refuse_dry_run(&self, subcommand: &str) -> Outcome {
        match self.dry_run()? {
            true => Err(usage(format!(
                "--dry-run is not supported by the lab's kubectl for {subcommand}; nothing was changed"
            ))),
            false => Ok(()),
        }
    }

    /// Resolves a kind name or fails as kubectl does.
    pub fn kind(&self, name: &str) -> Result<&'static ResourceKind, Failure> {
        ResourceKind::lookup(name).ok_or_else(|| {
            usage(format!(
                "the server doesn't have a resource type \"{name}\""
            ))
        })
    }

    /// Splits `TYPE NAME` or `TYPE/NAME` operands into a kind and names.
    pub fn kind_and_names(
        &self,
        skip: usize,
    ) -> Result<(&'static ResourceKind, Vec<String>), Failure> {
        let operands = self.operands(skip);
        let first = operands
            .first()
            .ok_or_else(|| usage("you must specify the type of resource"))?;
        if let Some((kind, name)) = first.split_once('/') {
            return Ok((self.kind(kind)?, vec![name.to_string()]));
        }
        Ok((self.kind(first)?, operands[1..].to_vec()))
    }
}
