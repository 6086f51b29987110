//! The TUI as a state machine: events in, a frame out.
//!
//! [`App::handle_event`] takes an [`AppEvent`] (a crossterm event from the
//! keyboard or SSH, a [`SessionEvent`] from background work, or a reloaded
//! scenario file from the driver's watcher) and returns
//! a [`Flow`]; [`App::render`] draws the current state and never waits. The
//! App holds no global state and never touches stdout, so one process can run
//! many of them (one per SSH session) and tests can drive one in-process.
//!
//! - [`run`]: the state of the scenario being worked through.
//! - [`input`]: what each key does, per screen and focused pane.
//! - [`actions`]: answering, hints, checks and task completion, each recorded
//!   in the progress store before the screen shows it.
//! - [`layout`]: where the panes go for a terminal size.
//! - [`render`]: drawing. [`markdown`]: lesson text. [`theme`]: colours.
//! - [`pane`]: the slot for the lab shell's terminal pane.
//! - [`reload`]: a watched scenario file loaded again, or its problems.

pub mod actions;
pub mod input;
pub mod layout;
pub mod markdown;
pub mod pane;
pub mod reload;
pub mod render;
pub mod run;
pub mod theme;

use std::collections::BTreeMap;

use crossterm::event::Event;
use lab_engine_api::{EngineKind, EngineStatus};
use lab_scenario::LoadedScenario;
use ratatui::Frame;
use ratatui::layout::Size;

pub use pane::{PaneReply, PaneStatus, StatusSource, TerminalPane};
pub use reload::{ScenarioFileEvent, ScenarioProblems};
pub use run::{Feedback, ScenarioRun, TaskMark};
pub use theme::Theme;

use crate::session::{Session, SessionEvent};
use crate::store::{StoreError, lock};

/// Everything the App reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum AppEvent {
    /// Keys, mouse, paste, resize and focus, from crossterm or decoded from
    /// SSH bytes.
    Terminal(Event),
    /// Background work finished.
    Session(SessionEvent),
    /// Time passed (the driver sends one every few seconds): unfinished
    /// hands-on checks run again.
    Tick,
    /// The terminal pane has new output to draw; nothing else changes.
    PaneChanged,
    /// The watched scenario file (or a content file it uses) changed and
    /// was loaded again.
    ScenarioFile(ScenarioFileEvent),
}

/// What the driver should do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// A scenario was opened, or reloaded with other engines or manifests:
    /// the driver may start its engines now (ending any it started before)
    /// and attach their probes and the lab shell pane.
    ScenarioStarted {
        scenario: String,
    },
    /// The learner quit; progress is already saved.
    Quit,
}

/// The panes focus moves between, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Focus {
    Tasks,
    Lesson,
    Questions,
    Terminal,
}

impl Focus {
    pub const ORDER: [Focus; 4] = [
        Focus::Tasks,
        Focus::Lesson,
        Focus::Questions,
        Focus::Terminal,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Focus::Tasks => "Tasks",
            Focus::Lesson => "Lesson",
            Focus::Questions => "Questions",
            Focus::Terminal => "Terminal",
        }
    }

    fn step(self, forward: bool) -> Focus {
        let at = Focus::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        let len = Focus::ORDER.len();
        let next = if forward {
            (at + 1) % len
        } else {
            (at + len - 1) % len
        };
        Focus::ORDER[next]
    }
}

/// Which screen is showing.
#[derive(Debug, Clone)]
pub enum Screen {
    Picker { selected: usize },
    Scenario(Box<ScenarioRun>),
}

/// How an App is set up.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub user: String,
    pub theme: Theme,
    /// The terminal size at start; later sizes arrive as resize events.
    pub size: Size,
}

/// A line in the status bar until the next key: news, or a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    /// A problem (shown in the warning colour) rather than news.
    pub problem: bool,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            problem: false,
        }
    }

    pub fn problem(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            problem: true,
        }
    }
}

/// One learner's TUI.
pub struct App {
    scenarios: Vec<LoadedScenario>,
    screen: Screen,
    session: Session,
    user: String,
    theme: Theme,
    size: Size,
    focus: Focus,
    help_open: bool,
    lesson_scroll: u16,
    questions_scroll: u16,
    pane: Option<Box<dyn TerminalPane>>,
    pane_status: PaneStatus,
    engines: BTreeMap<EngineKind, EngineStatus>,
    notice: Option<Notice>,
    status_source: Option<Box<dyn StatusSource>>,
    /// The last line read from `status_source`, drawn in the status bar.
    live_status: Option<String>,
    /// Why the watched scenario file does not load, while it does not.
    problems: Option<ScenarioProblems>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("user", &self.user)
            .field("focus", &self.focus)
            .field("screen", &self.screen)
            .finish_non_exhaustive()
    }
}

impl App {
    /// An App showing the scenario picker over `scenarios`. Call
    /// [`App::open_scenario`] to skip the picker.
    pub fn new(scenarios: Vec<LoadedScenario>, session: Session, config: AppConfig) -> Self {
        App {
            scenarios,
            screen: Screen::Picker { selected: 0 },
            session,
            user: config.user,
            theme: config.theme,
            size: config.size,
            focus: Focus::Lesson,
            help_open: false,
            lesson_scroll: 0,
            questions_scroll: 0,
            pane: None,
            pane_status: PaneStatus::Starting,
            engines: BTreeMap::new(),
            notice: None,
            status_source: None,
            live_status: None,
            problems: None,
        }
    }

