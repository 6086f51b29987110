//! Shared harness for the kubectl tests: an embedded cluster with its
//! kubeconfig in a temporary directory, the real `kubectl` binary, and a
//! tiny test image imported into the local Docker engine.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lab_cluster::{ClusterConfig, EmbeddedCluster};
use tokio::process::Command;

/// The image test pods run: a static busybox, imported by [`ensure_test_image`].
pub const TEST_IMAGE: &str = "lab-cluster-test/busybox:1";

/// A running cluster plus what kubectl needs to reach it.
pub struct TestCluster {
    pub cluster: EmbeddedCluster,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

/// What a kubectl run printed.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl TestCluster {
    pub async fn start() -> TestCluster {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let session = format!(
            "t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let cluster = EmbeddedCluster::start(ClusterConfig::for_session(session))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        TestCluster {
            cluster,
            dir,
            kubeconfig,
        }
    }

    /// Runs `kubectl <args>` against this cluster.
    pub async fn kubectl(&self, args: &[&str]) -> Output {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output()
            .await
            .expect("kubectl is installed");
        Output {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs kubectl and insists it succeeded; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args).await;
        assert!(
            output.success,
            "kubectl {args:?} failed: {}{}",
            output.stdout, output.stderr
        );
        output.stdout
    }

    /// Writes a manifest into the temporary directory and returns its path.
    pub fn manifest(&self, name: &str, yaml: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, yaml).unwrap();
        path.display().to_string()
    }

    /// Polls `kubectl <args>` until its stdout satisfies `done` (20 s at most).
    pub async fn wait_for(&self, args: &[&str], done: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            let output = self.kubectl(args).await;
            if done(&output.stdout) {
                return output.stdout;
            }
            last = format!("{}{}", output.stdout, output.stderr);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("kubectl {args:?} never reached the expected state; last output:\n{last}");
    }

    pub async fn stop(self) {
        self.cluster.shutdown().await;
    }
}

/// Whether the Docker engine answers; prints why not when it does not.
pub async fn docker_available() -> bool {
    let status = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    let available = status.is_ok_and(|s| s.success());
    if !available {
        eprintln!("SKIPPED: the Docker engine does not answer, so pods cannot run here");
    }
    available
}

/// Imports a static busybox as [`TEST_IMAGE`] unless it exists. Returns
/// false (saying why) when the host has no static busybox.
pub async fn ensure_test_image() -> bool {
    let present = Command::new("docker")
        .args(["image", "inspect", TEST_IMAGE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if present {
        return true;
    }
    let busybox = Path::new("/bin/busybox");
    if !busybox.exists() {
        eprintln!("SKIPPED: no static busybox on this host to build the test image from");
        return false;
    }
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(busybox, bin.join("busybox")).unwrap();
    for applet in ["sh", "echo", "sleep", "httpd", "cat", "false", "true"] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    let script = format!(
        "tar -C {} -c . | docker import -c 'CMD [\"/bin/sh\"]' - {TEST_IMAGE}",
        root.path().display()
    );
    let imported = Command::new("sh")
        .args(["-c", &script])
        .output()
        .await
        .unwrap();
    assert!(
        imported.status.success(),
        "docker import failed: {imported:?}"
    );
    true
}

/// A Deployment of the test image that logs a line and serves HTTP on 8080,
/// with a NodePort Service in front.
pub fn web_manifest(name: &str, replicas: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: web
        image: {TEST_IMAGE}
        command: ["sh", "-c", "echo hello from {name}; exec httpd -f -p 8080"]
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  type: NodePort
  selector:
    app: {name}
  ports:
  - port: 8080
    targetPort: 8080
"#
    )
}
