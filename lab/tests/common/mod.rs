//! Helpers shared by the App tests: a real progress store in a temporary
//! directory, a runtime for the session, key presses and screen captures.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use lab::app::{App, AppConfig, AppEvent, Flow, Focus, Theme};
use lab::session::{Session, SessionEvent};
use lab::store::{ProgressStore, SharedStore};
use lab_scenario::LoadedScenario;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Size;
use tokio::sync::mpsc::UnboundedReceiver;

pub const USER: &str = "ada";

pub fn fixture(name: &str) -> LoadedScenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scenarios")
        .join(name);
    lab_scenario::load_file(&path).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

pub fn workspace_scenario(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(file)
}

/// An App over a real SQLite store, with the runtime its session uses.
pub struct Harness {
    pub app: App,
    pub events: UnboundedReceiver<SessionEvent>,
    pub store: SharedStore,
    pub runtime: tokio::runtime::Runtime,
    pub data_dir: PathBuf,
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

impl Harness {
    pub fn new(scenarios: Vec<LoadedScenario>, data_dir: &Path, size: Size) -> Harness {
        let runtime = runtime();
        let store = ProgressStore::open_in(data_dir).unwrap().shared();
        let (session, events) = Session::new(runtime.handle().clone(), store.clone(), USER);
        let config = AppConfig {
            user: USER.to_owned(),
            theme: Theme::plain(),
            size,
        };
        let app = App::new(scenarios, session, config);
        Harness {
            app,
            events,
            store,
            runtime,
            data_dir: data_dir.to_owned(),
        }
    }

    pub fn key(&mut self, code: KeyCode) -> Flow {
        self.app
            .handle_event(AppEvent::Terminal(Event::Key(KeyEvent::new(
                code,
                KeyModifiers::NONE,
            ))))
    }

    pub fn ctrl(&mut self, c: char) -> Flow {
        let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        self.app.handle_event(AppEvent::Terminal(Event::Key(key)))
    }

    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Types an answer into the selected box and submits it.
    pub fn answer(&mut self, text: &str) {
        self.type_text(text);
        self.key(KeyCode::Enter);
    }

    pub fn focus(&mut self, focus: Focus) {
        for _ in 0..Focus::ORDER.len() {
            if self.app.focus() == focus {
                return;
            }
            self.key(KeyCode::Tab);
        }
        assert_eq!(self.app.focus(), focus, "Tab never reached {focus:?}");
    }

    /// Waits for the next background event and hands it to the App.
    pub fn next_session_event(&mut self) -> SessionEvent {
        let event = self
            .runtime
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(10), self.events.recv()).await
            })
            .expect("no session event within 10 s")
            .expect("session channel closed");
        self.app.handle_event(AppEvent::Session(event.clone()));
        event
    }

    /// Hands every event that arrived meanwhile to the App, after waiting a
    /// moment for background work in flight.
    pub fn settle(&mut self) {
        std::thread::sleep(Duration::from_millis(100));
        while let Ok(event) = self.events.try_recv() {
            self.app.handle_event(AppEvent::Session(event));
        }
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.app
            .handle_event(AppEvent::Terminal(Event::Resize(width, height)));
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        let size = self.app.size();
        let mut terminal = Terminal::new(TestBackend::new(size.width, size.height)).unwrap();
        terminal.draw(|frame| self.app.render(frame)).unwrap();
        terminal.backend().to_string()
    }
}
