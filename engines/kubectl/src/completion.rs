//! Names for completion: a cache of object names per kind, refreshed in the
//! background so that `complete` answers at once from memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::client::ClusterClient;
use crate::kinds::{KINDS, ResourceKind};

/// How often names are re-read while nobody asks.
const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// Object names of the default namespace (and cluster-scoped kinds), keyed
/// by plural kind name.
#[derive(Clone, Default)]
pub struct NameCache {
    names: Arc<Mutex<BTreeMap<&'static str, Vec<String>>>>,
    wake: Arc<Notify>,
}

impl NameCache {
    /// Starts the refresher on the current tokio runtime; it stops with
    /// `cancel`. Outside a runtime the cache stays empty.
    pub fn start(client: ClusterClient, cancel: CancellationToken) -> NameCache {
        let cache = NameCache::default();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(cache.clone().refresh_loop(client, cancel));
        }
        cache
    }

    /// The cached names of `kind` (empty until the first refresh).
    pub fn names(&self, kind: &ResourceKind) -> Vec<String> {
        let names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        names.get(kind.plural).cloned().unwrap_or_default()
    }

    /// Asks for a refresh soon (after a command changed something).
    pub fn refresh_soon(&self) {
        self.wake.notify_one();
    }

    async fn refresh_loop(self, client: ClusterClient, cancel: CancellationToken) {
        loop {
            self.refresh(&client).await;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(REFRESH_INTERVAL) => {}
            }
        }
    }

    async fn refresh(&self, client: &ClusterClient) {
        for kind in KINDS.iter().filter(|k| k.plural != "events") {
            let path = kind.collection_path(Some(client.namespace()));
            let Ok(list) = client.get(&path).await else {
                tracing::debug!(kind = kind.plural, "could not refresh names for completion");
                continue;
            };
            let names = list["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.pointer("/metadata/name").and_then(Value::as_str))
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let mut cache = self.names.lock().unwrap_or_else(PoisonError::into_inner);
            cache.insert(kind.plural, names);
        }
    }
}
