//! Commands that engines plug into the lab shell.
//!
//! The lab shell parses a command line, expands variables, sets up pipes and
//! redirections, and then hands one simple command to the [`ShellCommand`]
//! registered under its name. The command writes to [`CommandOutput`]s that
//! the shell connects to the terminal pane, to a pipe or to a scratch file.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where a command's bytes go. Bounded: a command that outruns its reader
/// waits instead of growing memory.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    tx: mpsc::Sender<Vec<u8>>,
}

/// The reading end has gone away (the pane closed or the pipe reader ended).
#[derive(Debug, thiserror::Error)]
#[error("output closed")]
pub struct OutputClosed;

impl CommandOutput {
    /// A new output and the receiver that collects what is written to it.
    pub fn channel(capacity: usize) -> (CommandOutput, mpsc::Receiver<Vec<u8>>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (CommandOutput { tx }, rx)
    }

    /// Writes bytes, waiting while the reader is behind.
    pub async fn write(&self, bytes: impl Into<Vec<u8>>) -> Result<(), OutputClosed> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Ok(());
        }
        self.tx.send(bytes).await.map_err(|_| OutputClosed)
    }

    /// Writes a line of text followed by `\n`.
    pub async fn line(&self, text: impl AsRef<str>) -> Result<(), OutputClosed> {
        let mut bytes = text.as_ref().as_bytes().to_vec();
        bytes.push(b'\n');
        self.write(bytes).await
    }
}

/// Read access to the session's scratch files (what `>` wrote), for commands
/// such as `kubectl apply -f FILE`. Paths are the student's, relative to the
/// shell's working directory or absolute inside the scratch area.
pub trait ScratchFiles: Send + Sync {
    fn read(&self, path: &str) -> Option<Vec<u8>>;

    /// Replaces the file at `path` with `bytes`, as `curl -o FILE` does.
    /// The error is the reason in a few words ("No such file or directory").
    fn write(&self, path: &str, bytes: &[u8]) -> Result<(), String> {
        let _ = (path, bytes);
        Err("scratch files are read-only here".to_owned())
    }
}

/// Everything one run of a command gets.
pub struct Invocation<'a> {
    /// Arguments after the command name, already unquoted and expanded.
    pub args: &'a [String],
    /// Piped input, when the command is not the first in a pipeline.
    pub stdin: Option<Vec<u8>>,
    pub stdout: CommandOutput,
    pub stderr: CommandOutput,
    /// The shell's exported variables.
    pub env: &'a BTreeMap<String, String>,
    pub files: &'a dyn ScratchFiles,
    /// Cancelled when the student presses Ctrl-C or the session ends.
    pub cancel: CancellationToken,
    /// Raw bytes the student types while this command runs in the
    /// foreground, for commands that attach to a console. `None` when the
    /// command is part of a pipeline.
    pub keys: Option<mpsc::Receiver<Vec<u8>>>,
    /// Width of the terminal pane in columns, for table output.
    pub columns: u16,
}

/// A command of the lab shell, with its own help and completion.
#[async_trait]
pub trait ShellCommand: Send + Sync {
    /// The name typed at the prompt: `docker`, `kubectl`, `vm`, `curl`.
    fn name(&self) -> &str;

    /// One line for the shell's `help` listing.
    fn summary(&self) -> &str;

    /// The text of `CMD --help` and `man CMD`; `topic` is a subcommand
    /// path such as `["run"]` for `docker run --help`.
    fn help(&self, topic: &[String]) -> String;

    /// Completion candidates for the word being typed, given the words
    /// before it. Must not block: engines answer from cached names.
    fn complete(&self, _before: &[String], _partial: &str) -> Vec<String> {
        Vec::new()
    }

    /// Runs the command and returns its exit status.
    async fn run(&self, invocation: Invocation<'_>) -> i32;
}
