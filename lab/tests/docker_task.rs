//! The first scenario's Docker task end to end, through the App: commands
//! typed into the lab shell pane start a real container on dockerd, the
//! task's `container_running` and `http` checks pass, the task turns done,
//! and ending the session removes the container.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Harness, USER, workspace_scenario};
use crossterm::event::KeyCode;
use lab::app::{AppEvent, Focus};
use lab::engines::{LabEngines, PaneChoice, SessionSlot, scenario_start_hook, shut_down_slot};
use lab::store::lock;
use ratatui::layout::Size;

const SCENARIO: &str = "virtualization-and-containers";
const FLAG: &str = "THM{this_is_running_in_docker}";

fn docker_answers() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Types `line` into the focused pane and waits until its prompt returns
/// (the prompt count grows) or `timeout` passes; returns the screen.
fn run_line(harness: &mut Harness, line: &str, timeout: Duration) -> String {
    let prompts = |screen: &str| screen.matches("ada@lab:~$").count();
    let before = prompts(&harness.screen());
    harness.type_text(line);
    harness.key(KeyCode::Enter);
    let deadline = Instant::now() + timeout;
    loop {
        harness.app.poll_pane();
        let screen = harness.screen();
        if prompts(&screen) > before || Instant::now() > deadline {
            return screen;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn session_containers(session: &str) -> String {
    let out = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=lab.session={session}"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn the_docker_task_completes_through_the_lab_shell() {
    if !docker_answers() {
        eprintln!("skipped: dockerd does not answer (run scripts/setup-host)");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let scenario = lab_scenario::load_file(&workspace_scenario(&format!("{SCENARIO}.yaml")))
        .unwrap_or_else(|problems| panic!("{problems:#?}"));
    let mut harness = Harness::new(vec![scenario], data.path(), Size::new(140, 40));
    {
        // Earlier tasks are done; the learner resumes at the Docker task.
        let store = lock(&harness.store).unwrap();
        for task in [
            "introduction",
            "virtualization",
            "hypervisors",
            "containers",
        ] {
            store.record_task_done(USER, SCENARIO, task).unwrap();
        }
        store.record_position(USER, SCENARIO, "docker").unwrap();
    }
    let slot = SessionSlot::default();
    let mut hook = scenario_start_hook(
        Arc::new(LabEngines::new()),
        Arc::clone(&slot),
        PaneChoice::LabShell,
    );
    harness.app.open_scenario(SCENARIO).unwrap();
    hook(&mut harness.app, SCENARIO);
    let session_id = slot.lock().unwrap().as_ref().unwrap().id().to_owned();
    let docker_task = 4;
    assert_eq!(
        harness.app.run().unwrap().viewed_task().unwrap().id,
        "docker"
    );

    harness.focus(Focus::Terminal);
    let screen = run_line(
        &mut harness,
        "docker run -p 5000:5000 -d cryillic/thm_example_app",
        Duration::from_secs(600),
    );
    assert!(!session_containers(&session_id).is_empty(), "{screen}");
    let mut screen = String::new();
    for _ in 0..30 {
        screen = run_line(&mut harness, "curl localhost:5000", Duration::from_secs(30));
        if screen.contains(FLAG) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(screen.contains(FLAG), "{screen}");

    harness.key(KeyCode::BackTab);
    assert_eq!(harness.app.focus(), Focus::Questions);
    harness.answer(FLAG);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !harness.app.run().unwrap().is_complete(docker_task) && Instant::now() < deadline {
        harness.app.handle_event(AppEvent::Tick);
        harness.settle();
    }
    assert!(
        harness.app.run().unwrap().is_complete(docker_task),
        "{}",
        harness.screen()
    );
    let screen = harness.screen();
    assert!(
        screen.contains("port 5000 → 127.0.0.1:"),
        "the status line shows where port 5000 really listens:\n{screen}"
    );

    shut_down_slot(&slot, harness.runtime.handle());
    assert_eq!(
        session_containers(&session_id),
        "",
        "containers outlived the session"
    );
}
