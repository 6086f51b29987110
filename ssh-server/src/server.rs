//! Listening, admitting connections and shutting down.
//!
//! [`Server::bind`] loads the host key and users and opens the socket;
//! [`Server::run`] accepts connections until the shutdown token fires, then
//! waits (bounded) for every session to close. Each connection runs
//! [`crate::connection`]'s handler on russh; each terminal runs
//! [`crate::terminal_channel`]'s driver.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use russh::keys::PrivateKey;
use russh::server::Config as RusshConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::admission::{FailureLedger, SessionRegistry};
use crate::config::{Limits, ServerConfig};
use crate::host_key::{self, HostKeyError};
use crate::password_check::PasswordChecker;
use crate::session::SessionFactory;
use crate::users::{DEFAULT_PASSWORD, DEFAULT_USER, UserDirectory, UsersError};

/// How long shutdown waits for sessions to save and close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("failed to load the SSH host key")]
    HostKey(#[from] HostKeyError),
    #[error("failed to load users")]
    Users(#[from] UsersError),
    #[error("failed to listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read the listening address")]
    LocalAddr(#[source] std::io::Error),
    #[error("failed to start the password-check threads")]
    PasswordThreads(#[source] std::io::Error),
}

/// State every connection shares.
pub(crate) struct Shared {
    pub(crate) users: Arc<UserDirectory>,
    pub(crate) limits: Limits,
    pub(crate) factory: Arc<dyn SessionFactory>,
    pub(crate) ledger: Mutex<FailureLedger>,
    pub(crate) sessions: SessionRegistry,
    pub(crate) next_session_id: AtomicU64,
    pub(crate) tracker: TaskTracker,
    pub(crate) passwords: PasswordChecker,
}

/// A bound, not yet running SSH server.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    fingerprint: String,
    shared: Arc<Shared>,
    russh_config: Arc<RusshConfig>,
    unauthenticated: Arc<Semaphore>,
}

impl Server {
    /// Loads (or creates) the host key, loads the users and binds the
    /// listening socket. Logs the host key fingerprint, and a warning when
    /// the default password is reachable from other machines.
    pub async fn bind(
        config: ServerConfig,
        factory: Arc<dyn SessionFactory>,
    ) -> Result<Server, ServeError> {
        let key = host_key::load_or_create(&config.host_key_path())?;
        let fingerprint = host_key::fingerprint(&key);
        let users = load_users(&config).await?;

        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    address: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(ServeError::LocalAddr)?;

        let server = Server {
            listener,
            local_addr,
            fingerprint,
            russh_config: Arc::new(russh_config(&config.limits, key)),
            unauthenticated: Arc::new(Semaphore::new(config.limits.max_unauthenticated)),
            shared: Arc::new(
                shared_state(config.limits, users, factory).map_err(ServeError::PasswordThreads)?,
            ),
        };
        server.log_startup();
        Ok(server)
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// SHA256 fingerprint of the host key, as OpenSSH prints it.
    pub fn host_key_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Lines an operator should see at start: the address, the fingerprint
    /// and, when it applies, the default-password warning.
    pub fn startup_notice(&self) -> Vec<String> {
        let mut lines = vec![
            format!("lab SSH server listening on {}", self.local_addr),
            format!("host key fingerprint: {}", self.fingerprint),
        ];
        if self.exposes_default_password() {
            lines.push(format!(
                "WARNING: listening on a non-loopback address with the default user \
                 {DEFAULT_USER} and the published password {DEFAULT_PASSWORD:?}. Anyone who \
                 can reach this port can log in. Create a users file with `lab user add`."
            ));
        }
        lines
    }

    /// Accepts connections until `shutdown` is cancelled, then closes every
    /// session (calling `close()` on each) and returns.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ServeError> {
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => self.admit(stream, peer, &shutdown).await,
                Err(error) => {
                    // Usually out of file descriptors; pausing lets sessions end.
                    tracing::warn!(%error, "failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }

        self.drain().await;
        Ok(())
    }

    async fn admit(&self, stream: TcpStream, peer: SocketAddr, shutdown: &CancellationToken) {
        if self
            .shared
            .ledger
            .lock()
            .await
            .is_blocked(peer.ip(), Instant::now())
        {
            tracing::warn!(%peer, "refused connection: too many failed log-ins from this address");
            return;
        }
        let Ok(permit) = Arc::clone(&self.unauthenticated).try_acquire_owned() else {
            tracing::warn!(%peer, "refused connection: too many connections not yet logged in");
            return;
        };
        self.spawn_connection(stream, peer, permit, shutdown.child_token());
    }

    fn spawn_connection(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        permit: OwnedSemaphorePermit,
        shutdown: CancellationToken,
    ) {
        let _ = stream.set_nodelay(true);
        let connection = crate::connection::Connection {
            shared: Arc::clone(&self.shared),
            russh_config: Arc::clone(&self.russh_config),
            peer,
            permit,
            shutdown,
        };
        let span = tracing::info_span!("connection", %peer);
        self.shared
            .tracker
            .spawn(connection.run(stream).instrument(span));
    }

    async fn drain(self) {
        let open = self.shared.sessions.total();
        tracing::info!(open_sessions = open, "shutting down: closing sessions");
        self.shared.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.shared.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close within the shutdown grace time");
        }
    }

    fn exposes_default_password(&self) -> bool {
        self.shared.users.uses_default_password() && !self.local_addr.ip().is_loopback()
    }

    fn log_startup(&self) {
        tracing::info!(address = %self.local_addr, fingerprint = %self.fingerprint, "SSH server bound");
        if self.exposes_default_password() {
            tracing::warn!(
                address = %self.local_addr,
                "default user {DEFAULT_USER} with the published default password is reachable \
                 from other machines"
            );
        }
    }
}

/// Binds, prints the startup notice to stderr, and runs until `shutdown`.
pub async fn serve(
    config: ServerConfig,
    factory: Arc<dyn SessionFactory>,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let server = Server::bind(config, factory).await?;
    for line in server.startup_notice() {
        eprintln!("{line}");
    }
    server.run(shutdown).await
}

/// The users file is read once, here: accounts added or changed with
/// `lab user` while the server runs take effect at its next start. Re-reading
/// the file when its modification time changes would lift that.
async fn load_users(config: &ServerConfig) -> Result<UserDirectory, ServeError> {
    let path = config.users_file.clone();
    // Hashing the default password takes a moment; keep it off the runtime.
    let loaded = tokio::task::spawn_blocking(move || UserDirectory::load(path.as_deref())).await;
    match loaded {
        Ok(users) => Ok(users?),
        Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
    }
}

fn shared_state(
    limits: Limits,
    users: UserDirectory,
    factory: Arc<dyn SessionFactory>,
) -> std::io::Result<Shared> {
    let users = Arc::new(users);
    let passwords = PasswordChecker::start(Arc::clone(&users), parallel_password_checks())?;
    Ok(Shared {
        users,
        ledger: Mutex::new(FailureLedger::new(
            limits.max_auth_failures_per_address,
            limits.address_failure_window,
        )),
        sessions: SessionRegistry::new(limits.max_sessions),
        next_session_id: AtomicU64::new(1),
        tracker: TaskTracker::new(),
        passwords,
        factory,
        limits,
    })
}

fn parallel_password_checks() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

fn russh_config(limits: &Limits, key: PrivateKey) -> RusshConfig {
    let failures = usize::try_from(limits.max_auth_failures_per_connection).unwrap_or(usize::MAX);
    RusshConfig {
        keys: vec![key],
        auth_rejection_time: limits.failed_auth_delay,
        auth_rejection_time_initial: Some(Duration::ZERO),
        // Our own counter closes the connection after the real failures;
        // russh's also counts "none" probes and key offers, so it gets room.
        max_auth_attempts: failures.saturating_add(10),
        // The session driver enforces the idle timeout on student input;
        // this is a backstop for connections without a session.
        inactivity_timeout: Some(limits.idle_timeout + Duration::from_secs(60)),
        keepalive_interval: Some(Duration::from_secs(60)),
        keepalive_max: 3,
        channel_buffer_size: limits.input_queue,
        nodelay: true,
        ..RusshConfig::default()
    }
}
