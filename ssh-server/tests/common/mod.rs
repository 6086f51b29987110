//! Shared parts of the integration tests: a small real application (an echo
//! screen drawn with ratatui), a server on a random loopback port, and an
//! SSH client (russh) that reads the screen through a vt100 emulator.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use lab_ssh::{
    CancellationToken, Limits, RemoteTerminal, Server, ServerConfig, SessionContext,
    SessionFactory, SessionOpenError, TermSize, TerminalSession,
};
use ratatui::widgets::Paragraph;
use russh::client;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg};
use russh::{ChannelMsg, Disconnect};

pub const USER: &str = "thmuser";
pub const PASSWORD: &str = "TryHackMe!";

/// Counts what happened across all echo sessions.
#[derive(Default)]
pub struct EchoStats {
    pub opened: AtomicUsize,
    pub closed: AtomicUsize,
    pub renders: AtomicUsize,
    pub ticks: AtomicUsize,
    pub events: Mutex<Vec<Event>>,
}

/// Opens [`EchoSession`]s.
pub struct EchoFactory {
    pub stats: Arc<EchoStats>,
}

impl SessionFactory for EchoFactory {
    fn open(
        &self,
        context: SessionContext,
        size: TermSize,
    ) -> Result<Box<dyn TerminalSession>, SessionOpenError> {
        self.stats.opened.fetch_add(1, Ordering::SeqCst);
        let terminal =
            RemoteTerminal::new(size).map_err(|e| SessionOpenError::new(e.to_string()))?;
        Ok(Box::new(EchoSession {
            context,
            size,
            terminal,
            typed: String::new(),
            exit: false,
            stats: Arc::clone(&self.stats),
        }))
    }
}

/// Shows who is logged in, the terminal size and the last 40 characters
/// typed; Ctrl-L clears them, F10 quits.
pub struct EchoSession {
    context: SessionContext,
    size: TermSize,
    terminal: RemoteTerminal,
    typed: String,
    exit: bool,
    stats: Arc<EchoStats>,
}

impl TerminalSession for EchoSession {
    fn input(&mut self, event: Event) {
        self.stats.events.lock().unwrap().push(event.clone());
        match event {
            Event::Key(KeyEvent {
                code: KeyCode::F(10),
                ..
            }) => self.exit = true,
            Event::Key(KeyEvent {
                code: KeyCode::Char('l'),
                modifiers,
                ..
            }) if modifiers.contains(KeyModifiers::CONTROL) => self.typed.clear(),
            Event::Key(KeyEvent {
                code: KeyCode::Char(c),
                ..
            }) => self.typed.push(c),
            Event::Key(KeyEvent {
                code: KeyCode::Backspace,
                ..
            }) => {
                self.typed.pop();
            }
            Event::Paste(text) => self.typed.push_str(&text),
            _ => {}
        }
    }

    fn resize(&mut self, size: TermSize) {
        self.size = size;
        self.terminal.resize(size).unwrap();
    }

    fn render(&mut self) -> Vec<u8> {
        self.stats.renders.fetch_add(1, Ordering::SeqCst);
        let skip = self.typed.chars().count().saturating_sub(40);
        let typed: String = self.typed.chars().skip(skip).collect();
        let text = format!(
            "user={} others={} size={}x{}\ntyped:[{}]",
            self.context.user,
            self.context.other_sessions_of_user,
            self.size.cols,
            self.size.rows,
            typed
        );
        self.terminal
            .draw(|f| f.render_widget(Paragraph::new(text), f.area()))
            .unwrap()
    }

    fn tick(&mut self) -> bool {
        self.stats.ticks.fetch_add(1, Ordering::SeqCst);
        false
    }

    fn wants_exit(&self) -> bool {
        self.exit
    }

    fn close(&mut self) {
        self.stats.closed.fetch_add(1, Ordering::SeqCst);
    }
}

