//! `lab serve`: the lab over SSH, one TUI per student terminal.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use lab_ssh::users::{DEFAULT_PASSWORD, DEFAULT_USER};
use lab_ssh::{CancellationToken, Limits, Server, ServerConfig};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::driver::ssh::LabSessionFactory;
use crate::engines::{ClusterSource, LabEngines};
use crate::store::ProgressStore;

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "\
Without a users file the lab has one user, thmuser, whose password is the
published default; add real accounts with `lab user add NAME`.

With --cluster kubeconfig=PATH every student works on that one cluster, in
namespace lab-<user> (stable across reconnects), which the lab makes with a
Role, a RoleBinding and a ResourceQuota when the student's session starts.
The kubeconfig's account must be allowed to create namespaces, roles, role
bindings and resource quotas. The lab's kubectl and checks use that account
with the student's namespace as default; what it may not do elsewhere (say,
`kubectl get pods -n kube-system`) fails with a Forbidden error. When the
student's last session ends the namespace is deleted: their progress is in
the lab's store, and the scenario's objects are made again next time.

Examples:
  lab serve                              students on this machine: ssh -p 2222 thmuser@127.0.0.1
  lab serve --listen 0.0.0.0:2222        a classroom (create users first)
  lab serve --max-sessions 30 --idle-timeout 900
  lab serve --cluster kubeconfig=/etc/lab/classroom.kubeconfig")]
pub struct ServeArgs {
    /// Address and port to listen on; 0.0.0.0 accepts every network.
    #[arg(long, value_name = "ADDR", default_value = ServerConfig::DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// The users file (`lab user add` writes it) [default: users.toml in
    /// the data directory].
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,

    /// Student sessions open at once, across all users.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_sessions)]
    pub max_sessions: usize,

    /// Terminals one SSH connection may open.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_sessions_per_connection)]
    pub max_sessions_per_connection: usize,

    /// Seconds without a key press after which a session is closed
    /// (progress is kept).
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().idle_timeout.as_secs())]
    pub idle_timeout: u64,

    /// Seconds a connection gets to log in.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().login_grace.as_secs())]
    pub login_grace: u64,

    /// Failed log-ins from one address after which it is refused for a
    /// while.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_auth_failures_per_address)]
    pub max_failures_per_address: u32,

    /// Where students' Kubernetes clusters run: `embedded` (one inside the
    /// lab per session) or `kubeconfig=PATH` (one external cluster, a
    /// namespace per student, deleted when their last session ends; see
    /// below).
    #[arg(
        long,
        value_name = "embedded|kubeconfig=PATH",
        default_value = "embedded",
        value_parser = ClusterSource::parse
    )]
    pub cluster: ClusterSource,
}

/// The users file `lab serve` and `lab user` use when none is given.
pub fn default_users_file(data_dir: &Path) -> PathBuf {
    data_dir.join("users.toml")
}

pub fn execute(
    args: &ServeArgs,
    data_dir: &Path,
    scenarios_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let catalog = super::catalog(scenarios_dir);
    for problem in &catalog.problems {
        eprintln!("warning: skipped: {problem}");
        tracing::warn!(%problem, "scenario skipped");
    }
    if catalog.scenarios.is_empty() {
        bail!("no scenarios to serve; see `lab doctor`");
    }
    let runtime = super::runtime()?;
    let store = ProgressStore::open_in(data_dir)
        .with_context(|| format!("cannot open the progress store in {}", data_dir.display()))?;
    if let Some(external) = args.cluster.external() {
        let line = runtime
            .block_on(external.check_reachable())
            .map_err(anyhow::Error::msg)?;
        eprintln!("Cluster: {line}");
    }
    let engines = Arc::new(
        LabEngines::new()
            .with_guest_cache(data_dir)
            .with_cluster(args.cluster.clone()),
    );
    engines.sweep_orphans(runtime.handle());
    let factory = LabSessionFactory::new(
        catalog.scenarios,
        store.shared(),
        engines,
        runtime.handle().clone(),
    );

    let config = server_config(args, data_dir);
    runtime.block_on(run_server(config, Arc::new(factory)))?;
    Ok(ExitCode::SUCCESS)
}

fn server_config(args: &ServeArgs, data_dir: &Path) -> ServerConfig {
    let mut config = ServerConfig::new(data_dir);
    config.listen = args.listen;
    config.users_file = Some(
        args.users
            .clone()
            .unwrap_or_else(|| default_users_file(data_dir)),
    );
    config.limits = Limits {
        max_sessions: args.max_sessions,
        max_sessions_per_connection: args.max_sessions_per_connection,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        login_grace: Duration::from_secs(args.login_grace),
        max_auth_failures_per_address: args.max_failures_per_address,
        ..Limits::default()
    };
    config
}

/// Binds, says how to connect, and serves until Ctrl-C or SIGTERM; then
/// every session closes (progress saved, engines stopped) before return.
async fn run_server(config: ServerConfig, factory: Arc<LabSessionFactory>) -> anyhow::Result<()> {
    let default_user = !config.users_file.as_deref().is_some_and(Path::exists);
    let server = Server::bind(config, factory)
        .await
        .context("cannot start the SSH server")?;
    // Watching before the welcome: a supervisor that read the ssh command
    // may stop the server at once.
    let signals = StopSignals::watch().context("cannot watch for Ctrl-C and SIGTERM")?;
    let shutdown = CancellationToken::new();
    tokio::spawn(signals.cancel_on_arrival(shutdown.clone()));
    print_welcome(&server, default_user);

    server
        .run(shutdown)
        .await
        .context("the SSH server failed")?;
    eprintln!("lab serve: all sessions closed");
    Ok(())
}

fn print_welcome(server: &Server, default_user: bool) {
    for line in server.startup_notice() {
        if line.starts_with("WARNING") {
            eprintln!("\n{}\n{line}\n{}\n", "!".repeat(72), "!".repeat(72));
        } else {
            eprintln!("{line}");
        }
    }
    let address = server.local_addr();
    let host = if address.ip().is_unspecified() {
        "HOST".to_owned()
    } else {
        address.ip().to_string()
    };
    let user = if default_user { DEFAULT_USER } else { "USER" };
    println!("Connect with:\n  ssh -p {} {user}@{host}", address.port());
    if default_user {
        println!("Password: {DEFAULT_PASSWORD}");
    }
    println!("Stop with Ctrl-C; sessions are closed and progress is kept.");
}

/// Ctrl-C (SIGINT) and SIGTERM, registered so that neither kills the
/// process before sessions are closed.
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    fn watch() -> std::io::Result<Self> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn cancel_on_arrival(mut self, shutdown: CancellationToken) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        tracing::info!("stop signal received");
        eprintln!("lab serve: stopping, closing sessions…");
        shutdown.cancel();
    }
}
