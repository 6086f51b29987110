//! The shell itself: variables, working directory, history, and running a
//! parsed line.
//!
//! A [`Shell`] knows nothing about drawing. It writes everything a student
//! should see to one terminal output (a [`CommandOutput`] whose receiver
//! the pane or [`crate::run_script`] drains), so the same code runs
//! behind the TUI and headless.
//!
//! Pipelines run stage after stage: each stage's output is collected
//! (up to [`PIPE_LIMIT`] bytes) and handed to the next as its input, which
//! is what [`Invocation::stdin`] asks for. Only the last stage streams
//! straight to the terminal.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use lab_engine_api::{CommandOutput, Invocation, ShellCommand};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::builtins::Builtin;
use crate::filters;
use crate::history::History;
use crate::parse::{
    self, CommandList, Connector, Pipeline, Redirect, SimpleCommand, Word, WordPart,
};
use crate::registry::CommandRegistry;
use crate::scratch::{self, ScratchFs, ScratchLimits, ScratchView};

/// The most bytes one pipeline stage or redirection collects.
pub const PIPE_LIMIT: usize = 8 << 20;

/// Status of a line stopped with Ctrl-C, as in bash (128 + SIGINT).
pub const INTERRUPTED_STATUS: i32 = 130;

/// Status of a name that is no command.
pub const NOT_FOUND_STATUS: i32 = 127;

/// Status of a line that does not parse.
pub const SYNTAX_ERROR_STATUS: i32 = 2;

/// How long a cancelled engine command may take to wind down before the
/// shell stops waiting for it.
const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// Channel depth of the terminal output and of pipes, in writes.
const OUTPUT_DEPTH: usize = 64;

/// Receives every command line a student runs, for the progress store and
/// `command_ran` checks.
pub trait CommandRecorder: Send + Sync {
    /// `at` is when the line started; `exit_status` is the line's status
    /// (2 for a syntax error, 127 for an unknown command).
    fn record(&self, line: &str, exit_status: i32, at: SystemTime);
}

/// What a session's shell starts with.
#[derive(Clone)]
pub struct ShellConfig {
    pub user: String,
    pub hostname: String,
    pub registry: CommandRegistry,
    pub recorder: Option<Arc<dyn CommandRecorder>>,
    pub scratch_limits: ScratchLimits,
    pub history_capacity: usize,
    /// Width of the terminal in columns, passed to commands for tables.
    pub columns: u16,
}

impl ShellConfig {
    /// The student's usual identity, `thmuser@lab`, with `registry`.
    pub fn new(registry: CommandRegistry) -> Self {
        ShellConfig {
            user: "thmuser".to_owned(),
            hostname: "lab".to_owned(),
            registry,
            recorder: None,
            scratch_limits: ScratchLimits::default(),
            history_capacity: 1000,
            columns: 80,
        }
    }
}

/// What a student types while a command runs in the foreground.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleInput {
    /// Bytes for an attached console.
    Bytes(Vec<u8>),
    /// Ctrl-]: let go of the console.
    Detach,
}

/// The foreground controls of one line: how the pane stops it and feeds
/// keys to a command that attaches to a console.
pub struct Foreground {
    /// Cancelled on Ctrl-C; the line stops with status 130.
    pub cancel: CancellationToken,
    /// Typed input; only a single command with no pipe receives it.
    pub input: Option<mpsc::Receiver<ConsoleInput>>,
    /// True while a command holds the keys, so the pane sends Ctrl-C to
    /// it as a byte instead of cancelling.
    pub attached: Arc<AtomicBool>,
}

