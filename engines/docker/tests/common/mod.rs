//! Helpers shared by the tests that talk to the real dockerd.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use lab_docker::{ContainerLimits, DockerEngine, DockerSession, ImageCatalog, PortMap};
use lab_engine_api::{CommandOutput, Invocation, ScratchFiles, ShellCommand};
use tokio_util::sync::CancellationToken;

pub struct NoFiles;

impl ScratchFiles for NoFiles {
    fn read(&self, _path: &str) -> Option<Vec<u8>> {
        None
    }
}

/// What a command printed and its exit status.
pub struct Ran {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a shell command with the given words, collecting its output.
pub async fn run(command: &dyn ShellCommand, line: &str) -> Ran {
    run_with_env(command, line, BTreeMap::new()).await
}

/// Runs a shell command with the shell's exported variables set to `env`.
pub async fn run_with_env(
    command: &dyn ShellCommand,
    line: &str,
    env: BTreeMap<String, String>,
) -> Ran {
    let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    let (stdout, mut out_rx) = CommandOutput::channel(1024);
    let (stderr, mut err_rx) = CommandOutput::channel(1024);
    let invocation = Invocation {
        args: &args,
        stdin: None,
        stdout,
        stderr,
        env: &env,
        files: &NoFiles,
        cancel: CancellationToken::new(),
        keys: None,
        columns: 120,
    };
    let status = command.run(invocation).await;
    let mut out = Vec::new();
    while let Ok(bytes) = out_rx.try_recv() {
        out.extend(bytes);
    }
    let mut err = Vec::new();
    while let Ok(bytes) = err_rx.try_recv() {
        err.extend(bytes);
    }
    Ran {
        status,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// The port map every test session of this process shares.
pub fn ports() -> Arc<PortMap> {
    static PORTS: OnceLock<Arc<PortMap>> = OnceLock::new();
    PORTS.get_or_init(|| Arc::new(PortMap::default())).clone()
}

/// A new session with a unique id, or `None` (with the reason printed) when
/// no Docker engine answers on this machine.
pub async fn session(prefix: &str) -> Option<Arc<DockerSession>> {
    let engine = Arc::new(DockerEngine::new());
    let status = engine.status().await;
    if !status.is_ready() {
        eprintln!("SKIPPED: no Docker engine answers here ({status:?}); run scripts/setup-host");
        return None;
    }
    let id = format!("{prefix}-{}-{}", std::process::id(), unique());
    let session = DockerSession::new(
        &id,
        engine,
        Arc::new(ImageCatalog::embedded()),
        ports(),
        ContainerLimits::default(),
    )
    .expect("valid session id");
    Some(Arc::new(session))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}
