//! The real lab TUI over SSH: a student logs in with an SSH client library
//! (russh), sees the scenario picker, opens the shipped scenario, resizes,
//! quits, and reconnects to find the session again.
//!
//! `LabSshFactory` below adapts `lab::app::App` to `lab_ssh::SessionFactory`
//! the way `lab serve` needs to. Engines are not started here (the
//! `ScenarioStarted` flow is ignored): this test is about the SSH path; once
//! the lab crate ships its own factory, this test should use that instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU16;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::Event;
use lab::app::{App, AppConfig, AppEvent, Flow, Theme};
use lab::session::{Session, SessionEvent};
use lab::store::{ProgressStore, SharedStore};
use lab_scenario::LoadedScenario;
use lab_ssh::{
    CancellationToken, Limits, RemoteTerminal, Server, ServerConfig, SessionContext,
    SessionFactory, SessionOpenError, TermSize, TerminalSession,
};
use russh::client;
use russh::{ChannelMsg, Disconnect};
use tokio::sync::mpsc::UnboundedReceiver;

fn size_of(size: TermSize) -> ratatui::layout::Size {
    ratatui::layout::Size::new(size.cols, size.rows)
}

/// Opens one lab App per SSH terminal, over one shared progress store.
struct LabSshFactory {
    scenarios: Vec<LoadedScenario>,
    store: SharedStore,
    runtime: tokio::runtime::Handle,
}

impl SessionFactory for LabSshFactory {
    fn open(
        &self,
        context: SessionContext,
        size: TermSize,
    ) -> Result<Box<dyn TerminalSession>, SessionOpenError> {
        let (session, events) =
            Session::new(self.runtime.clone(), self.store.clone(), &context.user);
        let config = AppConfig {
            user: context.user.clone(),
            theme: Theme::plain(),
            size: size_of(size),
        };
        let app = App::new(self.scenarios.clone(), session, config);
        let terminal =
            RemoteTerminal::new(size).map_err(|e| SessionOpenError::new(e.to_string()))?;
        Ok(Box::new(LabSshSession {
            app,
            events,
            terminal,
            exit: false,
            ticks: 0,
        }))
    }
}

struct LabSshSession {
    app: App,
    events: UnboundedReceiver<SessionEvent>,
    terminal: RemoteTerminal,
    exit: bool,
    ticks: u32,
}

impl LabSshSession {
    fn apply(&mut self, event: AppEvent) {
        if self.app.handle_event(event) == Flow::Quit {
            self.exit = true;
        }
    }

    fn drain_background(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.apply(AppEvent::Session(event));
        }
        self.app.poll_pane();
    }
}

impl TerminalSession for LabSshSession {
    fn input(&mut self, event: Event) {
        self.apply(AppEvent::Terminal(event));
    }

    fn resize(&mut self, size: TermSize) {
        let _ = self.terminal.resize(size);
        self.apply(AppEvent::Terminal(Event::Resize(size.cols, size.rows)));
    }

    fn render(&mut self) -> Vec<u8> {
        self.drain_background();
        let app = &self.app;
        self.terminal
            .draw(|frame| app.render(frame))
            .unwrap_or_default()
    }

    fn tick(&mut self) -> bool {
        self.ticks += 1;
        if self.ticks.is_multiple_of(3) {
            self.apply(AppEvent::Tick);
        }
        self.drain_background();
        true
    }

    fn wants_exit(&self) -> bool {
        self.exit
    }

    fn close(&mut self) {}
}

fn shipped_scenario() -> LoadedScenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/virtualization-and-containers.yaml");
    lab_scenario::load_file(&path).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

async fn start_lab_server(data_dir: &Path) -> (std::net::SocketAddr, CancellationToken) {
    let store = ProgressStore::open_in(data_dir).unwrap().shared();
    let factory = LabSshFactory {
        scenarios: vec![shipped_scenario()],
        store,
        runtime: tokio::runtime::Handle::current(),
    };
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
