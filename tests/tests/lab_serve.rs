//! `lab serve` end to end: the lab's own SSH session factory
//! (`lab::driver::ssh::LabSessionFactory`) behind a real lab-ssh server on a
//! loopback port, the real App, the real SQLite progress store and real
//! engines, logged into with russh's client and with the OpenSSH client.
//!
//! lab-ssh's own tests cover the server's limits and protocol with a small
//! echo application; these check what the lab adds on top: the scenario on
//! the first frame, answers reaching the store, resuming after a
//! reconnect, the notice for a second log-in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab::driver::ssh::LabSessionFactory;
use lab::engines::LabEngines;
use lab::store::{ProgressStore, SharedStore, lock};
use lab_scenario::LoadedScenario;
use lab_ssh::{CancellationToken, Server, ServerConfig};
use russh::keys::{Algorithm, PrivateKey, PrivateKeyWithHashAlg};
use russh::{ChannelMsg, Disconnect, client};

const USER: &str = "thmuser";
const PASSWORD: &str = "TryHackMe!";
const SCENARIO: &str = "virtualization-and-containers";
const TITLE: &str = "Virtualization and Containers";

fn shipped_scenario() -> LoadedScenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/virtualization-and-containers.yaml");
    lab_scenario::load_file(&path).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

/// A running `lab serve` equivalent on 127.0.0.1 with a random port.
struct LabServer {
    addr: SocketAddr,
    store: SharedStore,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), lab_ssh::ServeError>>,
    _dir: tempfile::TempDir,
}

impl LabServer {
    async fn start() -> LabServer {
        Self::start_with_users(|_| None).await
    }

    /// `users` may write a users file into the data directory and return it.
    async fn start_with_users(
        users: impl FnOnce(&Path) -> Option<std::path::PathBuf>,
    ) -> LabServer {
        let dir = tempfile::tempdir().unwrap();
        let store = ProgressStore::open_in(dir.path()).unwrap().shared();
        let factory = LabSessionFactory::new(
            vec![shipped_scenario()],
            store.clone(),
            Arc::new(LabEngines::new()),
            tokio::runtime::Handle::current(),
        );
        let mut config = ServerConfig::new(dir.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.users_file = users(dir.path());
        let server = Server::bind(config, Arc::new(factory)).await.unwrap();
        let addr = server.local_addr();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server.run(shutdown.clone()));
        LabServer {
            addr,
            store,
            shutdown,
            task,
            _dir: dir,
        }
    }

    /// Stops the server and waits until every session has closed (engines
    /// stopped).
    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

struct TrustingClient;

impl client::Handler for TrustingClient {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

type Handle = client::Handle<TrustingClient>;

async fn connect(addr: SocketAddr) -> Handle {
    let config = Arc::new(client::Config::default());
    client::connect(config, addr, TrustingClient).await.unwrap()
}

async fn log_in(addr: SocketAddr, password: &str) -> (Handle, bool) {
    let mut handle = connect(addr).await;
    let auth = handle.authenticate_password(USER, password).await.unwrap();
    (handle, auth.success())
}

/// An SSH terminal on the lab, read through a vt100 screen.
struct Student {
    handle: Handle,
    channel: russh::Channel<client::Msg>,
    screen: vt100::Parser,
}

impl Student {
    async fn log_in(addr: SocketAddr, cols: u16, rows: u16) -> Student {
        let (handle, ok) = log_in(addr, PASSWORD).await;
        assert!(ok, "the default password must be accepted");
        Student::open(handle, cols, rows).await
    }

    async fn open(handle: Handle, cols: u16, rows: u16) -> Student {
        let channel = handle.channel_open_session().await.unwrap();
        channel
            .request_pty(true, "xterm-256color", cols.into(), rows.into(), 0, 0, &[])
            .await
            .unwrap();
        channel.request_shell(true).await.unwrap();
        Student {
            handle,
            channel,
            screen: vt100::Parser::new(nonzero(rows), nonzero(cols), 0),
        }
    }

    fn text(&self) -> String {
        self.screen.screen().contents()
    }

    async fn wait_for(&mut self, needle: &str) {
        self.wait_for_times(needle, 1).await;
    }

    /// Waits until `needle` shows `times` times on the screen.
    async fn wait_for_times(&mut self, needle: &str, times: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.text().matches(needle).count() < times {
            match tokio::time::timeout_at(deadline, self.channel.wait()).await {
                Ok(Some(ChannelMsg::Data { data })) => self.screen.process(&data),
                Ok(Some(_)) => {}
                Ok(None) => panic!("channel closed before {needle:?}; screen:\n{}", self.text()),
                Err(_) => panic!("timed out waiting for {needle:?}; screen:\n{}", self.text()),
            }
        }
    }

    async fn send(&self, bytes: &[u8]) {
        self.channel.data(bytes).await.unwrap();
    }

