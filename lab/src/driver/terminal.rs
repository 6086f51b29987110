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

/// How long to wait for a key before looking at background events.
const POLL: Duration = Duration::from_millis(50);
/// How often unfinished hands-on checks run again.
const TICK: Duration = Duration::from_secs(3);

/// Called with the scenario id when the learner opens a scenario.
pub type OnScenarioStart<'a> = &'a mut dyn FnMut(&mut App, &str);

/// Runs `app` in this terminal until the learner quits.
pub fn run(
    app: &mut App,
    events: &mut UnboundedReceiver<SessionEvent>,
    on_start: OnScenarioStart<'_>,
) -> io::Result<()> {
    install_panic_restore();
    let mut terminal = enter()?;
    let result = event_loop(app, events, on_start, &mut terminal);
    let restored = leave();
    result.and(restored)
}

fn event_loop(
    app: &mut App,
    events: &mut UnboundedReceiver<SessionEvent>,
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
        drain(app, events);
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
