//! Sessions benchmark: for 1, 50 and 200 concurrent SSH sessions on
//! loopback, prints connect-to-first-frame time, keystroke-to-echo latency
//! (p50/p99) and server memory per session.
//!
//! The server runs in a child process (this binary re-run with `--serve`)
//! so that its resident memory can be read from `/proc` without the
//! clients' share. The application is a small ratatui echo screen, so the
//! figures measure the SSH layer, input decoding and frame diffing, not the
//! lab's lessons. Each row starts a fresh server process. Rows are run with
//! public-key log-ins (the session's own cost) and with password log-ins
//! (argon2, a few at a time, so first frames under load queue for it).
//!
//! Run with `cargo bench -p lab-ssh --bench sessions`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent};
use lab_ssh::{
    CancellationToken, Limits, RemoteTerminal, Server, ServerConfig, SessionContext,
    SessionFactory, SessionOpenError, TermSize, TerminalSession,
};
use ratatui::widgets::Paragraph;
use russh::ChannelMsg;
use russh::client;
use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, PrivateKey, PrivateKeyWithHashAlg};

const SESSION_COUNTS: [usize; 3] = [1, 50, 200];
const KEYSTROKES_PER_SESSION: usize = 20;

fn main() {
    if std::env::args().any(|arg| arg == "--serve") {
        serve_child();
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("lab-ssh sessions benchmark (loopback, echo app, a fresh server process per row)");
    for auth in [LogIn::PublicKey, LogIn::Password] {
        println!("{}", auth.title());
        println!(
            "{:>8} | {:>22} | {:>22} | {:>18}",
            "sessions", "first frame p50/p99 ms", "key echo p50/p99 ms", "RSS per session KiB"
        );
        for count in SESSION_COUNTS {
            let (mut child, server) = spawn_server_child();
            let row = runtime.block_on(measure(&server, child.id(), count, auth));
            println!(
                "{:>8} | {:>10.1} / {:>9.1} | {:>10.2} / {:>9.2} | {:>18.0}",
                count,
                row.first_frame.0,
                row.first_frame.1,
                row.echo.0,
                row.echo.1,
                row.rss_per_session
            );
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[derive(Clone, Copy)]
enum LogIn {
    PublicKey,
    Password,
}

impl LogIn {
    fn title(self) -> &'static str {
        match self {
            LogIn::PublicKey => "public-key log-ins (memory is the SSH session and the app)",
            LogIn::Password => {
                "password log-ins (argon2, two at a time: first frames queue; RSS includes \
                 the two password threads' 19 MiB each)"
            }
        }
    }
}

/// Where the child server listens and the key it accepts.
#[derive(Clone)]
struct ChildServer {
    addr: SocketAddr,
    key: Arc<PrivateKey>,
}

struct Row {
    first_frame: (f64, f64),
    echo: (f64, f64),
    rss_per_session: f64,
}

async fn measure(server: &ChildServer, server_pid: u32, count: usize, auth: LogIn) -> Row {
    // One session first, so the baseline includes what any first session
    // sets up once (runtime threads, allocator pools), but not the password
    // threads' memory.
    let (warm, _) = open_session(server.clone(), LogIn::PublicKey).await;
    let _ = warm
        .handle
        .disconnect(russh::Disconnect::ByApplication, "", "")
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(server_pid);

    let opening: Vec<_> = (0..count)
        .map(|_| tokio::spawn(open_session(server.clone(), auth)))
        .collect();
    let mut sessions = Vec::new();
    let mut first_frames = Vec::new();
    for task in opening {
        let (session, elapsed) = task.await.unwrap();
        first_frames.push(elapsed);
        sessions.push(session);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_after = rss_kib(server_pid);

    let typing: Vec<_> = sessions
        .into_iter()
        .map(|s| tokio::spawn(type_keys(s)))
        .collect();
    let mut echoes = Vec::new();
    for task in typing {
        let (session, latencies) = task.await.unwrap();
        echoes.extend(latencies);
        let _ = session
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "")
            .await;
    }

    let rss_delta = rss_after.saturating_sub(rss_before);
    Row {
        first_frame: percentiles(&mut first_frames),
        echo: percentiles(&mut echoes),
        rss_per_session: count_as_f64(rss_delta) / count_as_f64(u64::try_from(count).unwrap()),
    }
}

struct OpenSession {
    handle: client::Handle<Client>,
    channel: russh::Channel<client::Msg>,
}

async fn open_session(server: ChildServer, auth: LogIn) -> (OpenSession, f64) {
    let started = Instant::now();
    let config = Arc::new(client::Config::default());
    let mut handle = client::connect(config, server.addr, Client).await.unwrap();
    let result = match auth {
        LogIn::Password => handle.authenticate_password("thmuser", "TryHackMe!").await,
        LogIn::PublicKey => {
            let key = PrivateKeyWithHashAlg::new(server.key, None);
            handle.authenticate_publickey("thmuser", key).await
        }
    };
    assert!(result.unwrap().success());
    let mut channel = handle.channel_open_session().await.unwrap();
    channel
        .request_pty(true, "xterm", 80, 24, 0, 0, &[])
        .await
        .unwrap();
    channel.request_shell(true).await.unwrap();
    wait_for(&mut channel, b"typed:[").await;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    (OpenSession { handle, channel }, elapsed)
}

async fn type_keys(mut session: OpenSession) -> (OpenSession, Vec<f64>) {
    let mut latencies = Vec::new();
    for i in 0..KEYSTROKES_PER_SESSION {
        let key = b"abcdefghijklmnopqrstuvwxyz"[i % 26];
        let started = Instant::now();
        session.channel.data(&[key][..]).await.unwrap();
        wait_for(&mut session.channel, &[key]).await;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    (session, latencies)
}

async fn wait_for(channel: &mut russh::Channel<client::Msg>, needle: &[u8]) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !seen.windows(needle.len()).any(|w| w == needle) {
        match tokio::time::timeout_at(deadline, channel.wait()).await {
            Ok(Some(ChannelMsg::Data { data })) => seen.extend_from_slice(&data),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("no echo of {needle:?}"),
        }
    }
}

fn percentiles(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let last = values.len().saturating_sub(1);
    let at = |per_mille: usize| values[last * per_mille / 1000];
    (at(500), at(990))
}

fn count_as_f64(value: u64) -> f64 {
    // Counts here are far below 2^52, so the conversion is exact.
    value as f64
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

struct Client;

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

fn spawn_server_child() -> (Child, ChildServer) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("LISTEN ")
        .unwrap()
        .parse()
        .unwrap();
    line.clear();
    lines.read_line(&mut line).unwrap();
    let key_path = line.trim().strip_prefix("KEY ").unwrap().to_owned();
    let key = Arc::new(russh::keys::load_secret_key(key_path, None).unwrap());
    (child, ChildServer { addr, key })
}

/// The child: a server with limits raised for the largest run, until stdin
/// closes.
fn serve_child() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).unwrap();
        let key_path = dir.path().join("client_key");
        std::fs::write(
            &key_path,
            key.to_openssh(LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        let users = dir.path().join("users.toml");
        let public = key.public_key().to_openssh().unwrap();
        lab_ssh::users::add_user(&users, "thmuser", Some("TryHackMe!"), &[public]).unwrap();

        let mut config = ServerConfig::new(dir.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.users_file = Some(users);
        config.limits = Limits {
            max_unauthenticated: 250,
            max_sessions: 250,
            ..Limits::default()
        };
        let server = Server::bind(config, Arc::new(EchoFactory)).await.unwrap();
        println!("LISTEN {}", server.local_addr());
        println!("KEY {}", key_path.display());
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        std::thread::spawn(move || {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
            stop.cancel();
        });
        server.run(shutdown).await.unwrap();
    });
}

struct EchoFactory;

impl SessionFactory for EchoFactory {
    fn open(
        &self,
        _context: SessionContext,
        size: TermSize,
    ) -> Result<Box<dyn TerminalSession>, SessionOpenError> {
        let terminal =
            RemoteTerminal::new(size).map_err(|e| SessionOpenError::new(e.to_string()))?;
        Ok(Box::new(Echo {
            terminal,
            typed: String::new(),
        }))
    }
}

struct Echo {
    terminal: RemoteTerminal,
    typed: String,
}

impl TerminalSession for Echo {
    fn input(&mut self, event: Event) {
        if let Event::Key(KeyEvent {
            code: KeyCode::Char(c),
            ..
        }) = event
        {
            self.typed.push(c);
        }
    }

    fn resize(&mut self, size: TermSize) {
        let _ = self.terminal.resize(size);
    }

    fn render(&mut self) -> Vec<u8> {
        let text = format!("lab benchmark\ntyped:[{}]", self.typed);
        self.terminal
            .draw(|f| f.render_widget(Paragraph::new(text), f.area()))
            .unwrap_or_default()
    }

    fn wants_exit(&self) -> bool {
        false
    }

    fn close(&mut self) {}
}
