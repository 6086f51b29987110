//! Figures for the two costs a learner's key press can pay: drawing a frame
//! and recording an answer durably (WAL, synchronous=FULL: one fsync per
//! commit). Prints averages; asserts nothing.

use std::time::{Duration, Instant, SystemTime};

use lab::app::{App, AppConfig, Theme};
use lab::session::Session;
use lab::store::{Attempt, ProgressStore, lock};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Size;

const FRAMES: u32 = 300;
const WRITES: u32 = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()?;
    let store = ProgressStore::open_in(dir.path())?.shared();
    let (session, _events) = Session::new(runtime.handle().clone(), store.clone(), "bench");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/virtualization-and-containers.yaml");
    let loaded = lab_scenario::load_file(&path).map_err(|d| format!("{d:?}"))?;
    let id = loaded.scenario.id.clone();

    for (width, height) in [(80, 24), (140, 40), (240, 70)] {
        let config = AppConfig {
            user: "bench".into(),
            theme: Theme::from_env(),
            size: Size::new(width, height),
        };
        let mut app = App::new(vec![loaded.clone()], session.clone(), config);
        app.open_scenario(&id)?;
        let per_frame = time_frames(&app, width, height)?;
        println!(
            "render {width}x{height}: {:.3} ms per frame",
            per_frame.as_secs_f64() * 1e3
        );
    }

    let started = Instant::now();
    for n in 0..WRITES {
        lock(&store)?.record_attempt(&Attempt {
            user: "bench".into(),
            scenario: id.clone(),
            task: "t".into(),
            question: format!("q{n}"),
            answer: "answer".into(),
            correct: true,
            points: 1,
            at: SystemTime::now(),
        })?;
    }
    let per_write = started.elapsed() / WRITES;
    println!(
        "record_attempt (WAL, synchronous=FULL): {:.3} ms per answer",
        per_write.as_secs_f64() * 1e3
    );
    Ok(())
}

fn time_frames(app: &App, width: u16, height: u16) -> Result<Duration, Box<dyn std::error::Error>> {
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;
    let started = Instant::now();
    for _ in 0..FRAMES {
        terminal.draw(|frame| app.render(frame))?;
    }
    Ok(started.elapsed() / FRAMES)
}
