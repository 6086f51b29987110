//! `--cluster kubeconfig=PATH`: a session on an external cluster works in
//! the student's own namespace. The lab's embedded cluster stands in for
//! the external one, reached only through the kubeconfig it serves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use lab::engines::{ClusterSource, LabEngines, StoreRecorder};
use lab::session::{Session, SessionEvent};
use lab::store::ProgressStore;
use lab_cluster::{ClusterConfig, EmbeddedCluster};
use lab_engine_api::{CheckOutcome, CheckSpec};
use lab_shell::{Shell, run_script};
use tokio::sync::mpsc::UnboundedReceiver;

const SCENARIO: &str = "virtualization-and-containers";
const DEPLOYMENT: &str = "hello-tryhackme";
const STUDENT: &str = "ada";
const NAMESPACE: &str = "lab-ada";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn check_in_default(absent: bool) -> CheckSpec {
    CheckSpec::ResourceExists {
        resource: "deployment".into(),
        namespace: "default".into(),
        name: Some(DEPLOYMENT.into()),
        selector: None,
        absent,
    }
}

/// Evaluates `checks` through the session, as the App does for a task.
async fn evaluate(
    session: &Session,
    events: &mut UnboundedReceiver<SessionEvent>,
    checks: Vec<CheckSpec>,
) -> Vec<CheckOutcome> {
    session.evaluate_checks(SCENARIO, "kubernetes", checks);
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("checks evaluated in time")
            .expect("session open");
        if let SessionEvent::ChecksEvaluated { outcomes, .. } = event {
            return outcomes;
        }
    }
}

/// Runs lab shell lines; returns the exit status of the last and all output.
async fn shell_lines(
    shell: &mut Shell,
    output: &mut lab_shell::TerminalOutput,
    lines: &str,
) -> (i32, String) {
    let mut printed = Vec::new();
    let status = run_script(shell, output, lines.as_bytes(), &mut printed, false).await;
    (status, String::from_utf8_lossy(&printed).into_owned())
}

