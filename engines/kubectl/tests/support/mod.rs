//! Shared harness: an embedded cluster seeded with the first scenario's
//! manifests, the real `kubectl` pointed at it, and the lab's
//! [`KubectlCommand`] run the way the lab shell runs it.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lab_cluster::{ClusterConfig, EmbeddedCluster};
use lab_engine_api::{CommandOutput, Invocation, ScratchFiles, ShellCommand};
use lab_kubectl::KubectlCommand;
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// The image the scenario's deployment runs, built locally by lab-docker.
pub const SCENARIO_IMAGE: &str = "hello-tryhackme:latest";

/// What one run printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A cluster with the scenario's deployment and service, and both clients.
pub struct ScenarioCluster {
    pub cluster: EmbeddedCluster,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub lab: KubectlCommand,
}

/// Scratch files backed by a directory (what `>` wrote in the lab shell).
pub struct DirFiles(pub PathBuf);

impl ScratchFiles for DirFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        std::fs::read(self.0.join(path)).ok()
    }
}

/// Whether the Docker engine answers and has the scenario's image; says why
/// not when it does not.
pub async fn scenario_runtime_available() -> bool {
    let image = Command::new("docker")
        .args(["image", "inspect", SCENARIO_IMAGE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    let available = image.is_ok_and(|s| s.success());
    if !available {
        eprintln!(
            "SKIPPED: the Docker engine does not answer or has no {SCENARIO_IMAGE} \
             (lab-docker builds it), so the scenario's pod cannot run here"
        );
    }
    available
}

fn scenario_manifests() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../content/cluster/virtualization-and-containers");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

impl ScenarioCluster {
    /// Starts a cluster, applies the scenario's manifests and waits until
    /// its pod runs.
    pub async fn start() -> ScenarioCluster {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let session = format!(
            "kubectl-t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let cluster = EmbeddedCluster::start(ClusterConfig::for_session(session))
            .await
            .unwrap();
        let manifests = scenario_manifests();
        let texts: Vec<&str> = manifests.iter().map(String::as_str).collect();
        cluster.apply_manifests(&texts).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        let lab = KubectlCommand::from_kubeconfig_yaml(&cluster.kubeconfig_yaml())
            .await
            .unwrap();
        let started = ScenarioCluster {
            cluster,
            dir,
            kubeconfig,
            lab,
        };
        started.wait_until_running().await;
        started
    }

    async fn wait_until_running(&self) {
        for _ in 0..150 {
            let pods = self.real(&["get", "pods", "--no-headers"]).await;
            if pods.stdout.contains("1/1") && pods.stdout.contains("Running") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the scenario's pod never became ready");
    }

    /// Runs the real `kubectl` against this cluster.
    pub async fn real(&self, args: &[&str]) -> Run {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output()
            .await
            .expect("kubectl is installed");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs the lab's `kubectl` as the lab shell would.
    pub async fn lab(&self, args: &[&str]) -> Run {
        run_command(&self.lab, args, self.dir.path()).await
    }

    pub async fn stop(self) {
        self.cluster.shutdown().await;
    }
}

/// Runs a shell command with its output collected.
pub async fn run_command(command: &dyn ShellCommand, args: &[&str], dir: &Path) -> Run {
    run_until(command, args, dir, CancellationToken::new()).await
}

/// Runs a shell command that `cancel` interrupts (Ctrl-C).
pub async fn run_until(
    command: &dyn ShellCommand,
    args: &[&str],
    dir: &Path,
    cancel: CancellationToken,
) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (stdout, out_rx) = CommandOutput::channel(64);
    let (stderr, err_rx) = CommandOutput::channel(64);
    let out_task = tokio::spawn(collect(out_rx));
    let err_task = tokio::spawn(collect(err_rx));
    let env = BTreeMap::new();
    let files = DirFiles(dir.to_path_buf());
    let code = command
        .run(Invocation {
            args: &args,
            stdin: None,
            stdout,
            stderr,
            env: &env,
            files: &files,
            cancel,
            keys: None,
            columns: 200,
        })
        .await;
    Run {
        code,
        stdout: out_task.await.unwrap(),
        stderr: err_task.await.unwrap(),
    }
}

async fn collect(mut rx: tokio::sync::mpsc::Receiver<Vec<u8>>) -> String {
    let mut bytes = Vec::new();
    while let Some(chunk) = rx.recv().await {
        bytes.extend(chunk);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
