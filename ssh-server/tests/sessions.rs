//! Logging in and using sessions with a real SSH client library (russh).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use lab_ssh::Limits;
use russh::ChannelMsg;
use russh::keys::{Algorithm, PrivateKey};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_log_in_shows_first_frame_and_typing_updates_it() {
    let server = TestServer::start(Limits::default()).await;
    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;

    terminal.wait_for("user=thmuser others=0 size=80x24").await;
    terminal.send(b"hello").await;
    terminal.wait_for("typed:[hello]").await;
    terminal.send(b"\x7f!").await;
    terminal.wait_for("typed:[hell!]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_rejected() {
    let server = TestServer::start(Limits::default()).await;
    let mut handle = connect(server.addr).await;
    let result = handle.authenticate_password(USER, "guess").await.unwrap();
    assert!(!result.success());
    let result = handle
        .authenticate_password("root", PASSWORD)
        .await
        .unwrap();
    assert!(!result.success());
    assert_eq!(server.stats.opened.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_failure_closes_the_connection() {
    let limits = Limits {
        failed_auth_delay: Duration::from_millis(50),
        ..Limits::default()
    };
    let server = TestServer::start(limits).await;
    let mut handle = connect(server.addr).await;
    for _ in 0..2 {
        assert!(
            !handle
                .authenticate_password(USER, "guess")
                .await
                .unwrap()
                .success()
        );
    }
    let third = handle.authenticate_password(USER, "guess").await;
    assert!(third.is_err() || !third.unwrap().success());
    let fourth = handle.authenticate_password(USER, PASSWORD).await;
    assert!(
        fourth.is_err(),
        "connection should be closed after 3 failures"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_is_refused_after_too_many_failures() {
    let limits = Limits {
        failed_auth_delay: Duration::from_millis(10),
        max_auth_failures_per_address: 2,
        ..Limits::default()
    };
    let server = TestServer::start(limits).await;
    let mut handle = connect(server.addr).await;
    for _ in 0..2 {
        assert!(
            !handle
                .authenticate_password(USER, "guess")
                .await
                .unwrap()
                .success()
        );
    }

    let config = std::sync::Arc::new(russh::client::Config::default());
    let refused = russh::client::connect(config, server.addr, TrustingClient).await;
    assert!(
        refused.is_err(),
        "a blocked address must not get an SSH session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_key_log_in_with_users_file() {
    let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).unwrap();
    let other = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).unwrap();
    let public = key.public_key().to_openssh().unwrap();
    let server = TestServer::start_with_users(Limits::default(), |dir| {
        let path = dir.join("users.toml");
        lab_ssh::users::add_user(&path, "alice", None, &[public]).unwrap();
        Some(path)
    })
    .await;

    let (_rejected, ok) = login_with_key(server.addr, "alice", other).await;
    assert!(!ok, "an unknown key must be rejected");
    let (handle, ok) = login_with_key(server.addr, "alice", key).await;
    assert!(ok, "the authorized key must be accepted");
    let mut terminal = ClientTerminal::open(&handle, 60, 10).await;
    terminal.wait_for("user=alice").await;

    // With a users file the default password no longer works.
    let mut other_connection = connect(server.addr).await;
    let default = other_connection
        .authenticate_password(USER, PASSWORD)
        .await
        .unwrap();
    assert!(!default.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_redraws_at_the_new_size() {
    let server = TestServer::start(Limits::default()).await;
    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.wait_for("size=80x24").await;

    terminal.resize(100, 30).await;
    terminal.wait_for("size=100x30").await;
    terminal.resize(40, 10).await;
    terminal.wait_for("size=40x10").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_paste_and_mouse_reach_the_session_as_crossterm_events() {
    use crossterm::event::{Event, KeyCode, MouseEventKind};
    let server = TestServer::start(Limits::default()).await;
    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.wait_for("typed:[]").await;

    terminal
        .send(b"\x1b[A\x1b[15~\x1bx\x1b[200~pasted\x1b[201~\x1b[<64;5;5M")
        .await;
    terminal.wait_for("typed:[xpasted]").await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let events = server.stats.events.lock().unwrap().clone();
    let has_key = |code: KeyCode| {
        events
            .iter()
            .any(|e| matches!(e, Event::Key(k) if k.code == code))
    };
    assert!(has_key(KeyCode::Up) && has_key(KeyCode::F(5)), "{events:?}");
    assert!(
        events.contains(&Event::Paste("pasted".into())),
        "{events:?}"
    );
    let wheel = events
        .iter()
        .any(|e| matches!(e, Event::Mouse(m) if m.kind == MouseEventKind::ScrollUp));
    assert!(wheel, "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_start_enables_mouse_and_paste_and_exit_restores_them() {
    let server = TestServer::start(Limits::default()).await;
    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.send(b"\x1b[21~").await; // F10: the echo app quits
    let raw = String::from_utf8_lossy(&terminal.read_to_close().await).into_owned();

    for setup in ["\x1b[?1049h", "\x1b[?1006h", "\x1b[?2004h"] {
        assert!(raw.contains(setup), "missing {setup:?}");
    }
    let restore_at = raw.rfind("\x1b[?1049l").expect("alternate screen left");
    assert!(raw[..restore_at].contains("\x1b[?2004l") && raw[..restore_at].contains("\x1b[?1000l"));
    server.wait_closed(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_calls_close_and_reconnect_gets_a_fresh_session() {
    let server = TestServer::start(Limits::default()).await;
    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.send(b"abc").await;
    terminal.wait_for("typed:[abc]").await;
    disconnect(handle).await;
    server.wait_closed(1).await;

    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.wait_for("others=0").await;
    terminal.wait_for("typed:[]").await;
    assert_eq!(server.stats.opened.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_logins_of_one_user_both_work_and_the_second_is_told() {
    let server = TestServer::start(Limits::default()).await;
    let first = login(server.addr).await;
    let mut one = ClientTerminal::open(&first, 80, 24).await;
    one.wait_for("others=0").await;
    let second = login(server.addr).await;
    let mut two = ClientTerminal::open(&second, 80, 24).await;
    two.wait_for("others=1").await;

    one.send(b"1").await;
    two.send(b"2").await;
    one.wait_for("typed:[1]").await;
    two.wait_for("typed:[2]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_without_pty_gets_an_explanation_and_a_clean_close() {
    let server = TestServer::start(Limits::default()).await;
    let handle = login(server.addr).await;

    let mut channel = handle.channel_open_session().await.unwrap();
    channel.exec(true, "ls").await.unwrap();
    let (text, status) = read_until_close(&mut channel).await;
    assert!(text.contains("needs a terminal"), "{text}");
    assert_eq!(status, Some(1));

    let mut channel = handle.channel_open_session().await.unwrap();
    channel.request_shell(true).await.unwrap();
    let (text, _) = read_until_close(&mut channel).await;
    assert!(text.contains("needs a terminal"), "{text}");
    assert_eq!(server.stats.opened.load(Ordering::SeqCst), 0);
}

async fn read_until_close(
    channel: &mut russh::Channel<russh::client::Msg>,
) -> (String, Option<u32>) {
    let (mut text, mut status) = (String::new(), None);
    loop {
        match tokio::time::timeout(Duration::from_secs(10), channel.wait())
            .await
            .unwrap()
        {
            Some(ChannelMsg::Data { data }) => text.push_str(&String::from_utf8_lossy(&data)),
            Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(exit_status),
            Some(ChannelMsg::Close) | None => return (text, status),
            Some(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cap_turns_away_the_extra_session() {
    let limits = Limits {
        max_sessions: 1,
        ..Limits::default()
    };
    let server = TestServer::start(limits).await;
    let first = login(server.addr).await;
    let mut one = ClientTerminal::open(&first, 80, 24).await;
    one.wait_for("others=0").await;

    let second = login(server.addr).await;
    let mut two = ClientTerminal::open(&second, 80, 24).await;
    two.read_to_close().await;
    assert!(two.text().contains("server is full"), "{}", two.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_session_is_closed_and_close_is_called() {
    let limits = Limits {
        idle_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let server = TestServer::start(limits).await;
    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.read_to_close().await;
    assert!(
        terminal.text().contains("without input"),
        "{}",
        terminal.text()
    );
    server.wait_closed(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_grace_time_closes_silent_connections() {
    let limits = Limits {
        login_grace: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = TestServer::start(limits).await;
    let handle = connect(server.addr).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        handle.is_closed(),
        "an unauthenticated connection outlived the grace time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_shutdown_closes_sessions_cleanly() {
    let server = TestServer::start(Limits::default()).await;
    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.wait_for("typed:[]").await;

    server.shutdown.cancel();
    terminal.read_to_close().await;
    assert!(
        terminal.text().contains("shutting down"),
        "{}",
        terminal.text()
    );
    server.wait_closed(1).await;
    let finished = tokio::time::timeout(Duration::from_secs(15), server.task).await;
    assert!(matches!(finished, Ok(Ok(Ok(())))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_stops_reading_gets_the_latest_frame_when_it_resumes() {
    let server = TestServer::start(Limits::default()).await;
    // A small window makes the server run out of send credit quickly.
    let config = russh::client::Config {
        window_size: 2048,
        ..Default::default()
    };
    let mut handle = connect_with(server.addr, config).await;
    assert!(
        handle
            .authenticate_password(USER, PASSWORD)
            .await
            .unwrap()
            .success()
    );
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.wait_for("typed:[]").await;

    // Type without reading anything back.
    let keystrokes = 1000;
    for i in 0..keystrokes {
        terminal.send(&[b'a' + u8::try_from(i % 26).unwrap()]).await;
    }
    terminal.send(b"END").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let renders_while_stalled = server.stats.renders.load(Ordering::SeqCst);

    eprintln!("renders while stalled: {renders_while_stalled} for {keystrokes} keystrokes");
    terminal.wait_for("END]").await;
    assert!(
        renders_while_stalled < keystrokes / 2,
        "frames should be coalesced while the client is not reading, got {renders_while_stalled}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_ticked_while_the_student_is_idle() {
    let server = TestServer::start(Limits::default()).await;
    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.wait_for("typed:[]").await;
    tokio::time::sleep(lab_ssh::TICK_INTERVAL * 3 + Duration::from_millis(300)).await;
    let ticks = server.stats.ticks.load(Ordering::SeqCst);
    assert!(
        (2..=4).contains(&ticks),
        "expected about 3 ticks, got {ticks}"
    );
}
