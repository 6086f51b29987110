//! Prints how long the lab shell's `docker run -p 5000:5000 -d
//! cryillic/thm_example_app` takes to the first HTTP 200 from the Flask app
//! (image already built), and how long `docker ps` takes through the shell
//! command. Needs a running dockerd:
//! `cargo bench -p lab-docker --bench docker_run`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab_docker::{
    ContainerLimits, DockerCommand, DockerEngine, DockerSession, ImageCatalog, PortMap,
    build_images,
};
use lab_engine_api::{CommandOutput, Invocation, ScratchFiles, ShellCommand};
use tokio_util::sync::CancellationToken;

const RUNS: usize = 5;
const PS_RUNS: usize = 50;

struct NoFiles;

impl ScratchFiles for NoFiles {
    fn read(&self, _path: &str) -> Option<Vec<u8>> {
        None
    }
}

async fn shell(command: &dyn ShellCommand, line: &str) -> (i32, String) {
    let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    let (stdout, mut rx) = CommandOutput::channel(1024);
    let (stderr, _err) = CommandOutput::channel(1024);
    let env = BTreeMap::new();
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
    while let Ok(bytes) = rx.try_recv() {
        out.extend(bytes);
    }
    (status, String::from_utf8_lossy(&out).into_owned())
}

async fn until_http_200(session: &DockerSession) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Some(port) = lab_docker::curl::session_port(session, 5000).await
            && let Ok(response) = lab_docker::curl::fetch("localhost", port, "/", false).await
            && response.status == 200
        {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len().max(1) as f64;
    println!(
        "{label}: n={} min={:.1} ms median={:.1} ms mean={:.1} ms max={:.1} ms",
        samples.len(),
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        mean,
        ms(samples[samples.len() - 1])
    );
}

#[tokio::main]
async fn main() {
    let engine = Arc::new(DockerEngine::new());
    if !engine.status().await.is_ready() {
        eprintln!("docker_run bench skipped: no Docker engine answers (run scripts/setup-host)");
        return;
    }
    let catalog = Arc::new(ImageCatalog::embedded());
    let client = engine.client().await.expect("engine answered");
    build_images(&client, &catalog, |_| {})
        .await
        .expect("images build");

    let mut to_200 = Vec::new();
    let mut run_cmd = Vec::new();
    for round in 0..RUNS {
        let id = format!("bench-{}-{round}", std::process::id());
        let session = Arc::new(
            DockerSession::new(
                &id,
                engine.clone(),
                catalog.clone(),
                Arc::new(PortMap::default()),
                ContainerLimits::default(),
            )
            .expect("valid id"),
        );
        let docker = DockerCommand::new(session.clone());
        let started = Instant::now();
        let (status, _) = shell(&docker, "run -p 5000:5000 -d cryillic/thm_example_app").await;
        assert_eq!(status, 0, "docker run failed");
        run_cmd.push(started.elapsed());
        let waited = until_http_200(&session)
            .await
            .expect("the Flask app answered");
        to_200.push(run_cmd[round] + waited);
        if round == RUNS - 1 {
            let mut ps = Vec::new();
            for _ in 0..PS_RUNS {
                let started = Instant::now();
                let (status, out) = shell(&docker, "ps").await;
                assert!(status == 0 && out.contains("cryillic/thm_example_app"));
                ps.push(started.elapsed());
            }
            summary("docker ps through the ShellCommand", ps);
        }
        session.shutdown().await.expect("cleanup");
    }
    summary("docker run -d (command returns)", run_cmd);
    summary("docker run -> first HTTP 200 from Flask", to_200);
}
