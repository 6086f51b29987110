//! One client connection: authentication and the channels it opens.
//!
//! [`Connection::run`] wraps russh's session with the log-in grace time and
//! shutdown; [`ConnectionHandler`] answers russh's callbacks: it checks
//! passwords and keys against the [`crate::users::UserDirectory`], counts
//! failures, and hands every session channel to a
//! [`crate::terminal_channel`] driver.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use russh::server::{Auth, ChannelOpenHandle, Msg, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, Disconnect, MethodKind, MethodSet};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::cuttable_stream::CuttableStream;
use crate::server::Shared;
use crate::terminal_channel::{ChannelOwner, TerminalChannel};

/// How long a closing connection waits for its sessions to save.
const SESSION_CLOSE_GRACE: Duration = Duration::from_secs(8);
/// How long a polite disconnect may take before the socket is cut.
const DISCONNECT_GRACE: Duration = Duration::from_secs(2);

/// A connection between accept and the end of its russh session.
pub(crate) struct Connection {
    pub(crate) shared: Arc<Shared>,
    pub(crate) russh_config: Arc<russh::server::Config>,
    pub(crate) peer: SocketAddr,
    pub(crate) permit: OwnedSemaphorePermit,
    pub(crate) shutdown: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionError {
    #[error("SSH protocol error")]
    Ssh(#[from] russh::Error),
    #[error("too many failed log-in attempts on this connection")]
    TooManyFailures,
}

impl Connection {
    pub(crate) async fn run(self, stream: TcpStream) {
        let authenticated = Arc::new(AtomicBool::new(false));
        let channels = TaskTracker::new();
        let cut = CancellationToken::new();
        let handler = ConnectionHandler {
            shared: Arc::clone(&self.shared),
            peer: self.peer,
            unauthenticated_permit: Some(self.permit),
            authenticated: Arc::clone(&authenticated),
            user: None,
            failures: 0,
            channels: channels.clone(),
            shutdown: self.shutdown.clone(),
        };
        let deadline = tokio::time::Instant::now() + self.shared.limits.login_grace;

        let stream = CuttableStream::new(stream, cut.clone());
        let start = russh::server::run_stream(self.russh_config, stream, handler);
        let running = match tokio::time::timeout_at(deadline, start).await {
            Ok(Ok(running)) => running,
            Ok(Err(error)) => {
                tracing::info!(error = %error, "connection ended before key exchange");
                return;
            }
            Err(_) => {
                tracing::warn!("limit hit: log-in grace time expired before key exchange");
                return;
            }
        };
        let handle = running.handle();
        tokio::pin!(running);

        let mut grace_checked = false;
        let mut shutting_down = false;
        let mut cut_at: Option<tokio::time::Instant> = None;
        loop {
            let cut_deadline = cut_at.unwrap_or(deadline);
            tokio::select! {
                result = &mut running => {
                    log_end(result);
                    break;
                }
                () = tokio::time::sleep_until(deadline), if !grace_checked => {
                    grace_checked = true;
                    if !authenticated.load(Ordering::Acquire) {
                        tracing::warn!("limit hit: log-in grace time expired");
                        cut.cancel();
                    }
                }
                () = self.shutdown.cancelled(), if !shutting_down => {
                    shutting_down = true;
                    channels.close();
                    let _ = tokio::time::timeout(SESSION_CLOSE_GRACE, channels.wait()).await;
                    let reason = "server shutting down".to_owned();
                    let _ = handle.disconnect(Disconnect::ByApplication, reason, String::new()).await;
                    cut_at = Some(tokio::time::Instant::now() + DISCONNECT_GRACE);
                }
                () = tokio::time::sleep_until(cut_deadline), if cut_at.is_some() => {
                    cut_at = None;
                    cut.cancel();
                }
            }
        }
        channels.close();
        let _ = tokio::time::timeout(SESSION_CLOSE_GRACE, channels.wait()).await;
    }
}

fn log_end(result: Result<(), ConnectionError>) {
    match result {
        Ok(()) => tracing::info!("log-out: connection closed"),
        Err(ConnectionError::TooManyFailures) => {
            tracing::warn!("limit hit: connection closed after too many failed log-ins");
        }
        Err(error) => tracing::info!(error = %error, "connection ended with an error"),
    }
}

/// russh's per-connection callbacks. They run on russh's task, outside the
/// connection's tracing span, so their log lines name the peer themselves.
pub(crate) struct ConnectionHandler {
    shared: Arc<Shared>,
    peer: SocketAddr,
    /// Held until log-in succeeds, bounding connections that have not.
    unauthenticated_permit: Option<OwnedSemaphorePermit>,
    authenticated: Arc<AtomicBool>,
    user: Option<String>,
    failures: u32,
    channels: TaskTracker,
    shutdown: CancellationToken,
}

impl ConnectionHandler {
    fn accept(&mut self, user: &str, method: &str) -> Auth {
        tracing::info!(user, method, peer = %self.peer, "log-in");
        self.user = Some(user.to_owned());
        self.unauthenticated_permit = None;
        self.authenticated.store(true, Ordering::Release);
        Auth::Accept
    }

    async fn reject(&mut self, user: &str, method: &str) -> Result<Auth, ConnectionError> {
        self.failures = self.failures.saturating_add(1);
        tracing::warn!(
            user,
            method,
            peer = %self.peer,
            failures = self.failures,
            "failed log-in"
        );
        self.shared
            .ledger
            .lock()
            .await
            .record_failure(self.peer.ip(), Instant::now());
        if self.failures >= self.shared.limits.max_auth_failures_per_connection {
            // Let russh's constant rejection delay apply before closing.
            tokio::time::sleep(self.shared.limits.failed_auth_delay).await;
            return Err(ConnectionError::TooManyFailures);
        }
        Ok(Auth::Reject {
            proceed_with_methods: Some(offered_methods()),
            partial_success: false,
        })
    }

    async fn password_matches(&self, user: &str, password: &str) -> bool {
        self.shared.passwords.check(user, password).await
    }
}

fn offered_methods() -> MethodSet {
    MethodSet::from(&[MethodKind::PublicKey, MethodKind::Password][..])
}

impl russh::server::Handler for ConnectionHandler {
    type Error = ConnectionError;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::Reject {
            proceed_with_methods: Some(offered_methods()),
            partial_success: false,
        })
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if self.password_matches(user, password).await {
            return Ok(self.accept(user, "password"));
        }
        self.reject(user, "password").await
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // An offer is not a failure: clients try each of their keys in turn.
        if self.shared.users.is_authorized_key(user, offer.public_key) {
            return Ok(Auth::Accept);
        }
        Ok(Auth::Reject {
            proceed_with_methods: Some(offered_methods()),
            partial_success: false,
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.shared.users.is_authorized_key(user, key.public_key) {
            return Ok(self.accept(user, "publickey"));
        }
        self.reject(user, "publickey").await
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(user) = self.user.clone() else {
            return Ok(()); // dropping `reply` rejects the channel
        };
        let per_connection = self.shared.limits.max_sessions_per_connection;
        if self.channels.len() >= per_connection {
            tracing::warn!(user, peer = %self.peer, "limit hit: too many sessions on one connection");
            return Ok(());
        }
        reply.accept().await;
        let owner = ChannelOwner {
            user,
            peer: self.peer,
        };
        let driver = TerminalChannel::new(Arc::clone(&self.shared), owner, self.shutdown.clone());
        let span = tracing::info_span!(
            "session",
            id = driver.session_id(),
            user = %driver.user(),
            peer = %self.peer
        );
        self.channels.spawn(driver.run(channel).instrument(span));
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _cols: u32,
        _rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _command: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Accepted so the client reads the explanation the driver sends.
        session.channel_success(channel)?;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::info!(subsystem = name, peer = %self.peer, "refused subsystem request");
        session.channel_failure(channel)?;
        Ok(())
    }
}
