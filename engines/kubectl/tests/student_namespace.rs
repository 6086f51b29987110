//! `prepare_student_namespace` against the embedded cluster acting as an
//! external one: the namespace, service account, Role, RoleBinding and
//! ResourceQuota are made, a second call changes nothing, and the real
//! `kubectl` lists them. The embedded cluster stores RBAC objects and
//! quotas without enforcing them, so what they permit is not tested here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use lab_cluster::{ClusterConfig, EmbeddedCluster};
use lab_kubectl::{ClusterClient, delete_student_namespace, prepare_student_namespace};
use serde_json::Value;

async fn start(session: &str) -> Option<EmbeddedCluster> {
    match EmbeddedCluster::start(ClusterConfig::for_session(session)).await {
        Ok(cluster) => Some(cluster),
        Err(error) => {
            eprintln!("SKIPPED: the embedded cluster cannot start here: {error}");
            None
        }
    }
}

/// The uid of every object the lab makes for a student, and what says it
/// was not rewritten: the `resourceVersion`, or for the quota (whose status
/// the quota controller keeps writing) its `spec`.
async fn versions(client: &ClusterClient, namespace: &str) -> Vec<(String, Value, Value)> {
    let paths = [
        format!("/api/v1/namespaces/{namespace}"),
        format!("/api/v1/namespaces/{namespace}/serviceaccounts/student"),
        format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/student"),
        format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/student"),
        format!("/api/v1/namespaces/{namespace}/resourcequotas/lab-quota"),
    ];
    let mut found = Vec::new();
    for path in paths {
        let object = client
            .get(&path)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let unchanged = match path.ends_with("lab-quota") {
            true => object["spec"].clone(),
            false => object["metadata"]["resourceVersion"].clone(),
        };
        found.push((path, object["metadata"]["uid"].clone(), unchanged));
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn student_namespace_is_made_whole_and_twice_is_harmless() {
    let Some(cluster) = start("kubectl-student").await else {
        return;
    };
    let client = ClusterClient::from_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .unwrap();

    let namespace = prepare_student_namespace(&client, "alice").await.unwrap();
    assert_eq!(namespace, "lab-alice");
    let first = versions(&client, &namespace).await;

    let again = prepare_student_namespace(&client, "alice").await.unwrap();
    assert_eq!(again, namespace);
    assert_eq!(versions(&client, &namespace).await, first);

    let binding = client
        .get("/apis/rbac.authorization.k8s.io/v1/namespaces/lab-alice/rolebindings/student")
        .await
        .unwrap();
    assert_eq!(binding["roleRef"]["name"], "student");
    assert_eq!(binding["subjects"][0]["namespace"], "lab-alice");

    delete_student_namespace(&client, &namespace).await.unwrap();
    let gone = client.get("/api/v1/namespaces/lab-alice").await;
    assert!(gone.is_err_and(|e| e.is_not_found()));
    let role = client
        .get("/apis/rbac.authorization.k8s.io/v1/namespaces/lab-alice/roles/student")
        .await;
    assert!(role.is_err_and(|e| e.is_not_found()));
    delete_student_namespace(&client, &namespace).await.unwrap();

    prepare_student_namespace(&client, "alice").await.unwrap();
    versions(&client, &namespace).await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_kubectl_lists_the_students_role_binding_and_quota() {
    let Some(cluster) = start("kubectl-student-real").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let client = ClusterClient::from_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .unwrap();
    let namespace = prepare_student_namespace(&client, "bob_smith")
        .await
        .unwrap();
    let namespace = namespace.as_str();
    assert!(namespace.starts_with("lab-bob-smith-"), "{namespace}");

    let kubectl = |args: &[&str]| {
        let output = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .expect("kubectl is installed");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "kubectl {args:?}: {stderr}");
        stdout
    };
    let listed = kubectl(&["get", "role,rolebinding,resourcequota", "-n", namespace]);
    for expected in [
        "role.rbac.authorization.k8s.io/student",
        "rolebinding.rbac.authorization.k8s.io/student",
        "Role/student",
        "resourcequota/lab-quota",
        "pods: 0/10",
    ] {
        assert!(listed.contains(expected), "{expected} missing:\n{listed}");
    }
    let wide = kubectl(&["get", "rolebindings", "-n", namespace, "-o", "wide"]);
    assert!(wide.contains(&format!("{namespace}/student")), "{wide}");
    let rules = kubectl(&[
        "get",
        "role",
        "student",
        "-n",
        namespace,
        "-o",
        "jsonpath={.rules[*].resources}",
    ]);
    assert!(rules.contains("deployments"), "{rules}");
    let kinds = kubectl(&["api-resources", "--api-group", "rbac.authorization.k8s.io"]);
    assert!(
        kinds.contains("roles") && kinds.contains("rolebindings"),
        "{kinds}"
    );
    cluster.shutdown().await;
}
