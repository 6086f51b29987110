//! `prepare_student_namespace` against the embedded cluster: the namespace
//! and service account are made; the embedded cluster serves no RBAC, so the
//! call stops at the Role with an error that says so. The full path (Role,
//! RoleBinding, ResourceQuota) needs an external cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use lab_cluster::{ClusterConfig, EmbeddedCluster};
use lab_kubectl::{ClusterClient, NamespaceError, prepare_student_namespace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_and_account_made_then_rbac_refused_clearly() {
    let cluster = match EmbeddedCluster::start(ClusterConfig::for_session("kubectl-student")).await
    {
        Ok(cluster) => cluster,
        Err(error) => {
            eprintln!("SKIPPED: the embedded cluster cannot start here: {error}");
            return;
        }
    };
    let client = ClusterClient::from_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .unwrap();

    let result = prepare_student_namespace(&client, "Alice").await;
    eprintln!(
        "NOTE: Role, RoleBinding and ResourceQuota need an external cluster with RBAC; the embedded one refuses them"
    );
    match result {
        Err(NamespaceError::Create { kind, .. }) => assert_eq!(kind, "role"),
        other => panic!("expected the embedded cluster to refuse the Role, got {other:?}"),
    }
    client.get("/api/v1/namespaces/lab-alice").await.unwrap();
    client
        .get("/api/v1/namespaces/lab-alice/serviceaccounts/student")
        .await
        .unwrap();
    cluster.shutdown().await;
}
