//! The pane through its key path: keys in, vt100 screen and ratatui
//! buffer out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::registry::CommandRegistry;

fn new_pane(rows: u16, cols: u16) -> ShellPane {
    ShellPane::new(ShellConfig::new(CommandRegistry::new()), rows, cols)
}

fn press(pane: &mut ShellPane, code: KeyCode) -> PaneUpdate {
    pane.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(pane: &mut ShellPane, c: char) -> PaneUpdate {
    pane.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn type_text(pane: &mut ShellPane, text: &str) {
    for c in text.chars() {
        press(pane, KeyCode::Char(c));
    }
}

/// Types a line, presses Enter and waits until the line has finished.
async fn run_typed(pane: &mut ShellPane, line: &str) -> PaneUpdate {
    type_text(pane, line);
    let mut update = press(pane, KeyCode::Enter);
    while pane.is_running() {
        update = pane.next_update().await;
    }
    update
}

/// The screen's rows (wrapped rows apart), without trailing blanks.
fn screen_lines(pane: &ShellPane) -> Vec<String> {
    let cols = pane.screen().size().1.get();
    let mut rows: Vec<String> = pane
        .screen()
        .rows(0, cols)
        .map(|r| r.trim_end().to_owned())
        .collect();
    while rows.last().is_some_and(String::is_empty) {
        rows.pop();
    }
    rows
}

fn draw(pane: &ShellPane, rows: u16, cols: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    terminal
        .draw(|frame| frame.render_widget(pane, frame.area()))
        .unwrap();
    terminal
}

#[tokio::test]
async fn typed_pipeline_prints_its_result() {
    let mut pane = new_pane(6, 60);
    run_typed(&mut pane, "echo hello world | grep -c hello").await;
    assert_eq!(
        screen_lines(&pane),
        [
            "thmuser@lab:~$ echo hello world | grep -c hello",
            "1",
            "thmuser@lab:~$"
        ]
    );
}

#[tokio::test]
async fn long_lines_wrap_and_edit_in_place() {
    let mut pane = new_pane(6, 20);
    type_text(&mut pane, "echo abcdefghijklmnop");
    for _ in 0..10 {
        press(&mut pane, KeyCode::Left);
    }
    press(&mut pane, KeyCode::Backspace);
    assert_eq!(pane.screen().cursor_position(), (1, 5));
    type_text(&mut pane, "X");
    press(&mut pane, KeyCode::Enter);
    while pane.is_running() {
        pane.next_update().await;
    }
    assert_eq!(
        screen_lines(&pane),
        [
            "thmuser@lab:~$ echo",
            "abcdeXghijklmnop",
            "abcdeXghijklmnop",
            "thmuser@lab:~$"
        ]
    );
}

#[tokio::test]
async fn ctrl_c_abandons_the_line_and_ctrl_d_leaves() {
    let mut pane = new_pane(4, 30);
    type_text(&mut pane, "ls");
    ctrl(&mut pane, 'c');
    assert_eq!(
        screen_lines(&pane),
        ["thmuser@lab:~$ ls^C", "thmuser@lab:~$"]
    );
    assert_eq!(ctrl(&mut pane, 'd'), PaneUpdate::Leave);
}

#[tokio::test]
async fn ctrl_c_stops_a_running_command() {
    let mut pane = new_pane(4, 30);
    type_text(&mut pane, "sleep 30");
    press(&mut pane, KeyCode::Enter);
    assert!(pane.is_running());
    ctrl(&mut pane, 'c');
    while pane.is_running() {
        pane.next_update().await;
    }
    assert_eq!(pane.shell_mut().unwrap().last_status(), 130);
    assert_eq!(
        screen_lines(&pane),
        ["thmuser@lab:~$ sleep 30", "^C", "thmuser@lab:~$"]
    );
}

#[tokio::test]
async fn exit_leaves_and_keeps_the_shell() {
    let mut pane = new_pane(4, 30);
    assert_eq!(run_typed(&mut pane, "exit").await, PaneUpdate::Leave);
    assert_eq!(pane.shell_mut().unwrap().exit_requested(), None);
}

#[tokio::test]
async fn history_recall_through_keys() {
    let mut pane = new_pane(8, 40);
    run_typed(&mut pane, "echo one").await;
    press(&mut pane, KeyCode::Up);
    ctrl(&mut pane, 'w');
    type_text(&mut pane, "two");
    run_typed(&mut pane, "").await;
    assert_eq!(screen_lines(&pane)[3], "two");
}

#[tokio::test]
async fn colour_output_snapshot() {
    let mut pane = new_pane(5, 32);
    run_typed(&mut pane, r"echo -e '\e[31mred\e[0m \e[1;32mgreen\e[0m'").await;
    let terminal = draw(&pane, 5, 32);
    insta::assert_debug_snapshot!(terminal.backend().buffer());
}

#[tokio::test]
async fn completion_menu_snapshot() {
    let mut pane = new_pane(10, 40);
    type_text(&mut pane, "h");
    press(&mut pane, KeyCode::Tab);
    press(&mut pane, KeyCode::Tab);
    let terminal = draw(&pane, 10, 40);
    insta::assert_snapshot!(terminal.backend());
    press(&mut pane, KeyCode::Enter);
    assert_eq!(screen_lines(&pane), ["thmuser@lab:~$ help"]);
}

#[tokio::test]
async fn single_candidate_completes_in_place() {
    let mut pane = new_pane(4, 40);
    type_text(&mut pane, "ech");
    press(&mut pane, KeyCode::Tab);
    type_text(&mut pane, "$HOM");
    press(&mut pane, KeyCode::Tab);
    assert_eq!(screen_lines(&pane), ["thmuser@lab:~$ echo $HOME"]);
}

#[tokio::test]
async fn scrollback_snapshot() {
    let mut pane = new_pane(6, 30);
    run_typed(&mut pane, "echo -e 'l1\\nl2\\nl3\\nl4\\nl5\\nl6\\nl7\\nl8'").await;
    press(&mut pane, KeyCode::PageUp);
    let terminal = draw(&pane, 6, 30);
    insta::assert_snapshot!(terminal.backend());
    press(&mut pane, KeyCode::PageDown);
    assert_eq!(pane.view.scrolled_back(), 0);
}

#[tokio::test]
async fn clear_empties_the_screen_and_the_scrollback() {
    let mut pane = new_pane(4, 30);
    run_typed(&mut pane, "help").await;
    run_typed(&mut pane, "clear").await;
    assert_eq!(screen_lines(&pane), ["thmuser@lab:~$"]);
    assert_eq!(pane.view.scrollback_len(), 0);
}

#[tokio::test]
async fn resize_redraws_the_line() {
    let mut pane = new_pane(4, 30);
    type_text(&mut pane, "echo abc");
    pane.resize(5, 12);
    assert_eq!(screen_lines(&pane), ["thmuser@lab:", "~$ echo abc"]);
    assert_eq!(pane.screen().cursor_position(), (1, 11));
}

#[tokio::test]
async fn a_flood_of_output_ends_with_a_prompt() {
    let mut pane = new_pane(5, 40);
    let line = "x".repeat(99) + "\n";
    let big = line.repeat(10_000);
    let shell = pane.shell_mut().unwrap();
    shell
        .scratch()
        .write_file("/tmp/big", big.as_bytes(), false)
        .unwrap();
    run_typed(&mut pane, "cat /tmp/big").await;
    assert_eq!(screen_lines(&pane).last().unwrap(), "thmuser@lab:~$");
}

/// A test-only console: prints the typed bytes' values until detached.
struct Console;

#[async_trait::async_trait]
impl lab_engine_api::ShellCommand for Console {
    fn name(&self) -> &str {
        "console"
    }
    fn summary(&self) -> &str {
        "echo typed bytes (test only)"
    }
    fn help(&self, _topic: &[String]) -> String {
        String::new()
    }
    async fn run(&self, mut inv: lab_engine_api::Invocation<'_>) -> i32 {
        let Some(keys) = inv.keys.as_mut() else {
            return 1;
        };
        while let Some(bytes) = keys.recv().await {
            let _ = inv.stdout.write(format!("{bytes:?}")).await;
        }
        let _ = inv.stdout.line(" detached").await;
        0
    }
}

#[tokio::test]
async fn attached_console_gets_keys_and_ctrl_bracket_detaches() {
    let mut registry = CommandRegistry::new();
    registry.register(std::sync::Arc::new(Console));
    let mut pane = ShellPane::new(ShellConfig::new(registry), 5, 60);
    type_text(&mut pane, "console");
    press(&mut pane, KeyCode::Enter);
    while !pane
        .running
        .as_ref()
        .unwrap()
        .attached
        .load(Ordering::SeqCst)
    {
        tokio::task::yield_now().await;
    }
    type_text(&mut pane, "a");
    ctrl(&mut pane, 'c');
    ctrl(&mut pane, ']');
    while pane.is_running() {
        pane.next_update().await;
    }
    assert_eq!(
        screen_lines(&pane),
        [
            "thmuser@lab:~$ console",
            "[97][3] detached",
            "thmuser@lab:~$"
        ]
    );
    assert_eq!(pane.shell_mut().unwrap().last_status(), 0);
}

#[tokio::test]
async fn commands_registered_during_a_line_arrive_at_the_next_prompt() {
    let mut pane = new_pane(4, 40);
    type_text(&mut pane, "sleep 0.2");
    press(&mut pane, KeyCode::Enter);
    pane.register(std::sync::Arc::new(Console));
    assert!(pane.is_running());
    while pane.is_running() {
        pane.next_update().await;
    }
    assert!(
        pane.shell_mut()
            .unwrap()
            .registry()
            .get("console")
            .is_some()
    );
}
