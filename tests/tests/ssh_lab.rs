//! The real lab TUI over SSH through the picker: a student logs in with an
//! SSH client library (russh), sees the scenario picker (two scenarios are
//! served), opens one, which starts its engines and attaches the lab shell
//! the way `lab serve` does (`lab::driver::ssh::LabSessionFactory`),
//! resizes, quits, and reconnects to find the picker again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU16;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lab::driver::ssh::LabSessionFactory;
use lab::engines::LabEngines;
use lab::store::ProgressStore;
use lab_scenario::LoadedScenario;
use lab_ssh::{CancellationToken, Limits, Server, ServerConfig};
use russh::client;
use russh::{ChannelMsg, Disconnect};

fn shipped_scenario() -> LoadedScenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/virtualization-and-containers.yaml");
    lab_scenario::load_file(&path).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

/// The shipped scenario under another id and title, so the picker shows.
fn second_scenario() -> LoadedScenario {
    let mut copy = shipped_scenario();
    copy.scenario.id = "second-copy".to_owned();
    copy.scenario.title = "A Second Copy".to_owned();
    copy
}

async fn start_lab_server(data_dir: &Path) -> (std::net::SocketAddr, CancellationToken) {
    let store = ProgressStore::open_in(data_dir).unwrap().shared();
    let factory = LabSessionFactory::new(
        vec![shipped_scenario(), second_scenario()],
        store,
        Arc::new(LabEngines::new()),
        tokio::runtime::Handle::current(),
    );
    let mut config = ServerConfig::new(data_dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.limits = Limits::default();
    let server = Server::bind(config, Arc::new(factory)).await.unwrap();
    let addr = server.local_addr();
    let shutdown = CancellationToken::new();
    tokio::spawn(server.run(shutdown.clone()));
    (addr, shutdown)
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

struct Student {
    handle: client::Handle<Client>,
    channel: russh::Channel<client::Msg>,
    screen: vt100::Parser,
}

impl Student {
    async fn log_in(addr: std::net::SocketAddr, cols: u16, rows: u16) -> Student {
        let config = Arc::new(client::Config::default());
        let mut handle = client::connect(config, addr, Client).await.unwrap();
        let auth = handle
            .authenticate_password("thmuser", "TryHackMe!")
            .await
            .unwrap();
        assert!(auth.success());
        let channel = handle.channel_open_session().await.unwrap();
        channel
            .request_pty(true, "xterm-256color", cols.into(), rows.into(), 0, 0, &[])
            .await
            .unwrap();
        channel.request_shell(true).await.unwrap();
        let screen = vt100::Parser::new(nonzero(rows), nonzero(cols), 0);
        Student {
            handle,
            channel,
            screen,
        }
    }

    fn text(&self) -> String {
        self.screen.screen().contents()
    }

    async fn wait_for(&mut self, needle: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !self.text().contains(needle) {
            match tokio::time::timeout_at(deadline, self.channel.wait()).await {
                Ok(Some(ChannelMsg::Data { data })) => self.screen.process(&data),
                Ok(Some(_)) => {}
                Ok(None) => panic!("channel closed before {needle:?}; screen:\n{}", self.text()),
                Err(_) => panic!("timed out waiting for {needle:?}; screen:\n{}", self.text()),
            }
        }
    }

    async fn wait_closed(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match tokio::time::timeout_at(deadline, self.channel.wait()).await {
                Ok(Some(ChannelMsg::Data { data })) => self.screen.process(&data),
                Ok(Some(ChannelMsg::Close) | None) => return,
                Ok(Some(_)) => {}
                Err(_) => panic!("session did not end; screen:\n{}", self.text()),
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
}

fn nonzero(value: u16) -> NonZeroU16 {
    NonZeroU16::new(value).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn student_logs_in_over_ssh_opens_the_scenario_resizes_and_quits() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, shutdown) = start_lab_server(dir.path()).await;

    let mut student = Student::log_in(addr, 120, 36).await;
    student.wait_for("Choose a scenario").await;
    student.wait_for("Virtualization and Containers").await;

    student.send(b"\r").await;
    student.wait_until_changed_from_picker().await;
    // Opening the scenario from the picker attached the lab shell.
    student.wait_for("thmuser@lab").await;

    // Narrow terminals get the panes as tabs instead of side by side.
    let tabs = "Tasks │ Lesson │ Questions";
    assert!(!student.text().contains(tabs), "{}", student.text());
    student.resize(90, 30).await;
    student.wait_for(tabs).await;
    student.wait_for("Task 1/7").await;
    assert_eq!(student.screen.screen().size(), (nonzero(30), nonzero(90)));

    student.send(b"q").await; // the footer says: q quit
    student.wait_closed().await;
    let _ = student
        .handle
        .disconnect(Disconnect::ByApplication, "", "")
        .await;

    let mut again = Student::log_in(addr, 100, 30).await;
    again.wait_for("Virtualization and Containers").await;
    shutdown.cancel();
    again.wait_closed().await;
}

impl Student {
    /// Waits until the picker's frame is gone (the scenario screen shows).
    async fn wait_until_changed_from_picker(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.text().contains("Choose a scenario") {
            match tokio::time::timeout_at(deadline, self.channel.wait()).await {
                Ok(Some(ChannelMsg::Data { data })) => self.screen.process(&data),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => panic!("scenario did not open; screen:\n{}", self.text()),
            }
        }
    }
}
