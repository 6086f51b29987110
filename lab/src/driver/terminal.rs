//! The local terminal driver: raw mode, the alternate screen, mouse capture
//! and bracketed paste on the way in; all of it undone on the way out, also
//! when the program panics.

use std::io::{self, Stdout};
use std::time::{Duration, Instant};

use crossterm::event::{
    self, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::mpsc::error::TryRecvError;

use crate::app::{App, AppEvent, Flow};
use crate::session::SessionEvent;
use crate::watch::ScenarioWatcher;

/// How long to wait for a key before looking at background events.
const POLL: Duration = Duration::from_millis(50);
/// How often unfinished hands-on checks run again.
const TICK: Duration = Duration::from_secs(3);

/// Called with the scenario id when the learner opens a scenario.
pub type OnScenarioStart<'a> = &'a mut dyn FnMut(&mut App, &str);

/// Where the App's events come from besides the keyboard.
pub struct EventSources<'a> {
    /// Background work of the learner's session.
    pub session: &'a mut UnboundedReceiver<SessionEvent>,
    /// Reloads of the scenario file `lab run --watch` follows.
    pub watcher: Option<&'a ScenarioWatcher>,
}

/// Runs `app` in this terminal until the learner quits.
pub fn run(
    app: &mut App,
    sources: EventSources<'_>,
    on_start: OnScenarioStart<'_>,
) -> io::Result<()> {
    install_panic_restore();
    let mut terminal = enter()?;
    let result = event_loop(app, sources, on_start, &mut terminal);
    let restored = leave();
    result.and(restored)
}

fn event_loop(
    app: &mut App,
    sources: EventSources<'_>,
    on_start: OnScenarioStart<'_>,
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
) -> io::Result<()> {
    let size = terminal.size()?;
    app.handle_event(AppEvent::Terminal(event::Event::Resize(
        size.width,
        size.height,
    )));
    let mut last_tick = Instant::now();
    loop {
        terminal.draw(|frame| app.render(frame))?;
        if event::poll(POLL)? {
            match app.handle_event(AppEvent::Terminal(event::read()?)) {
                Flow::Quit => return Ok(()),
                Flow::ScenarioStarted { scenario } => on_start(app, &scenario),
                Flow::Continue => {}
            }
        }
        drain(app, sources.session);
        if let Some(watcher) = sources.watcher {
            apply_reloads(app, watcher, on_start);
        }
        app.poll_pane();
        if last_tick.elapsed() >= TICK {
            app.handle_event(AppEvent::Tick);
            last_tick = Instant::now();
        }
    }
}

fn drain(app: &mut App, events: &mut UnboundedReceiver<SessionEvent>) {
    loop {
        match events.try_recv() {
            Ok(event) => {
                app.handle_event(AppEvent::Session(event));
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
        }
    }
}

/// Hands finished reloads to the App; a reload that changed the engines
/// restarts them through the start hook.
fn apply_reloads(app: &mut App, watcher: &ScenarioWatcher, on_start: OnScenarioStart<'_>) {
    while let Some(event) = watcher.try_next() {
        if let Flow::ScenarioStarted { scenario } = app.handle_event(AppEvent::ScenarioFile(event))
        {
            on_start(app, &scenario);
        }
    }
}

fn enter() -> io::Result<Terminal<CrosstermBackend<Stdout>>> {
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    execute!(
        stdout,
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    )?;
    Terminal::new(CrosstermBackend::new(stdout))
}

/// Puts the terminal back the way the shell expects it.
fn leave() -> io::Result<()> {
    let mut stdout = io::stdout();
    let screen = execute!(
        stdout,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    disable_raw_mode().and(screen)
}

/// Restores the terminal before the panic message prints, so the message is
/// readable and the shell usable.
fn install_panic_restore() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = leave();
        previous(info);
    }));
}