impl Foreground {
    /// Controls for a line nobody types into (headless runs).
    pub fn detached() -> Self {
        Foreground {
            cancel: CancellationToken::new(),
            input: None,
            attached: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// The terminal output receiver that goes with a [`Shell`].
pub type TerminalOutput = mpsc::Receiver<Vec<u8>>;

/// A student's lab shell.
pub struct Shell {
    pub(crate) user: String,
    pub(crate) hostname: String,
    pub(crate) home: String,
    pub(crate) registry: CommandRegistry,
    recorder: Option<Arc<dyn CommandRecorder>>,
    pub(crate) vars: BTreeMap<String, String>,
    pub(crate) exported: BTreeSet<String>,
    pub(crate) fs: ScratchFs,
    pub(crate) cwd: String,
    pub(crate) history: History,
    last_status: i32,
    pub(crate) terminal: CommandOutput,
    pub(crate) columns: u16,
    pub(crate) exit_requested: Option<i32>,
}

/// Where one stage's standard output or error goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sink {
    Terminal,
    /// Collected for the next stage.
    Pipe,
    File {
        path: String,
        append: bool,
    },
    Discard,
}

/// The streams and controls one command runs with.
pub(crate) struct StageIo {
    pub stdin: Option<Vec<u8>>,
    pub stdout: CommandOutput,
    pub stderr: CommandOutput,
    /// Standard output is the terminal itself (for `ls` layout).
    pub to_terminal: bool,
    pub cancel: CancellationToken,
}

/// A stage's command, once its name is looked up.
enum Target {
    Builtin(Builtin),
    Filter(String),
    Engine(Arc<dyn ShellCommand>),
    NotFound(String),
}

impl Shell {
    /// A shell and the receiver of everything it prints.
    pub fn new(config: ShellConfig) -> (Shell, TerminalOutput) {
        let (terminal, output) = CommandOutput::channel(OUTPUT_DEPTH);
        let home = format!("/home/{}", config.user);
        let fs = ScratchFs::new(&home, config.scratch_limits);
        let mut shell = Shell {
            user: config.user,
            hostname: config.hostname,
            home: home.clone(),
            registry: config.registry,
            recorder: config.recorder,
            vars: BTreeMap::new(),
            exported: BTreeSet::new(),
            fs,
            cwd: home,
            history: History::new(config.history_capacity),
            last_status: 0,
            terminal,
            columns: config.columns,
            exit_requested: None,
        };
        shell.set_initial_env();
        (shell, output)
    }

    fn set_initial_env(&mut self) {
        let initial = [
            ("HOME", self.home.clone()),
            ("USER", self.user.clone()),
            ("LOGNAME", self.user.clone()),
            ("HOSTNAME", self.hostname.clone()),
            ("PWD", self.cwd.clone()),
            ("SHELL", "lab".to_owned()),
            ("TERM", "xterm-256color".to_owned()),
            ("LANG", "C.UTF-8".to_owned()),
        ];
        for (name, value) in initial {
            self.set_var(name, value, true);
        }
    }

    pub(crate) fn set_var(&mut self, name: &str, value: String, export: bool) {
        self.vars.insert(name.to_owned(), value);
        if export {
            self.exported.insert(name.to_owned());
        }
    }

    /// The exported variables, as commands see them.
    pub fn env(&self) -> BTreeMap<String, String> {
        self.exported
            .iter()
            .filter_map(|n| Some((n.clone(), self.vars.get(n)?.clone())))
            .collect()
    }

    /// Registers an engine command (replacing its placeholder).
    pub fn register(&mut self, command: Arc<dyn ShellCommand>) {
        self.registry.register(command);
    }

    pub fn registry(&self) -> &CommandRegistry {
        &self.registry
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn scratch(&self) -> &ScratchFs {
        &self.fs
    }

    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    pub fn last_status(&self) -> i32 {
        self.last_status
    }

    /// `Some(status)` once `exit` ran; the pane leaves, a script stops.
    pub fn exit_requested(&self) -> Option<i32> {
        self.exit_requested
    }

    /// Forgets a pending `exit` (the pane keeps the shell for next time).
    pub fn clear_exit(&mut self) {
        self.exit_requested = None;
    }

    pub fn set_columns(&mut self, columns: u16) {
        self.columns = columns.max(1);
    }

    /// The working directory as the prompt shows it (`~` for home).
    pub fn display_cwd(&self) -> String {
        match self.cwd.strip_prefix(&self.home) {
            Some("") => "~".to_owned(),
            Some(rest) if rest.starts_with('/') => format!("~{rest}"),
            _ => self.cwd.clone(),
        }
    }

    /// The prompt without colours, e.g. `thmuser@lab:~$ `.
    pub fn prompt_plain(&self) -> String {
        format!("{}@{}:{}$ ", self.user, self.hostname, self.display_cwd())
    }

    /// The prompt with Debian's default colours.
    pub fn prompt(&self) -> String {
        format!(
            "\x1b[1;32m{}@{}\x1b[0m:\x1b[1;34m{}\x1b[0m$ ",
            self.user,
            self.hostname,
            self.display_cwd()
        )
    }

    /// Runs one line with nobody typing into it; returns its status.
    pub async fn run_line(&mut self, line: &str) -> i32 {
        self.run_line_in(line, Foreground::detached()).await
    }

    /// Runs one line under the given foreground controls.
    pub async fn run_line_in(&mut self, line: &str, mut foreground: Foreground) -> i32 {
        let started = SystemTime::now();
        self.history.push(line);

        let status = match parse::parse_line(line) {
            Ok(None) => return self.last_status,
            Ok(Some(list)) => self.run_list(&list, &mut foreground).await,
            Err(error) => {
                self.print_error(&format!("lab: {error}")).await;
                SYNTAX_ERROR_STATUS
            }
        };

        self.last_status = status;
        if let Some(recorder) = &self.recorder {
            recorder.record(line, status, started);
        }
        status
    }

    async fn run_list(&mut self, list: &CommandList, foreground: &mut Foreground) -> i32 {
        let mut status = self.run_pipeline(&list.first, foreground).await;
        for (connector, pipeline) in &list.rest {
            if foreground.cancel.is_cancelled() || self.exit_requested.is_some() {
                break;
            }
            self.last_status = status;
            let runs = match connector {
                Connector::Then => true,
                Connector::And => status == 0,
                Connector::Or => status != 0,
            };
            if runs {
                status = self.run_pipeline(pipeline, foreground).await;
            }
        }
        if foreground.cancel.is_cancelled() {
            INTERRUPTED_STATUS
        } else {
            status
        }
    }

    async fn run_pipeline(&mut self, pipeline: &Pipeline, foreground: &mut Foreground) -> i32 {
        let count = pipeline.commands.len();
        let mut piped: Option<Vec<u8>> = None;
        let mut status = 0;
        for (index, command) in pipeline.commands.iter().enumerate() {
            if foreground.cancel.is_cancelled() {
                return INTERRUPTED_STATUS;
            }
            let is_last = index + 1 == count;
            let attach = count == 1;
            let (stage_status, output) = self
                .run_stage(command, piped.take(), is_last, attach, foreground)
                .await;
            status = stage_status;
            piped = output;
        }
        status
    }

    /// Runs one simple command; returns its status and, when it is not the
    /// last stage, its collected output.
    async fn run_stage(
        &mut self,
        command: &SimpleCommand,
        piped: Option<Vec<u8>>,
        is_last: bool,
        attach: bool,
        foreground: &mut Foreground,
    ) -> (i32, Option<Vec<u8>>) {
        let argv: Vec<String> = command.words.iter().map(|w| self.expand(w)).collect();
        let assignments: Vec<(String, String)> = command
            .assignments
            .iter()
            .map(|(n, w)| (n.clone(), self.expand(w)))
            .collect();
        let Some((name, args)) = argv.split_first() else {
            for (name, value) in assignments {
                let exported = self.exported.contains(&name);
                self.set_var(&name, value, exported);
            }
            return (0, None);
        };

        let plan = match self.plan_redirects(&command.redirects, piped, is_last) {
            Ok(plan) => plan,
            Err(message) => {
                self.print_error(&message).await;
                return (1, Some(Vec::new()));
            }
        };

        let target = self.resolve(name);
        let cancel = foreground.cancel.clone();
        let attached = Arc::clone(&foreground.attached);
        let keys = if attach {
            foreground.input.as_mut()
        } else {
            None
        };
        let run = StageRun {
            args,
            assignments: &assignments,
            target,
            keys,
            cancel,
            attached,
        };
        self.run_with_sinks(run, plan).await
    }

    fn resolve(&self, name: &str) -> Target {
        if let Some(builtin) = Builtin::from_name(name) {
            Target::Builtin(builtin)
        } else if filters::is_filter(name) {
            Target::Filter(name.to_owned())
        } else if let Some(command) = self.registry.get(name) {
            Target::Engine(Arc::clone(command))
        } else {
            Target::NotFound(name.to_owned())
        }
    }

    /// Expands variables and `~` in a word. Unlike bash, an unquoted
    /// variable is not split into several words and `*` is not a glob;
    /// both would need the parser to keep quoting apart from expansion.
    pub(crate) fn expand(&self, word: &Word) -> String {
        let mut out = String::new();
        for part in &word.parts {
            match part {
                WordPart::Literal(text) => out.push_str(text),
                WordPart::Home => out.push_str(&self.home),
                WordPart::Var(name) => out.push_str(&self.var_value(name)),
            }
        }
        out
    }

    fn var_value(&self, name: &str) -> String {
        match name {
            "?" => self.last_status.to_string(),
            "$" => std::process::id().to_string(),
            "#" => "0".to_owned(),
            "0" => "lab".to_owned(),
            _ => self.vars.get(name).cloned().unwrap_or_default(),
        }
    }

    fn plan_redirects(
        &self,
        redirects: &[Redirect],
        piped: Option<Vec<u8>>,
        is_last: bool,
    ) -> Result<SinkPlan, String> {
        let mut plan = SinkPlan {
            stdin: piped,
            stdout: if is_last { Sink::Terminal } else { Sink::Pipe },
            stderr: Sink::Terminal,
        };
        for redirect in redirects {
            match redirect {
                Redirect::Output { fd, target, append } => {
                    let sink = self.open_output(&self.expand(target), *append)?;
                    if *fd == 2 {
                        plan.stderr = sink
                    } else {
                        plan.stdout = sink
                    }
                }
                Redirect::ErrorToOutput => plan.stderr = plan.stdout.clone(),
                Redirect::Input { source } => {
                    let path = self.expand(source);
                    let bytes = self
                        .fs
                        .read_file(&scratch::resolve_path(&self.cwd, &path))
                        .map_err(|e| format!("lab: {path}: {e}"))?;
                    plan.stdin = Some(bytes);
                }
            }
        }
        Ok(plan)
    }

    /// Checks (and for `>`, truncates) a redirection target before the
    /// command runs, as bash does.
    fn open_output(&self, path: &str, append: bool) -> Result<Sink, String> {
        if path == "/dev/null" {
            return Ok(Sink::Discard);
        }
        let absolute = scratch::resolve_path(&self.cwd, path);
        self.fs
            .write_file(&absolute, b"", append)
            .map_err(|e| format!("lab: {path}: {e}"))?;
        Ok(Sink::File {
            path: absolute,
            append: true,
        })
    }

    async fn run_with_sinks(
        &mut self,
        run: StageRun<'_>,
        plan: SinkPlan,
    ) -> (i32, Option<Vec<u8>>) {
        let (stdout, mut out_rx) = self.sink_output(&plan.stdout);
        let (stderr, mut err_rx) = if plan.stderr == plan.stdout && plan.stdout != Sink::Terminal {
            (stdout.clone(), None)
        } else {
            self.sink_output(&plan.stderr)
        };
        let io = StageIo {
            stdin: plan.stdin,
            stdout,
            stderr,
            to_terminal: plan.stdout == Sink::Terminal,
            cancel: run.cancel.clone(),
        };

        let mut out_buf = Collected::default();
        let mut err_buf = Collected::default();
        let status = {
            let command = self.run_target(run, io);
            tokio::pin!(command);
            collect_while(
                &mut command,
                &mut out_rx,
                &mut err_rx,
                &mut out_buf,
                &mut err_buf,
            )
            .await
        };

        self.deliver(&plan.stderr, err_buf).await;
        if plan.stdout == Sink::Pipe {
            self.warn_if_truncated(&out_buf).await;
            return (status, Some(out_buf.bytes));
        }
        self.deliver(&plan.stdout, out_buf).await;
        (status, None)
    }

    /// A fresh output for a sink: the terminal itself, or a channel whose
    /// receiver the stage's collector drains.
    fn sink_output(&self, sink: &Sink) -> (CommandOutput, Option<mpsc::Receiver<Vec<u8>>>) {
        match sink {
            Sink::Terminal => (self.terminal.clone(), None),
            _ => {
                let (output, rx) = CommandOutput::channel(OUTPUT_DEPTH);
                (output, Some(rx))
            }
        }
    }

    async fn deliver(&self, sink: &Sink, collected: Collected) {
        let Sink::File { path, append } = sink else {
            return;
        };
        self.warn_if_truncated(&collected).await;
        if let Err(error) = self.fs.write_file(path, &collected.bytes, *append) {
            self.print_error(&format!("lab: {path}: {error}")).await;
        }
    }

    async fn warn_if_truncated(&self, collected: &Collected) {
        if collected.truncated {
            let limit = PIPE_LIMIT >> 20;
            self.print_error(&format!("lab: output cut at {limit} MiB"))
                .await;
        }
    }

    async fn run_target(&mut self, run: StageRun<'_>, io: StageIo) -> i32 {
        match run.target {
            Target::Builtin(builtin) => self.run_builtin(builtin, run.args, io).await,
            Target::Filter(name) => self.run_filter(&name, run.args, io).await,
            Target::NotFound(name) => self.command_not_found(&name, &io).await,
            Target::Engine(command) => {
                if let Some(topic) = help_topic(run.args) {
                    let _ = io.stdout.write(command.help(&topic)).await;
                    return 0;
                }
                let env = self.command_env(run.assignments);
                let files = ScratchView {
                    fs: self.fs.clone(),
                    cwd: self.cwd.clone(),
                };
                let attach = EngineRun {
                    command,
                    args: run.args,
                    env: &env,
                    files: &files,
                };
                attach.run(io, self.columns, run.keys, &run.attached).await
            }
        }
    }

    fn command_env(&self, assignments: &[(String, String)]) -> BTreeMap<String, String> {
        let mut env = self.env();
        env.extend(assignments.iter().cloned());
        env
    }

    async fn run_filter(&self, name: &str, args: &[String], io: StageIo) -> i32 {
        let input = match io.stdin {
            Some(bytes) => bytes,
            None => match self.read_operands(name, args, &io).await {
                Some(bytes) => bytes,
                None => return 2,
            },
        };
        let output = filters::run_filter(name, args, &input);
        let _ = io.stdout.write(output.stdout).await;
        let _ = io.stderr.write(output.stderr).await;
        output.status
    }

    /// The contents of a filter's file operands, or `None` after telling
    /// the student what is wrong.
    async fn read_operands(&self, name: &str, args: &[String], io: &StageIo) -> Option<Vec<u8>> {
        let operands = filters::file_operands(name, args);
        if operands.is_empty() {
            let message = format!("{name}: no input: pipe text into it or name a file");
            let _ = io.stderr.line(message).await;
            return None;
        }
        let mut input = Vec::new();
        for operand in operands {
            match self
                .fs
                .read_file(&scratch::resolve_path(&self.cwd, &operand))
            {
                Ok(bytes) => input.extend_from_slice(&bytes),
                Err(error) => {
                    let _ = io.stderr.line(format!("{name}: {operand}: {error}")).await;
                    return None;
                }
            }
        }
        Some(input)
    }

    async fn command_not_found(&self, name: &str, io: &StageIo) -> i32 {
        let mut message = format!("lab: {name}: command not found");
        if let Some(close) = self.closest_command(name) {
            message.push_str(&format!("\nDid you mean `{close}`?"));
        }
        let _ = io.stderr.line(message).await;
        NOT_FOUND_STATUS
    }

    /// A known command name within a typo or two of `name`.
    fn closest_command(&self, name: &str) -> Option<String> {
        self.command_names()
            .into_iter()
            .map(|known| (strsim::damerau_levenshtein(name, &known), known))
            .filter(|(distance, known)| *distance <= 2 && *distance < known.len().max(2) - 1)
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, known)| known)
    }

    /// Every name the shell runs: built-ins, filters, engine commands.
    pub fn command_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Builtin::ALL.iter().map(|b| b.name().to_owned()).collect();
        names.extend(filters::FILTERS.iter().map(|(n, _)| (*n).to_owned()));
        names.extend(self.registry.iter().map(|c| c.name().to_owned()));
        names.sort();
        names.dedup();
        names
    }