    async fn resize(&mut self, cols: u16, rows: u16) {
        self.channel
            .window_change(cols.into(), rows.into(), 0, 0)
            .await
            .unwrap();
        self.screen.set_size(nonzero(rows), nonzero(cols));
    }

    async fn leave(self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "")
            .await;
    }
}

fn nonzero(value: u16) -> NonZeroU16 {
    NonZeroU16::new(value).unwrap()
}

/// Waits until the store shows `answer` for `question`.
async fn wait_for_attempt(store: &SharedStore, question: &str, answer: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempts = lock(store).unwrap().attempts(USER, SCENARIO).unwrap();
        let found = attempts
            .iter()
            .find(|a| a.question == question && a.answer == answer);
        if let Some(attempt) = found {
            return attempt.correct;
        }
        assert!(
            Instant::now() < deadline,
            "no attempt {answer:?} in {attempts:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_refused_and_the_right_one_opens_the_scenario() {
    let server = LabServer::start().await;

    let (_refused, ok) = log_in(server.addr, "not-the-password").await;
    assert!(!ok, "a wrong password must be refused");

    let mut student = Student::log_in(server.addr, 120, 36).await;
    student.wait_for(TITLE).await;
    student.wait_for("Task 1/7").await;
    student.leave().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_key_log_in_reaches_the_lab_as_that_user() {
    let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).unwrap();
    let public = key.public_key().to_openssh().unwrap();
    let server = LabServer::start_with_users(|dir| {
        let path = dir.join("users.toml");
        lab_ssh::users::add_user(&path, "alice", None, &[public]).unwrap();
        Some(path)
    })
    .await;

    let mut handle = connect(server.addr).await;
    let key = PrivateKeyWithHashAlg::new(Arc::new(key), None);
    let auth = handle.authenticate_publickey("alice", key).await.unwrap();
    assert!(auth.success(), "the authorized key must be accepted");
    let mut student = Student::open(handle, 120, 36).await;
    student.wait_for(TITLE).await;

    // Progress is kept under the SSH user's name.
    student.send(b"\r").await; // the introduction is read: on to task 2
    student.wait_for("Task 2/7").await;
    student.leave().await;
    server.shutdown.cancel();
    server.task.await.unwrap().unwrap();
    let progress = lock(&server.store)
        .unwrap()
        .load_progress("alice", SCENARIO)
        .unwrap();
    assert_eq!(progress.position.as_deref(), Some("virtualization"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_answer_updates_the_screen_and_the_store() {
    let server = LabServer::start().await;
    let mut student = Student::log_in(server.addr, 140, 40).await;
    student.wait_for("Task 1/7").await;

    student.send(b"\r").await; // the introduction is read: on to task 2
    student.wait_for("Task 2/7").await;
    student.send(b"\t").await; // focus the questions
    student.send(b"nope\r").await;
    assert!(!wait_for_attempt(&server.store, "scalability-benefit", "nope").await);
    student.send(&[0x7f; 4]).await; // clear the box
    student.send(b"yes\r").await;
    student.wait_for("Correct!").await;
    assert!(wait_for_attempt(&server.store, "scalability-benefit", "yes").await);

    student.leave().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_re_renders_at_the_new_size() {
    let server = LabServer::start().await;
    let mut student = Student::log_in(server.addr, 140, 40).await;
    student.wait_for("Task 1/7").await;

    // Narrow terminals get the panes as tabs instead of side by side.
    let tabs = "Tasks │ Lesson │ Questions";
    assert!(!student.text().contains(tabs), "{}", student.text());
    student.resize(90, 30).await;
    student.wait_for(tabs).await;
    student.wait_for("Task 1/7").await;

    student.leave().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_student_resumes_where_they_were() {
    let server = LabServer::start().await;
    let mut first = Student::log_in(server.addr, 140, 40).await;
    first.wait_for("Task 1/7").await;
    first.send(b"\r").await;
    first.wait_for("Task 2/7").await;
    first.send(b"\tyes\r").await;
    first.wait_for("Correct!").await;
    first.leave().await;

    let mut again = Student::log_in(server.addr, 140, 40).await;
    again.wait_for("Task 2/7").await;
    again.wait_for("Correct!").await;
    again.leave().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_log_in_of_one_user_works_and_is_told_about_the_first() {
    let server = LabServer::start().await;
    let mut first = Student::log_in(server.addr, 140, 40).await;
    first.wait_for("Task 1/7").await;

    let mut second = Student::log_in(server.addr, 140, 40).await;
    second.wait_for("logged in 2 times").await;
    second.send(b"\r").await;
    second.wait_for("Task 2/7").await;
    first.send(b"\r").await;
    first.wait_for("Task 2/7").await;

    first.leave().await;
    second.leave().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_shell_runs_over_ssh_and_its_lines_are_recorded() {
    let server = LabServer::start().await;
    let mut student = Student::log_in(server.addr, 140, 40).await;
    student.wait_for("thmuser@lab").await;

    student.send(b"\t\t").await; // Lesson -> Questions -> Terminal
    student.send(b"echo printed-over-ssh\r").await;
    // The typed line, then the output, which arrives from the shell's task
    // without another key press.
    student.wait_for_times("printed-over-ssh", 2).await;
    let commands = lock(&server.store)
        .unwrap()
        .commands(USER, SCENARIO)
        .unwrap();
    assert!(
        commands.iter().any(|c| c.line == "echo printed-over-ssh"),
        "{commands:#?}"
    );

    student.leave().await;
    server.stop().await;
}

/// Names of the Docker containers labelled with a session of `user` in
/// this process; `None` when no Docker Engine answers.
fn session_containers(user: &str) -> Option<Vec<String>> {
    let output = std::process::Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Label \"lab.session\"}}"])
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let prefix = format!("{user}-{}-", std::process::id());
    let text = String::from_utf8_lossy(&output.stdout);
    Some(
        text.lines()
            .filter(|label| label.starts_with(&prefix))
            .map(str::to_owned)
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_session_removes_its_containers() {
    if session_containers("carol").is_none() {
        eprintln!("SKIPPED: no Docker Engine answers (scripts/setup-host starts dockerd)");
        return;
    }
    let server = LabServer::start_with_users(|dir| {
        let path = dir.join("users.toml");
        lab_ssh::users::add_user(&path, "carol", Some("carol-pass"), &[]).unwrap();
        Some(path)
    })
    .await;
    let mut handle = connect(server.addr).await;
    let auth = handle
        .authenticate_password("carol", "carol-pass")
        .await
        .unwrap();
    assert!(auth.success());
    let mut student = Student::open(handle, 140, 40).await;
    student.wait_for(TITLE).await;

    // The scenario's cluster runs its pods as containers of this session.
    let deadline = Instant::now() + Duration::from_secs(60);
    while session_containers("carol").unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the session's pods never started"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    student.leave().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = session_containers("carol").unwrap();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "left behind: {left:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.stop().await;
}

/// The OpenSSH client through a pty, as a student types it.
mod openssh {
    use super::*;
    use expectrl::Expect;
    use expectrl::session::OsSession;
    use std::process::Command;

    fn available() -> bool {
        let found = Command::new("ssh").arg("-V").output().is_ok();
        if !found {
            eprintln!(
                "SKIPPED: the OpenSSH client `ssh` is not installed (scripts/setup-host installs it)"
            );
        }
        found
    }

    fn ssh_command(port: u16) -> Command {
        let mut command = Command::new("ssh");
        command.args(["-F", "/dev/null", "-p", &port.to_string()]);
        for option in [
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "LogLevel=ERROR",
            "PubkeyAuthentication=no",
            "PreferredAuthentications=password",
            "NumberOfPasswordPrompts=1",
        ] {
            command.args(["-o", option]);
        }
        command.arg(format!("{USER}@127.0.0.1"));
        command
    }

    fn wait_for_screen(session: &mut OsSession, screen: &mut vt100::Parser, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut buffer = [0u8; 4096];
        while !screen.screen().contents().contains(needle) {
            let text = screen.screen().contents();
            assert!(Instant::now() < deadline, "no {needle:?}; screen:\n{text}");
            match session.try_read(&mut buffer) {
                Ok(0) => panic!("ssh exited before {needle:?}; screen:\n{text}"),
                Ok(n) => screen.process(&buffer[..n]),
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(error) => panic!("reading from ssh failed: {error}"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn openssh_client_logs_into_the_lab_and_sees_the_scenario() {
        if !available() {
            return;
        }
        let server = LabServer::start().await;
        let port = server.addr.port();

        let drive = tokio::task::spawn_blocking(move || {
            let mut session = expectrl::Session::spawn(ssh_command(port)).unwrap();
            session.get_process_mut().set_window_size(120, 36).unwrap();
            session.set_expect_timeout(Some(Duration::from_secs(20)));
            session.expect("password:").unwrap();
            session.send_line(PASSWORD).unwrap();

            let mut screen = vt100::Parser::new(nonzero(36), nonzero(120), 0);
            wait_for_screen(&mut session, &mut screen, TITLE);
            wait_for_screen(&mut session, &mut screen, "Task 1/7");

            session.send("q").unwrap(); // the footer says: q quit
            session.expect(expectrl::Eof).unwrap();
            session.get_process().wait().unwrap()
        });
        let status = format!("{:?}", drive.await.unwrap());
        assert!(status.ends_with(", 0)"), "ssh exit: {status}");
        server.stop().await;
    }
}