/// An embedded cluster standing in for an external one, the directory
/// holding its kubeconfig, and `--cluster kubeconfig=<that file>`; `None`
/// (after saying why) when no cluster can start here.
fn stand_in_cluster(
    runtime: &tokio::runtime::Runtime,
    name: &str,
) -> Option<(EmbeddedCluster, tempfile::TempDir, ClusterSource)> {
    let session_id = format!("{name}-{}", std::process::id());
    let started = runtime.block_on(EmbeddedCluster::start(ClusterConfig::for_session(
        session_id,
    )));
    let cluster = match started {
        Ok(cluster) => cluster,
        Err(error) => {
            eprintln!("SKIPPED: the embedded cluster cannot start here: {error}");
            return None;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let source = ClusterSource::parse(&format!("kubeconfig={}", kubeconfig.display())).unwrap();
    Some((cluster, dir, source))
}

fn scenario_image_present() -> bool {
    Command::new("docker")
        .args(["image", "inspect", "hello-tryhackme:latest"])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn session_on_an_external_cluster_uses_the_students_namespace() {
    let runtime = runtime();
    let Some((cluster, dir, source)) = stand_in_cluster(&runtime, "lab-external") else {
        return;
    };
    let lab = LabEngines::new().with_cluster(source);
    let store = ProgressStore::open_in(dir.path()).unwrap().shared();
    let (session, mut events) = Session::new(runtime.handle().clone(), store.clone(), STUDENT);
    let scenario =
        lab_scenario::load_file(&common::workspace_scenario(&format!("{SCENARIO}.yaml")))
            .unwrap_or_else(|problems| panic!("{problems:#?}"));

    runtime.block_on(async {
        let mut engines = lab.start_session(&session, &scenario);
        engines.wait_for_cluster().await;
        assert_eq!(engines.student_namespace().as_deref(), Some(NAMESPACE));
        let objects = &cluster.state().store;
        assert!(objects.get("deployments", NAMESPACE, DEPLOYMENT).is_some());
        assert!(objects.get("deployments", "default", DEPLOYMENT).is_none());
        for (plural, name) in [
            ("roles", "student"),
            ("rolebindings", "student"),
            ("resourcequotas", "lab-quota"),
        ] {
            assert!(
                objects.get(plural, NAMESPACE, name).is_some(),
                "{plural}/{name}"
            );
        }

        let recorder = Arc::new(StoreRecorder::new(store.clone(), STUDENT, SCENARIO));
        let (mut shell, mut output) = Shell::new(engines.shell_config(STUDENT, recorder));
        for command in engines.take_late_commands() {
            shell.register(command);
        }
        let mut listed = String::new();
        for _ in 0..50 {
            let (status, printed) =
                shell_lines(&mut shell, &mut output, "kubectl get pods\n").await;
            assert_eq!(status, 0, "{printed}");
            listed = printed;
            if listed.contains(&format!("{DEPLOYMENT}-")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(listed.contains(&format!("{DEPLOYMENT}-")), "{listed}");
        let (_, elsewhere) = shell_lines(
            &mut shell,
            &mut output,
            "kubectl get deployments -n default\n",
        )
        .await;
        assert!(
            elsewhere.contains("No resources found in default namespace."),
            "{elsewhere}"
        );

        let outcomes = evaluate(&session, &mut events, vec![check_in_default(false)]).await;
        assert!(outcomes[0].passed, "{outcomes:?}");
        assert!(outcomes[0].detail.contains(NAMESPACE), "{outcomes:?}");

        if scenario_image_present() {
            let ready = CheckSpec::PodsReady {
                namespace: "default".into(),
                selector: Some(format!("app={DEPLOYMENT}")),
                count: 1,
            };
            let mut outcome = evaluate(&session, &mut events, vec![ready.clone()]).await;
            for _ in 0..60 {
                if outcome[0].passed {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                outcome = evaluate(&session, &mut events, vec![ready.clone()]).await;
            }
            assert!(outcome[0].passed, "{outcome:?}");
        } else {
            eprintln!(
                "SKIPPED (pods_ready part): no hello-tryhackme:latest image in the Docker engine \
                 (`lab images build` makes it), so the scenario's pod cannot become ready"
            );
        }

        let (status, deleted) = shell_lines(
            &mut shell,
            &mut output,
            &format!("kubectl delete deployment {DEPLOYMENT}\n"),
        )
        .await;
        assert_eq!(status, 0, "{deleted}");
        let outcomes = evaluate(&session, &mut events, vec![check_in_default(true)]).await;
        assert!(outcomes[0].passed, "{outcomes:?}");

        engines.shutdown().await;
        assert!(objects.get("namespaces", "", NAMESPACE).is_none());
    });
    runtime.block_on(cluster.shutdown());
}

#[test]
fn two_sessions_of_one_student_share_the_namespace_until_the_last_ends() {
    let runtime = runtime();
    let Some((cluster, dir, source)) = stand_in_cluster(&runtime, "lab-external-shared") else {
        return;
    };
    let lab = LabEngines::new().with_cluster(source);
    let store = ProgressStore::open_in(dir.path()).unwrap().shared();
    let scenario =
        lab_scenario::load_file(&common::workspace_scenario(&format!("{SCENARIO}.yaml")))
            .unwrap_or_else(|problems| panic!("{problems:#?}"));
    let objects = &cluster.state().store;

    runtime.block_on(async {
        let (first_session, _first_events) =
            Session::new(runtime.handle().clone(), store.clone(), STUDENT);
        let (second_session, _second_events) =
            Session::new(runtime.handle().clone(), store.clone(), STUDENT);
        let mut first = lab.start_session(&first_session, &scenario);
        first.wait_for_cluster().await;
        let mut second = lab.start_session(&second_session, &scenario);
        second.wait_for_cluster().await;
        assert_eq!(first.student_namespace(), second.student_namespace());

        first.shutdown().await;
        assert!(objects.get("namespaces", "", NAMESPACE).is_some());
        assert!(objects.get("deployments", NAMESPACE, DEPLOYMENT).is_some());

        second.shutdown().await;
        assert!(objects.get("namespaces", "", NAMESPACE).is_none());

        // The student comes back: the same namespace, made anew.
        let (again_session, _again_events) =
            Session::new(runtime.handle().clone(), store.clone(), STUDENT);
        let mut again = lab.start_session(&again_session, &scenario);
        again.wait_for_cluster().await;
        assert_eq!(again.student_namespace().as_deref(), Some(NAMESPACE));
        assert!(objects.get("deployments", NAMESPACE, DEPLOYMENT).is_some());
        again.shutdown().await;
    });
    runtime.block_on(cluster.shutdown());
}

#[test]
fn bad_cluster_flags_are_refused_before_anything_starts() {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(args)
            .env("LAB_DATA_DIR", data.path())
            .output()
            .unwrap()
    };
    let wrong = run(&["serve", "--cluster", "minikube"]);
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`embedded` or `kubeconfig=PATH`"),
        "{stderr}"
    );

    let missing = run(&["run", "--cluster", "kubeconfig=/nonexistent/config"]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read kubeconfig /nonexistent/config"),
        "{stderr}"
    );

    let help = run(&["serve", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("--cluster <embedded|kubeconfig=PATH>"),
        "{text}"
    );
    assert!(text.contains("namespace is deleted"), "{text}");
}
