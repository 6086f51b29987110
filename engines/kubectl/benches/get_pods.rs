//! `kubectl get pods` in the lab shell next to the real `kubectl` on the
//! same embedded cluster (seeded with the first scenario's manifests).
//! Prints the median and mean wall time of each over repeated runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use lab_cluster::{ClusterConfig, EmbeddedCluster};
use lab_engine_api::{CommandOutput, Invocation, ScratchFiles, ShellCommand};
use lab_kubectl::KubectlCommand;
use tokio_util::sync::CancellationToken;

const RUNS: usize = 40;

struct NoFiles;

impl ScratchFiles for NoFiles {
    fn read(&self, _path: &str) -> Option<Vec<u8>> {
        None
    }
}

#[tokio::main]
async fn main() {
    let cluster = match EmbeddedCluster::start(ClusterConfig::for_session("kubectl-bench")).await {
        Ok(cluster) => cluster,
        Err(error) => {
            eprintln!("SKIPPED: cannot start the embedded cluster here: {error}");
            return;
        }
    };
    let content = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../content/cluster/virtualization-and-containers");
    for file in ["deployment.yaml", "service.yaml"] {
        let text = std::fs::read_to_string(content.join(file)).unwrap();
        cluster.apply_manifests(&[&text]).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let lab = KubectlCommand::from_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .unwrap();

    for args in [&["get", "pods"][..], &["get", "pods", "-A"][..]] {
        let line = args.join(" ");
        let lab_times = time_runs(|| run_lab(&lab, args)).await;
        let real_times = time_runs(|| run_real(&kubeconfig, dir.path(), args)).await;
        report(&format!("lab shell kubectl {line}"), &lab_times);
        report(&format!("real kubectl {line}"), &real_times);
    }
    cluster.shutdown().await;
}

async fn time_runs<F, Fut>(mut run: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // One warm-up run fills kubectl's discovery cache and the connection pool.
    run().await;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        run().await;
        times.push(started.elapsed());
    }
    times
}

async fn run_lab(lab: &KubectlCommand, args: &[&str]) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (stdout, mut out_rx) = CommandOutput::channel(64);
    let (stderr, mut err_rx) = CommandOutput::channel(64);
    let drain = tokio::spawn(async move {
        while out_rx.recv().await.is_some() {}
        while err_rx.recv().await.is_some() {}
    });
    let env = BTreeMap::new();
    let code = lab
        .run(Invocation {
            args: &args,
            stdin: None,
            stdout,
            stderr,
            env: &env,
            files: &NoFiles,
            cancel: CancellationToken::new(),
            keys: None,
            columns: 120,
        })
        .await;
    drain.await.unwrap();
    assert_eq!(code, 0);
}

async fn run_real(kubeconfig: &Path, home: &Path, args: &[&str]) {
    let status = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("HOME", home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .expect("kubectl is installed");
    assert!(status.success());
}

fn report(what: &str, times: &[Duration]) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    let total: Duration = sorted.iter().sum();
    let mean = total / u32::try_from(sorted.len()).unwrap();
    println!(
        "{what:<40} median {:>8.2} ms   mean {:>8.2} ms   ({} runs)",
        median.as_secs_f64() * 1000.0,
        mean.as_secs_f64() * 1000.0,
        sorted.len()
    );
}
