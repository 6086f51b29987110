//! Server configuration and the limits that protect it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the server listens and keeps its files.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port (see
    /// [`crate::Server::local_addr`]).
    pub listen: SocketAddr,
    /// Directory for the host key (`ssh_host_ed25519_key`); created if missing.
    pub data_dir: PathBuf,
    /// Users file (see [`crate::users`]); `None` or a missing file means the
    /// single default user.
    pub users_file: Option<PathBuf>,
    pub limits: Limits,
}

impl ServerConfig {
    /// The default listen address: loopback only, port 2222.
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:2222";

    /// Defaults for everything except the data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 2222)),
            data_dir: data_dir.into(),
            users_file: None,
            limits: Limits::default(),
        }
    }

    /// Path of the host key inside the data directory.
    pub fn host_key_path(&self) -> PathBuf {
        self.data_dir.join("ssh_host_ed25519_key")
    }
}

/// Bounds on what clients can make the server do.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections that have not logged in yet, at once; more are dropped
    /// right after accept.
    pub max_unauthenticated: usize,
    /// Time a connection gets to log in before it is closed.
    pub login_grace: Duration,
    /// Wait before a failed log-in attempt is answered.
    pub failed_auth_delay: Duration,
    /// Failed attempts after which a connection is closed.
    pub max_auth_failures_per_connection: u32,
    /// Failed attempts from one IP address within `address_failure_window`
    /// after which new connections from it are refused until the window
    /// has passed.
    pub max_auth_failures_per_address: u32,
    pub address_failure_window: Duration,
    /// A session with no input from the client for this long is closed.
    pub idle_timeout: Duration,
    /// Open student sessions across all users; more get a "server full"
    /// line.
    pub max_sessions: usize,
    /// Sessions (terminals) per connection.
    pub max_sessions_per_connection: usize,
    /// Input messages queued per session before the connection waits.
    pub input_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unauthenticated: 10,
            login_grace: Duration::from_secs(30),
            failed_auth_delay: Duration::from_secs(1),
            max_auth_failures_per_connection: 3,
            max_auth_failures_per_address: 20,
            address_failure_window: Duration::from_secs(600),
            idle_timeout: Duration::from_secs(30 * 60),
            max_sessions: 200,
            max_sessions_per_connection: 4,
            input_queue: 64,
        }
    }
}
