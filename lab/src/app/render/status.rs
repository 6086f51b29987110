//! The tab bar of the narrow layout, and the status area at the bottom:
//! a progress bar with points, then key hints or the latest notice.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph, Tabs};

use crate::app::{App, Focus};

pub fn tabs(app: &App, area: Rect, frame: &mut Frame) {
    let titles = Focus::ORDER.iter().map(|f| f.title());
    let selected = Focus::ORDER.iter().position(|f| *f == app.focus());
    let tabs = Tabs::new(titles)
        .select(selected)
        .highlight_style(app.theme.selected())
        .divider("│");
    frame.render_widget(tabs, area);
}

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let [progress, keys] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    if let Some(run) = app.run() {
        let total = run.tasks.len().max(1);
        let done = run.tasks_done();
        let ratio = f64::from(u32::try_from(done).unwrap_or(0))
            / f64::from(u32::try_from(total).unwrap_or(1));
        let label = format!(
            "{}/{} tasks · {}/{} points ",
            done,
            run.tasks.len(),
            run.points(),
            run.total_points()
        );
        let gauge = LineGauge::default()
            .ratio(ratio.clamp(0.0, 1.0))
            .label(label)
            .filled_style(app.theme.good())
            .unfilled_style(app.theme.muted());
        let live = live_status(app);
        let width = u16::try_from(live.width()).unwrap_or(u16::MAX);
        let [gauge_area, live_area] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(width)]).areas(progress);
        frame.render_widget(gauge, gauge_area);
        frame.render_widget(Paragraph::new(live), live_area);
    }
    let engines = engine_line(app);
    let width = u16::try_from(engines.width()).unwrap_or(u16::MAX);
    let [hints, states] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(width)]).areas(keys);
    frame.render_widget(key_hints(app), hints);
    frame.render_widget(Paragraph::new(engines), states);
}

fn key_hints(app: &App) -> Paragraph<'static> {
    if let Some(notice) = &app.notice {
        let style = match notice.problem {
            true => app.theme.bad(),
            false => app.theme.accent(),
        };
        return Paragraph::new(Line::styled(notice.text.clone(), style));
    }
    let text = match (app.run().is_some(), app.focus()) {
        (false, _) => "↑↓ choose · Enter start · ? help · q quit",
        (true, Focus::Questions) => {
            "Enter submit · ↑↓ question · F2 hint · Tab next pane · F1 help"
        }
        (true, Focus::Terminal) => "Shift-Tab leave the terminal · F1 help",
        (true, _) => "Tab pane · ↑↓ PgUp PgDn scroll · n/p task · h hint · ? help · q quit",
    };
    Paragraph::new(Line::styled(text, app.theme.muted())).style(Style::new())
}

/// The engines this session has heard from: `docker ✓ cluster ✗`.
fn engine_line(app: &App) -> Line<'static> {
    let mut spans = Vec::new();
    for status in app.engines.values() {
        let (mark, style) = if status.is_ready() {
            ("✓", app.theme.good())
        } else {
            ("✗", app.theme.bad())
        };
        spans.push(Span::raw(format!(" {} ", status.kind)));
        spans.push(Span::styled(mark, style));
    }
    Line::from(spans)
}

/// The live line of a running engine (the VM's exit counters), if any.
fn live_status(app: &App) -> Line<'static> {
    match app.live_status() {
        Some(text) => Line::styled(format!(" {text} "), app.theme.muted()),
        None => Line::default(),
    }
}