    /// Reacts to one event. Progress is recorded before this returns.
    pub fn handle_event(&mut self, event: AppEvent) -> Flow {
        match event {
            AppEvent::Terminal(event) => input::terminal_event(self, event),
            AppEvent::Session(event) => {
                actions::session_event(self, event);
                Flow::Continue
            }
            AppEvent::Tick => {
                self.refresh_live_status();
                actions::rerun_unfinished_checks(self);
                Flow::Continue
            }
            AppEvent::PaneChanged => {
                self.poll_pane();
                Flow::Continue
            }
            AppEvent::ScenarioFile(event) => reload::scenario_file(self, event),
        }
    }

    /// Draws the whole screen from the current state.
    pub fn render(&self, frame: &mut Frame) {
        render::render(self, frame);
    }

    /// Opens the scenario with `id`, resuming recorded progress.
    pub fn open_scenario(&mut self, id: &str) -> Result<Flow, OpenError> {
        let loaded = self
            .scenarios
            .iter()
            .find(|s| s.scenario.id == id)
            .cloned()
            .ok_or_else(|| OpenError::UnknownScenario { id: id.to_owned() })?;
        let progress = lock(self.session.store())?.load_progress(&self.user, id)?;
        tracing::info!(user = %self.user, scenario = %id, "scenario opened");
        self.screen = Screen::Scenario(Box::new(ScenarioRun::resume(loaded, &progress)));
        self.focus = Focus::Lesson;
        self.lesson_scroll = 0;
        actions::after_task_change(self);
        Ok(Flow::ScenarioStarted {
            scenario: id.to_owned(),
        })
    }

    /// Plugs in the lab shell's pane; it takes the terminal area at once.
    pub fn attach_pane(&mut self, mut pane: Box<dyn TerminalPane>) {
        if let Some(area) = self.pane_inner_size() {
            pane.resize(area.width, area.height);
        }
        pane.set_focused(self.focus == Focus::Terminal);
        self.pane = Some(pane);
    }

    /// Lets the pane take in output produced in the background; true when
    /// the screen needs drawing again. Drivers call this on every turn.
    pub fn poll_pane(&mut self) -> bool {
        let pane = self.pane.as_mut().is_some_and(|pane| pane.poll());
        let status = self.refresh_live_status();
        pane || status
    }

    /// Plugs in a live status line (the session's VM), replacing any other.
    pub fn set_status_source(&mut self, source: Box<dyn StatusSource>) {
        self.status_source = Some(source);
        self.refresh_live_status();
    }

    /// The live status line as last read, for drawing.
    pub fn live_status(&self) -> Option<&str> {
        self.live_status.as_deref()
    }

    /// Reads the status source again; true when the line changed.
    fn refresh_live_status(&mut self) -> bool {
        let line = self.status_source.as_ref().and_then(|source| source.line());
        let changed = line != self.live_status;
        self.live_status = line;
        changed
    }

    /// Removes the pane (the shell ended) and says why in its place.
    pub fn detach_pane(&mut self, status: PaneStatus) -> Option<Box<dyn TerminalPane>> {
        self.pane_status = status;
        self.pane.take()
    }

    /// Shows `text` in the status line until the next key (the SSH driver
    /// says so when the learner is logged in twice).
    /// Shows a problem in the status line until the next key.
    pub fn set_notice(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice::problem(text));
    }

    /// Shows news that needs no action (in the muted colour) until the
    /// next key.
    pub fn set_info(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice::info(text));
    }

    pub fn set_pane_status(&mut self, status: PaneStatus) {
        self.pane_status = status;
    }

    pub fn pane_mut(&mut self) -> Option<&mut (dyn TerminalPane + 'static)> {
        self.pane.as_deref_mut()
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// The open scenario, if any.
    pub fn run(&self) -> Option<&ScenarioRun> {
        match &self.screen {
            Screen::Scenario(run) => Some(run),
            Screen::Picker { .. } => None,
        }
    }

    pub fn focus(&self) -> Focus {
        self.focus
    }

    pub fn size(&self) -> Size {
        self.size
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// The problems of the watched scenario file while it does not load.
    pub fn problems(&self) -> Option<&ScenarioProblems> {
        self.problems.as_ref()
    }

    /// The status-line notice, if one is showing.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_ref().map(|notice| notice.text.as_str())
    }

    pub fn scenarios(&self) -> &[LoadedScenario] {
        &self.scenarios
    }

    fn run_mut(&mut self) -> Option<&mut ScenarioRun> {
        match &mut self.screen {
            Screen::Scenario(run) => Some(run),
            Screen::Picker { .. } => None,
        }
    }

    /// The inner size of the terminal pane in the current layout.
    fn pane_inner_size(&self) -> Option<ratatui::layout::Rect> {
        let areas = layout::Areas::compute(self.size, self.focus);
        areas.terminal.map(layout::inner)
    }

    /// Tells the pane its size after a resize or a layout change.
    fn resize_pane(&mut self) {
        let Some(area) = self.pane_inner_size() else {
            return;
        };
        if let Some(pane) = self.pane.as_mut() {
            pane.resize(area.width, area.height);
        }
    }
}

/// Why a scenario could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no scenario has the id `{id}`")]
    UnknownScenario { id: String },
    #[error("failed to load the recorded progress")]
    Progress(#[from] StoreError),
}
