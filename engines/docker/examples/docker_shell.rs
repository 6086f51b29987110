//! Runs one lab shell `docker` (or `curl`) command line in a throwaway
//! session and prints what the student would see:
//! `cargo run -p lab-docker --example docker_shell -- docker run -d -p 5000:5000 cryillic/thm_example_app ; curl localhost:5000 ; docker ps`.
//! Command lines are separated by `;`; the session is removed at the end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use lab_docker::{
    ContainerLimits, CurlCommand, DockerCommand, DockerEngine, DockerSession, ImageCatalog, PortMap,
};
use lab_engine_api::{CommandOutput, Invocation, ScratchFiles, ShellCommand};
use tokio_util::sync::CancellationToken;

struct NoFiles;

impl ScratchFiles for NoFiles {
    fn read(&self, _path: &str) -> Option<Vec<u8>> {
        None
    }
}

#[tokio::main]
async fn main() {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let id = format!("example-{}", std::process::id());
    let session = Arc::new(
        DockerSession::new(
            &id,
            Arc::new(DockerEngine::new()),
            Arc::new(ImageCatalog::embedded()),
            Arc::new(PortMap::default()),
            ContainerLimits::default(),
        )
        .unwrap(),
    );
    let docker = DockerCommand::new(session.clone());
    let curl = CurlCommand::new(session.clone());
    for line in words.split(|w| w == ";") {
        let Some((name, args)) = line.split_first() else {
            continue;
        };
        let command: &dyn ShellCommand = if name == "curl" { &curl } else { &docker };
        println!("$ {}", line.join(" "));
        let status = run(command, args).await;
        println!("[exit {status}]");
    }
    let _ = session.shutdown().await;
}

async fn run(command: &dyn ShellCommand, args: &[String]) -> i32 {
    let (stdout, mut out) = CommandOutput::channel(64);
    let (stderr, mut err) = CommandOutput::channel(64);
    let printer = tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(bytes) = out.recv() => { std::io::stdout().write_all(&bytes).unwrap(); }
                Some(bytes) = err.recv() => { std::io::stdout().write_all(&bytes).unwrap(); }
                else => break,
            }
        }
    });
    let env = BTreeMap::new();
    let invocation = Invocation {
        args,
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
    let _ = printer.await;
    status
}
