//! The `kube` crate as a client of the embedded cluster: list, watch and
//! the patch flavours, through the kubeconfig the cluster writes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config};
use serde_json::json;

async fn client(cluster: &common::TestCluster) -> Client {
    let kubeconfig = Kubeconfig::read_from(&cluster.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

fn config_map(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": {"mode": value}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_client_lists_typed_objects() {
    let cluster = common::TestCluster::start().await;
    let client = client(&cluster).await;
    let pods: Api<Pod> = Api::all(client.clone());
    let listed = pods.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 7);
    // The control plane's own pods turn Running on the controllers' first
    // pass, which a loaded machine may not have reached yet.
    let system: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let mut phase = None;
    for _ in 0..100 {
        let apiserver = system.get("kube-apiserver-minikube").await.unwrap();
        phase = apiserver.status.and_then(|s| s.phase);
        if phase.as_deref() == Some("Running") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(phase.as_deref(), Some("Running"));
    let nodes: Api<Node> = Api::all(client);
    let selected = nodes
        .list(&ListParams::default().labels("node-role.kubernetes.io/control-plane"))
        .await
        .unwrap();
    assert_eq!(selected.items.len(), 1);
    let none = nodes
        .list(&ListParams::default().fields("metadata.name=elsewhere"))
        .await
        .unwrap();
    assert!(none.items.is_empty());
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_client_patches_and_watches() {
    let cluster = common::TestCluster::start().await;
    let client = client(&cluster).await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    maps.create(&PostParams::default(), &config_map("settings", "dev"))
        .await
        .unwrap();

    let events = watcher(
        maps.clone(),
        watcher::Config::default().fields("metadata.name=settings"),
    );
    let seen = tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.try_next().await.unwrap() {
            let mode = match &event {
                watcher::Event::Apply(cm) => cm.data.as_ref().and_then(|d| d.get("mode")).cloned(),
                _ => None,
            };
            if mode.as_deref() == Some("prod") {
                return true;
            }
        }
        false
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let merge = Patch::Merge(json!({"data": {"mode": "prod"}}));
    maps.patch("settings", &PatchParams::default(), &merge)
        .await
        .unwrap();
    let watched = tokio::time::timeout(Duration::from_secs(10), seen).await;
    assert!(
        matches!(watched, Ok(Ok(true))),
        "the watch must see the merge patch"
    );

    let strategic = Patch::Strategic(json!({"metadata": {"labels": {"tier": "config"}}}));
    let labelled = maps
        .patch("settings", &PatchParams::default(), &strategic)
        .await
        .unwrap();
    assert_eq!(labelled.metadata.labels.unwrap()["tier"], "config");

    let json_patch: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/data/mode", "value": "test"}]))
            .unwrap();
    let replaced = maps
        .patch(
            "settings",
            &PatchParams::default(),
            &Patch::Json::<()>(json_patch),
        )
        .await
        .unwrap();
    assert_eq!(replaced.data.unwrap()["mode"], "test");

    let applied = maps
        .patch(
            "created-by-apply",
            &PatchParams::apply("lab-test"),
            &Patch::Apply(config_map("created-by-apply", "ssa")),
        )
        .await
        .unwrap();
    assert_eq!(applied.data.unwrap()["mode"], "ssa");

    let stale = maps.get("settings").await.unwrap();
    maps.patch(
        "settings",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"mode": "newer"}})),
    )
    .await
    .unwrap();
    let conflict = maps
        .replace("settings", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(conflict, kube::Error::Api(ref status) if status.code == 409),
        "{conflict:?}"
    );

    // A merge patch that is not an object would replace the whole object.
    let scalar = maps
        .patch("settings", &PatchParams::default(), &Patch::Merge(json!(5)))
        .await;
    assert!(
        matches!(scalar, Err(kube::Error::Api(ref status)) if status.code == 400),
        "{scalar:?}"
    );
    let bad_metadata = Patch::Merge(json!({"metadata": 5}));
    let refused = maps
        .patch("settings", &PatchParams::default(), &bad_metadata)
        .await;
    assert!(
        matches!(refused, Err(kube::Error::Api(ref status)) if status.code == 400),
        "{refused:?}"
    );

    let listed = maps.list(&ListParams::default()).await.unwrap();
    let names: Vec<_> = listed
        .items
        .iter()
        .filter_map(|cm| cm.metadata.name.clone())
        .collect();
    assert_eq!(names, ["created-by-apply", "settings"]);
    let _ = maps
        .watch(&kube::api::WatchParams::default().timeout(1), "0")
        .await
        .unwrap()
        .boxed()
        .next()
        .await;
    cluster.stop().await;
}
