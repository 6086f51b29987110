//! Malformed and random input, before and after log-in, never stops the
//! server from serving other sessions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use lab_ssh::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
struct Noise(u64);

impl Noise {
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0.to_le_bytes()[0]
            })
            .collect()
    }
}

/// Sends `bytes` on a fresh TCP connection and waits (bounded) for the
/// server to close it.
async fn send_raw(addr: SocketAddr, bytes: Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(&bytes).await;
    let mut sink = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(_) => panic!("server kept a garbage connection open"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_before_log_in_does_not_disturb_a_live_session() {
    let limits = Limits {
        login_grace: Duration::from_secs(5),
        ..Limits::default()
    };
    let server = TestServer::start(limits).await;
    let handle = login(server.addr).await;
    let mut live = ClientTerminal::open(&handle, 80, 24).await;
    live.wait_for("typed:[]").await;

    let mut noise = Noise(0x1234_5678_9abc_def1);
    let mut attacks: Vec<Vec<u8>> = (0..20).map(|i| noise.bytes(16 + i * 97)).collect();
    attacks.push(
        b"SSH-2.0-fuzz\r\n"
            .iter()
            .copied()
            .chain(noise.bytes(3000))
            .collect(),
    );
    attacks.push(b"SSH-2.0-fuzz\r\n\x00\x00\x00\x0c\x0a\x14".to_vec());
    attacks.push(b"SSH-2.0-fuzz\r\n\xff\xff\xff\xff\x00".to_vec());
    attacks.push(vec![b'A'; 300_000]);
    attacks.push(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
    let tasks: Vec<_> = attacks
        .into_iter()
        .map(|bytes| tokio::spawn(send_raw(server.addr, bytes)))
        .collect();
    for task in tasks {
        task.await.unwrap();
    }

    live.send(b"still here").await;
    live.wait_for("typed:[still here]").await;
    let fresh = login(server.addr).await;
    let mut second = ClientTerminal::open(&fresh, 80, 24).await;
    second.wait_for("others=1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_input_bytes_after_log_in_keep_the_session_working() {
    let server = TestServer::start(Limits::default()).await;
    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.wait_for("typed:[]").await;

    let mut noise = Noise(0xdead_beef_cafe_f00d);
    for round in 0..200 {
        terminal.send(&noise.bytes(1 + round % 300)).await;
    }
    // Close any half-open paste or escape sequence, then type something.
    terminal.send(b"\x1b[201~\x1b\x1b").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    terminal.send(b"\x0cok").await; // Ctrl-L clears the echo line
    terminal.wait_for("typed:[ok]").await;
}

/// A proxy that forwards a client's connection and, once told, injects
/// random bytes into the encrypted stream towards the server.
async fn corrupting_proxy(server: SocketAddr) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (corrupt, corrupt_now) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let upstream = TcpStream::connect(server).await.unwrap();
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = upstream.into_split();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        });
        let forward = async {
            let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        };
        tokio::select! {
            () = forward => {}
            _ = corrupt_now => {
                let mut noise = Noise(42);
                let _ = server_write.write_all(&noise.bytes(5000)).await;
            }
        }
    });
    (addr, corrupt)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_stream_after_log_in_ends_only_that_session() {
    let server = TestServer::start(Limits::default()).await;
    let bystander = login(server.addr).await;
    let mut safe = ClientTerminal::open(&bystander, 80, 24).await;
    safe.wait_for("typed:[]").await;

    let (proxy, corrupt) = corrupting_proxy(server.addr).await;
    let victim = login(proxy).await;
    let mut broken = ClientTerminal::open(&victim, 80, 24).await;
    broken.wait_for("others=1").await;
    corrupt.send(()).unwrap();

    server.wait_closed(1).await;
    assert_eq!(server.stats.closed.load(Ordering::SeqCst), 1);
    safe.send(b"fine").await;
    safe.wait_for("typed:[fine]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_connection_cap_refuses_extras_and_recovers() {
    let limits = Limits {
        max_unauthenticated: 3,
        ..Limits::default()
    };
    let server = TestServer::start(limits).await;

    let idle: Vec<ClientHandle> = futures_join(server.addr, 3).await;
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), extra.read(&mut buffer)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the fourth connection should be dropped"
    );

    drop(idle);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let handle = login(server.addr).await;
    let mut terminal = ClientTerminal::open(&handle, 80, 24).await;
    terminal.wait_for("others=0").await;
}

async fn futures_join(addr: SocketAddr, count: usize) -> Vec<ClientHandle> {
    let mut handles = Vec::new();
    for _ in 0..count {
        handles.push(connect(addr).await);
    }
    handles
}
