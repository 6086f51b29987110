//! One embedded cluster: its shared state, its HTTP server and controllers,
//! and the handle the lab holds ([`EmbeddedCluster`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::resources::ResourceKind;
use crate::runtime::PodRuntime;
use crate::runtime::docker::DockerRuntime;
use crate::store::{Store, object_name};

/// How to build a cluster.
#[derive(Clone)]
pub struct ClusterConfig {
    /// The lab session this cluster belongs to; labels its containers.
    pub session_id: String,
    /// Where pods run. `None` connects to the local Docker engine.
    pub runtime: Option<Arc<dyn PodRuntime>>,
}

impl ClusterConfig {
    /// A cluster for `session_id` whose pods run on the local Docker engine.
    pub fn for_session(session_id: impl Into<String>) -> Self {
        ClusterConfig {
            session_id: session_id.into(),
            runtime: None,
        }
    }
}

/// A failed cluster operation.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("failed to bind the cluster API server on loopback")]
    Bind(#[source] std::io::Error),
    #[error("failed to connect to the Docker engine for pods")]
    Runtime(#[source] crate::runtime::RuntimeError),
    #[error("failed to write kubeconfig {path}")]
    WriteKubeconfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest {index} is not valid YAML")]
    ManifestYaml {
        index: usize,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("manifest {index} was refused: {message}")]
    ManifestRefused { index: usize, message: String },
}

/// What every part of one cluster shares.
pub struct ClusterState {
    pub store: Store,
    /// `host:port` of the API server, for discovery documents.
    pub server_address: String,
    pub runtime: Arc<dyn PodRuntime>,
    pub session_id: String,
    /// Whether the controller loop is running (reported by the
    /// kube-controller-manager and kube-scheduler pods).
    pub controllers_running: AtomicBool,
    /// Whether the API server task is serving (reported by kube-apiserver).
    pub api_running: AtomicBool,
}

impl ClusterState {
    /// Fills what the server allocates for a new object (Service cluster IPs
    /// and node ports). The error is a field problem for a 422.
    pub fn admit(&self, kind: &ResourceKind, object: &mut Value) -> Result<(), String> {
        if kind.kind == "Service" {
            crate::controllers::service::allocate(&self.store, object)?;
        }
        Ok(())
    }

    /// Removes the owner reference to `owner` from its dependents, so the
    /// garbage collector leaves them alone (`propagationPolicy: Orphan`).
    pub fn orphan_dependents(&self, owner: &Value) {
        let uid = owner
            .pointer("/metadata/uid")
            .cloned()
            .unwrap_or(Value::Null);
        for kind in crate::resources::KINDS {
            let (items, _) = self.store.list(kind.plural, None);
            for item in items
                .iter()
                .filter(|i| crate::controllers::gc::owned_by(i, &uid))
            {
                let namespace = item["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let _ = self
                    .store
                    .modify(kind.plural, &namespace, &object_name(item), |o| {
                        if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                            refs.retain(|r| r["uid"] != uid);
                        }
                    });
            }
        }
    }

    /// Deletes every object in a namespace that was just deleted.
    pub fn delete_namespace_contents(&self, namespace: &str) {
        for kind in crate::resources::KINDS.iter().filter(|k| k.namespaced) {
            let (items, _) = self.store.list(kind.plural, Some(namespace));
            for item in items {
                let _ = self
                    .store
                    .delete(kind.plural, namespace, &object_name(&item));
            }
        }
    }
}

/// A running embedded cluster. Dropping it without [`shutdown`](Self::shutdown)
/// stops the server and controllers but leaves pod containers to the
/// session's Docker cleanup.
pub struct EmbeddedCluster {
    state: Arc<ClusterState>,
    address: SocketAddr,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl EmbeddedCluster {
    /// Binds `127.0.0.1:0`, seeds the starting objects and starts serving.
    pub async fn start(config: ClusterConfig) -> Result<EmbeddedCluster, ClusterError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(ClusterError::Bind)?;
        let address = listener.local_addr().map_err(ClusterError::Bind)?;
        let runtime = match config.runtime {
            Some(runtime) => runtime,
            None => Arc::new(
                DockerRuntime::connect(&config.session_id)
                    .map_err(ClusterError::Runtime)?
                    .with_engine_version()
                    .await,
            ),
        };
        let state = Arc::new(ClusterState {
            store: Store::new(),
            server_address: address.to_string(),
            runtime,
            session_id: config.session_id,
            controllers_running: AtomicBool::new(false),
            api_running: AtomicBool::new(false),
        });
        crate::seed::seed(&state);

        let cancel = CancellationToken::new();
        let server = spawn_server(state.clone(), listener, cancel.clone());
        let controllers = crate::controllers::spawn(state.clone(), cancel.clone());
        wait_until_serving(&state).await;
        tracing::info!(%address, session = %state.session_id, "embedded cluster started");
        Ok(EmbeddedCluster {
            state,
            address,
            cancel,
            tasks: vec![server, controllers],
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The shared state, for tests that read objects directly.
    pub fn state(&self) -> &Arc<ClusterState> {
        &self.state
    }

    /// A kubeconfig whose current context points at this cluster, namespace
    /// `default`.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: {}\n  name: lab\n\
             contexts:\n- context:\n    cluster: lab\n    namespace: default\n    user: lab\n  \
             name: lab\ncurrent-context: lab\npreferences: {{}}\nusers:\n- name: lab\n  user: {{}}\n",
            self.base_url()
        )
    }

    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), ClusterError> {
        std::fs::write(path, self.kubeconfig_yaml()).map_err(|source| {
            ClusterError::WriteKubeconfig {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// Creates (or replaces) the objects of multi-document YAML manifests, as
    /// `kubectl apply` would. Returns how many objects were applied.
    pub fn apply_manifests(&self, manifests: &[&str]) -> Result<usize, ClusterError> {
        let mut applied = 0;
        for (index, text) in manifests.iter().enumerate() {
            for document in serde_yaml_ng::Deserializer::from_str(text) {
                let value: Value = serde::Deserialize::deserialize(document)
                    .map_err(|source| ClusterError::ManifestYaml { index, source })?;
                if value.is_null() {
                    continue;
                }
                self.apply_object(value)
                    .map_err(|message| ClusterError::ManifestRefused { index, message })?;
                applied += 1;
            }
        }
        Ok(applied)
    }

    fn apply_object(&self, object: Value) -> Result<(), String> {
        let api_version = object["apiVersion"].as_str().unwrap_or("");
        let kind_name = object["kind"].as_str().unwrap_or("");
        let kind = ResourceKind::by_kind(api_version, kind_name)
            .ok_or_else(|| format!("no kind {kind_name:?} in version {api_version:?} is served"))?;
        let namespace = match kind.namespaced {
            true => object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default"),
            false => "",
        }
        .to_string();
        let prepared = crate::api::resource::prepare_new(&self.state, kind, &namespace, object)
            .map_err(|e| e.message)?;
        let name = object_name(&prepared);
        let store = &self.state.store;
        if store.get(kind.plural, &namespace, &name).is_some() {
            store.modify(kind.plural, &namespace, &name, |o| {
                o["spec"] = prepared.get("spec").cloned().unwrap_or(json!({}));
            })
        } else {
            store.create(kind.plural, &namespace, prepared)
        }
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    /// Stops serving, stops the controllers and removes the pods' containers.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
        if let Err(error) = self.state.runtime.remove_all().await {
            tracing::warn!(%error, "could not remove the cluster's containers");
        }
        tracing::info!(session = %self.state.session_id, "embedded cluster stopped");
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Waits (briefly) until the API server and the controllers run, then
/// marks the control plane's pods Running, so a client's first look at a
/// new cluster finds it up rather than its system pods still Pending.
async fn wait_until_serving(state: &ClusterState) {
    for _ in 0..1000 {
        if state.api_running.load(Ordering::SeqCst)
            && state.controllers_running.load(Ordering::SeqCst)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    crate::seed::refresh_components(state);
}

fn spawn_server(
    state: Arc<ClusterState>,
    listener: tokio::net::TcpListener,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let router = crate::api::router(state.clone());
    tokio::spawn(async move {
        state.api_running.store(true, Ordering::SeqCst);
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
        state.api_running.store(false, Ordering::SeqCst);
        if let Err(error) = served {
            tracing::error!(%error, "cluster API server stopped");
        }
    })
}

/// `lab cluster serve`: runs one cluster until `until` completes, writing its
/// kubeconfig to `kubeconfig` when given. Returns the cluster's URL through
/// `on_ready` once it answers.
pub async fn serve(
    config: ClusterConfig,
    kubeconfig: Option<&Path>,
    on_ready: impl FnOnce(&EmbeddedCluster),
    until: impl Future<Output = ()>,
) -> Result<(), ClusterError> {
    let cluster = EmbeddedCluster::start(config).await?;
    if let Some(path) = kubeconfig {
        cluster.write_kubeconfig(path)?;
    }
    on_ready(&cluster);
    until.await;
    cluster.shutdown().await;
    Ok(())
}