/// A running server on a random loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub fingerprint: String,
    pub shutdown: CancellationToken,
    pub stats: Arc<EchoStats>,
    pub task: tokio::task::JoinHandle<Result<(), lab_ssh::ServeError>>,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(limits: Limits) -> TestServer {
        Self::start_with_users(limits, |_| None).await
    }

    /// `users` may write a users file into the data directory and return it.
    pub async fn start_with_users(
        limits: Limits,
        users: impl FnOnce(&std::path::Path) -> Option<PathBuf>,
    ) -> TestServer {
        init_logging();
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.users_file = users(dir.path());
        config.limits = limits;
        let stats = Arc::new(EchoStats::default());
        let factory = Arc::new(EchoFactory {
            stats: Arc::clone(&stats),
        });
        let server = Server::bind(config, factory).await.unwrap();
        let (addr, fingerprint) = (
            server.local_addr(),
            server.host_key_fingerprint().to_owned(),
        );
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server.run(shutdown.clone()));
        TestServer {
            addr,
            fingerprint,
            shutdown,
            stats,
            task,
            dir,
        }
    }

    pub async fn wait_closed(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.stats.closed.load(Ordering::SeqCst) < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "sessions did not close"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "lab_ssh=info".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Accepts any host key (tests use fresh keys) and remembers it.
pub struct TrustingClient;

impl client::Handler for TrustingClient {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

pub type ClientHandle = client::Handle<TrustingClient>;

pub async fn connect(addr: SocketAddr) -> ClientHandle {
    connect_with(addr, client::Config::default()).await
}

pub async fn connect_with(addr: SocketAddr, config: client::Config) -> ClientHandle {
    client::connect(Arc::new(config), addr, TrustingClient)
        .await
        .unwrap()
}

pub async fn login(addr: SocketAddr) -> ClientHandle {
    let mut handle = connect(addr).await;
    let result = handle.authenticate_password(USER, PASSWORD).await.unwrap();
    assert!(result.success(), "log-in with the default password failed");
    handle
}

pub async fn login_with_key(addr: SocketAddr, user: &str, key: PrivateKey) -> (ClientHandle, bool) {
    let mut handle = connect(addr).await;
    let key = PrivateKeyWithHashAlg::new(Arc::new(key), None);
    let result = handle.authenticate_publickey(user, key).await.unwrap();
    (handle, result.success())
}

/// A client terminal: an SSH channel plus a vt100 screen fed by it.
pub struct ClientTerminal {
    pub channel: russh::Channel<client::Msg>,
    pub screen: vt100::Parser,
    pub closed: bool,
    pub exit_status: Option<u32>,
}

impl ClientTerminal {
    pub async fn open(handle: &ClientHandle, cols: u16, rows: u16) -> ClientTerminal {
        let channel = handle.channel_open_session().await.unwrap();
        channel
            .request_pty(true, "xterm-256color", cols.into(), rows.into(), 0, 0, &[])
            .await
            .unwrap();
        channel.request_shell(true).await.unwrap();
        ClientTerminal {
            channel,
            screen: parser(cols, rows),
            closed: false,
            exit_status: None,
        }
    }

    pub fn text(&self) -> String {
        self.screen.screen().contents()
    }

    pub async fn send(&self, bytes: &[u8]) {
        self.channel.data(bytes).await.unwrap();
    }

    pub async fn resize(&mut self, cols: u16, rows: u16) {
        self.channel
            .window_change(cols.into(), rows.into(), 0, 0)
            .await
            .unwrap();
        self.screen.set_size(
            NonZeroU16::new(rows).unwrap(),
            NonZeroU16::new(cols).unwrap(),
        );
    }

    /// Reads until the screen contains `needle`; panics with the screen
    /// after 10 s.
    pub async fn wait_for(&mut self, needle: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.text().contains(needle) {
            let message = tokio::time::timeout_at(deadline, self.channel.wait()).await;
            match message {
                Ok(Some(message)) => self.absorb(message),
                Ok(None) => panic!("channel closed before {needle:?}; screen:\n{}", self.text()),
                Err(_) => panic!("timed out waiting for {needle:?}; screen:\n{}", self.text()),
            }
        }
    }

    /// Reads until the server closes the channel; returns all raw bytes.
    pub async fn read_to_close(&mut self) -> Vec<u8> {
        let mut raw = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, self.channel.wait()).await {
                Ok(Some(ChannelMsg::Data { data })) => {
                    raw.extend_from_slice(&data);
                    self.screen.process(&data);
                }
                Ok(Some(ChannelMsg::Close)) | Ok(None) => return raw,
                Ok(Some(other)) => self.absorb(other),
                Err(_) => panic!("server did not close the channel"),
            }
        }
    }

    fn absorb(&mut self, message: ChannelMsg) {
        match message {
            ChannelMsg::Data { data } => self.screen.process(&data),
            ChannelMsg::ExitStatus { exit_status } => self.exit_status = Some(exit_status),
            ChannelMsg::Close => self.closed = true,
            _ => {}
        }
    }
}

pub fn parser(cols: u16, rows: u16) -> vt100::Parser {
    vt100::Parser::new(
        NonZeroU16::new(rows).unwrap(),
        NonZeroU16::new(cols).unwrap(),
        0,
    )
}

pub async fn disconnect(handle: ClientHandle) {
    let _ = handle
        .disconnect(Disconnect::ByApplication, "bye", "")
        .await;
}