    pub(crate) async fn print_error(&self, message: &str) {
        let _ = self.terminal.line(message).await;
    }
}

/// Where a stage's streams go.
struct SinkPlan {
    stdin: Option<Vec<u8>>,
    stdout: Sink,
    stderr: Sink,
}

struct StageRun<'a> {
    args: &'a [String],
    assignments: &'a [(String, String)],
    target: Target,
    keys: Option<&'a mut mpsc::Receiver<ConsoleInput>>,
    cancel: CancellationToken,
    attached: Arc<AtomicBool>,
}

/// Bytes a collector kept, and whether it had to drop some.
#[derive(Default)]
struct Collected {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Collected {
    fn push(&mut self, chunk: Vec<u8>) {
        let room = PIPE_LIMIT.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

/// Drives a command while draining its collected outputs; once it ends,
/// takes what is still queued and stops (a command may leave a clone of
/// its output behind in a task, which must not hang the shell).
async fn collect_while<F: std::future::Future<Output = i32> + Unpin>(
    command: &mut F,
    out_rx: &mut Option<mpsc::Receiver<Vec<u8>>>,
    err_rx: &mut Option<mpsc::Receiver<Vec<u8>>>,
    out_buf: &mut Collected,
    err_buf: &mut Collected,
) -> i32 {
    let status = loop {
        tokio::select! {
            status = &mut *command => break status,
            Some(chunk) = recv_opt(out_rx) => out_buf.push(chunk),
            Some(chunk) = recv_opt(err_rx) => err_buf.push(chunk),
        }
    };
    drain_queued(out_rx, out_buf);
    drain_queued(err_rx, err_buf);
    status
}

async fn recv_opt(rx: &mut Option<mpsc::Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn drain_queued(rx: &mut Option<mpsc::Receiver<Vec<u8>>>, buf: &mut Collected) {
    if let Some(rx) = rx {
        while let Ok(chunk) = rx.try_recv() {
            buf.push(chunk);
        }
    }
}

/// `Some(topic)` when the arguments ask for help: `run --help` gives
/// `["run"]`.
fn help_topic(args: &[String]) -> Option<Vec<String>> {
    let position = args.iter().position(|a| a == "--help")?;
    Some(
        args[..position]
            .iter()
            .filter(|a| !a.starts_with('-'))
            .cloned()
            .collect(),
    )
}

/// One run of an engine command with everything it borrows.
struct EngineRun<'a> {
    command: Arc<dyn ShellCommand>,
    args: &'a [String],
    env: &'a BTreeMap<String, String>,
    files: &'a ScratchView,
}

impl EngineRun<'_> {
    /// Runs the command; when it is the only command of its pipeline it
    /// gets the typed keys, forwarded until it ends or the student detaches.
    async fn run(
        self,
        io: StageIo,
        columns: u16,
        keys: Option<&mut mpsc::Receiver<ConsoleInput>>,
        attached: &AtomicBool,
    ) -> i32 {
        // Detaching cancels only this command, not the rest of the line.
        let cancel = io.cancel.child_token();
        let (key_tx, key_rx) = match keys {
            Some(_) => {
                let (tx, rx) = mpsc::channel(OUTPUT_DEPTH);
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let invocation = Invocation {
            args: self.args,
            stdin: io.stdin,
            stdout: io.stdout,
            stderr: io.stderr,
            env: self.env,
            files: self.files,
            cancel: cancel.clone(),
            keys: key_rx,
            columns,
        };
        let command = self.command.run(invocation);
        tokio::pin!(command);

        attached.store(key_tx.is_some(), Ordering::SeqCst);
        let status = match (keys, key_tx) {
            (Some(keys), Some(tx)) => forward_keys(&mut command, keys, tx, &cancel).await,
            _ => run_cancellable(&mut command, &cancel).await,
        };
        attached.store(false, Ordering::SeqCst);
        status
    }
}

/// Runs a command future until it ends, or until a grace period after
/// Ctrl-C.
async fn run_cancellable<F: std::future::Future<Output = i32> + Unpin>(
    command: &mut F,
    cancel: &CancellationToken,
) -> i32 {
    tokio::select! {
        status = &mut *command => status,
        () = cancel.cancelled() => finish_after_cancel(command).await,
    }
}

async fn finish_after_cancel<F: std::future::Future<Output = i32> + Unpin>(command: &mut F) -> i32 {
    match tokio::time::timeout(CANCEL_GRACE, command).await {
        Ok(status) => status,
        Err(_) => {
            tracing::warn!("a cancelled command did not stop within the grace period");
            INTERRUPTED_STATUS
        }
    }
}

/// Passes typed bytes to an attached command. Detaching closes the
/// command's receiver and cancels it.
async fn forward_keys<F: std::future::Future<Output = i32> + Unpin>(
    command: &mut F,
    keys: &mut mpsc::Receiver<ConsoleInput>,
    tx: mpsc::Sender<Vec<u8>>,
    cancel: &CancellationToken,
) -> i32 {
    let mut tx = Some(tx);
    loop {
        tokio::select! {
            status = &mut *command => return status,
            () = cancel.cancelled() => return finish_after_cancel(command).await,
            input = keys.recv(), if tx.is_some() => match input {
                Some(ConsoleInput::Bytes(bytes)) => {
                    if let Some(sender) = &tx {
                        // A command that stopped reading keys loses them.
                        let _ = sender.send(bytes).await;
                    }
                }
                Some(ConsoleInput::Detach) | None => {
                    tx = None;
                    cancel.cancel();
                }
            },
        }
    }
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
