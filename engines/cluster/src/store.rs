//! The in-memory object store: one per cluster, the etcd of the embedded
//! control plane.
//!
//! Objects are kept as JSON values already normalised through the
//! k8s-openapi types (see [`crate::objects`]). Every write bumps one
//! cluster-wide revision, which is the `resourceVersion` clients see, and is
//! published as a [`WatchEvent`]; a bounded history lets a watch resume from
//! a recent revision, as etcd's compaction window does.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast};

use crate::time::now_rfc3339;

/// How many past events a watch can resume from.
const HISTORY_LEN: usize = 1024;

/// Where an object lives: cluster-scoped kinds use an empty namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectKey {
    pub plural: &'static str,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(plural: &'static str, namespace: &str, name: &str) -> Self {
        ObjectKey {
            plural,
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

/// The three watch event types of the Kubernetes API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

impl EventKind {
    pub fn wire_name(self) -> &'static str {
        match self {
            EventKind::Added => "ADDED",
            EventKind::Modified => "MODIFIED",
            EventKind::Deleted => "DELETED",
        }
    }
}

/// One change to one object, at the revision it produced.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub kind: EventKind,
    pub plural: &'static str,
    pub namespace: String,
    pub object: Value,
    pub revision: u64,
}

/// Why a store operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{plural} \"{name}\" not found")]
    NotFound { plural: &'static str, name: String },
    #[error("{plural} \"{name}\" already exists")]
    AlreadyExists { plural: &'static str, name: String },
    /// The caller's `resourceVersion` is not the stored one.
    #[error(
        "Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; \
         please apply your changes to the latest version and try again"
    )]
    Conflict { plural: &'static str, name: String },
    /// A watch asked to resume from a revision older than the history kept.
    #[error("too old resource version: {requested} ({oldest})")]
    Gone { requested: u64, oldest: u64 },
}

#[derive(Default)]
struct StoreState {
    objects: BTreeMap<ObjectKey, Value>,
    revision: u64,
    history: VecDeque<WatchEvent>,
}

/// The shared object store. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Store {
    state: Arc<Mutex<StoreState>>,
    events: broadcast::Sender<WatchEvent>,
    changed: Arc<Notify>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(HISTORY_LEN);
        Store {
            state: Arc::default(),
            events,
            changed: Arc::new(Notify::new()),
        }
    }

    /// Woken after every write; the controllers wait on it.
    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// The current revision: the `resourceVersion` of a list taken now.
    pub fn revision(&self) -> u64 {
        self.lock().revision
    }

    pub fn get(&self, plural: &'static str, namespace: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&ObjectKey::new(plural, namespace, name))
            .cloned()
    }

    /// All objects of a kind, in one namespace or (with `None`) in all, sorted
    /// by namespace then name, with the revision the list reflects.
    pub fn list(&self, plural: &'static str, namespace: Option<&str>) -> (Vec<Value>, u64) {
        let state = self.lock();
        let items = state
            .objects
            .iter()
            .filter(|(key, _)| key.plural == plural)
            .filter(|(key, _)| namespace.is_none_or(|ns| key.namespace == ns))
            .map(|(_, object)| object.clone())
            .collect();
        (items, state.revision)
    }

    /// Stores a new object, filling the fields the server owns (uid,
    /// creationTimestamp, resourceVersion, generation).
    pub fn create(
        &self,
        plural: &'static str,
        namespace: &str,
        mut object: Value,
    ) -> Result<Value, StoreError> {
        let name = object_name(&object);
        let key = ObjectKey::new(plural, namespace, &name);
        let mut state = self.lock();
        if state.objects.contains_key(&key) {
            return Err(StoreError::AlreadyExists { plural, name });
        }
        state.revision += 1;
        let revision = state.revision;
        stamp_new(&mut object, namespace, revision);
        state.objects.insert(key, object.clone());
        self.publish(&mut state, EventKind::Added, plural, namespace, &object);
        Ok(object)
    }

    /// Replaces an object. When `object` carries a `resourceVersion` it must
    /// equal the stored one (optimistic concurrency); the generation goes up
    /// when the spec changed.
    pub fn update(
        &self,
        plural: &'static str,
        namespace: &str,
        mut object: Value,
    ) -> Result<Value, StoreError> {
        let name = object_name(&object);
        let key = ObjectKey::new(plural, namespace, &name);
        let mut state = self.lock();
        let Some(old) = state.objects.get(&key) else {
            return Err(StoreError::NotFound { plural, name });
        };
        let given = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        let stored = old
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        if given.is_some_and(|given| !given.is_empty() && Some(given) != stored) {
            return Err(StoreError::Conflict { plural, name });
        }
        if old == &object {
            return Ok(object);
        }
        carry_server_fields(old, &mut object);
        if unchanged_but_version(old, &object) {
            return Ok(old.clone());
        }
        state.revision += 1;
        let revision = state.revision;
        set_resource_version(&mut object, revision);
        state.objects.insert(key, object.clone());
        self.publish(&mut state, EventKind::Modified, plural, namespace, &object);
        Ok(object)
    }

    /// Read-modify-write under the store lock: for controllers, which never
    /// lose a race to a concurrent client write this way.
    pub fn modify(
        &self,
        plural: &'static str,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Result<Value, StoreError> {
        let Some(mut object) = self.get(plural, namespace, name) else {
            return Err(StoreError::NotFound {
                plural,
                name: name.to_string(),
            });
        };
        change(&mut object);
        self.update(plural, namespace, object)
    }

    pub fn delete(
        &self,
        plural: &'static str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, StoreError> {
        let key = ObjectKey::new(plural, namespace, name);
        let mut state = self.lock();
        let Some(mut object) = state.objects.remove(&key) else {
            return Err(StoreError::NotFound {
                plural,
                name: name.to_string(),
            });
        };
        state.revision += 1;
        let revision = state.revision;
        set_resource_version(&mut object, revision);
        self.publish(&mut state, EventKind::Deleted, plural, namespace, &object);
        Ok(object)
    }

    /// Events after `since` (all kinds; callers filter) and a receiver for
    /// the ones to come, taken atomically so nothing falls in between.
    pub fn watch_since(
        &self,
        since: u64,
    ) -> Result<(Vec<WatchEvent>, broadcast::Receiver<WatchEvent>), StoreError> {
        let state = self.lock();
        let oldest = state
            .history
            .front()
            .map_or(state.revision, |e| e.revision - 1);
        if since < oldest {
            return Err(StoreError::Gone {
                requested: since,
                oldest,
            });
        }
        let past = state
            .history
            .iter()
            .filter(|e| e.revision > since)
            .cloned()
            .collect();
        Ok((past, self.events.subscribe()))
    }

    fn publish(
        &self,
        state: &mut StoreState,
        kind: EventKind,
        plural: &'static str,
        namespace: &str,
        object: &Value,
    ) {
        let event = WatchEvent {
            kind,
            plural,
            namespace: namespace.to_string(),
            object: object.clone(),
            revision: state.revision,
        };
        if state.history.len() == HISTORY_LEN {
            state.history.pop_front();
        }
        state.history.push_back(event.clone());
        // No receiver is fine: nobody is watching.
        let _ = self.events.send(event);
        self.changed.notify_waiters();
    }

    fn lock(&self) -> MutexGuard<'_, StoreState> {
        // A panic while holding the lock cannot leave a half-written map
        // behind (every write is a single insert/remove), so poisoning is
        // safe to ignore.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `metadata.name` or the empty string.
pub fn object_name(object: &Value) -> String {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn stamp_new(object: &mut Value, namespace: &str, revision: u64) {
    let Some(metadata) = ensure_object(object, "metadata") else {
        return;
    };
    if !namespace.is_empty() {
        metadata.insert("namespace".into(), json!(namespace));
    }
    metadata.insert("uid".into(), json!(new_uid()));
    metadata.insert("creationTimestamp".into(), json!(now_rfc3339()));
    metadata.insert("resourceVersion".into(), json!(revision.to_string()));
    if object.get("spec").is_some() {
        object["metadata"]["generation"] = json!(1);
    }
}

/// Keeps what the client may not change (uid, creation time) and bumps the
/// generation when the spec differs.
fn carry_server_fields(old: &Value, new: &mut Value) {
    for field in ["uid", "creationTimestamp", "namespace"] {
        if let Some(value) = old.pointer(&format!("/metadata/{field}")) {
            new["metadata"][field] = value.clone();
        }
    }
    let generation = old.pointer("/metadata/generation").and_then(Value::as_i64);
    if let Some(generation) = generation {
        let bumped = if old.get("spec") != new.get("spec") {
            generation + 1
        } else {
            generation
        };
        new["metadata"]["generation"] = json!(bumped);
    }
}

fn unchanged_but_version(old: &Value, new: &Value) -> bool {
    let mut new = new.clone();
    set_resource_version(&mut new, 0);
    let mut old = old.clone();
    set_resource_version(&mut old, 0);
    old == new
}

fn set_resource_version(object: &mut Value, revision: u64) {
    if let Some(metadata) = ensure_object(object, "metadata") {
        metadata.insert("resourceVersion".into(), json!(revision.to_string()));
    }
}

fn ensure_object<'a>(
    object: &'a mut Value,
    field: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let map = object.as_object_mut()?;
    map.entry(field)
        .or_insert_with(|| json!({}))
        .as_object_mut()
}

/// A random version-4 UUID in its usual text form.
pub fn new_uid() -> String {
    let bits: u128 = rand::random();
    let bits = (bits & !(0xf << 76)) | (0x4 << 76);
    let bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {}})
    }

    #[test]
    fn create_stamps_server_fields() {
        let store = Store::new();
        let created = store.create("pods", "default", pod("a")).unwrap();
        assert_eq!(created["metadata"]["namespace"], "default");
        assert_eq!(created["metadata"]["resourceVersion"], "1");
        assert_eq!(created["metadata"]["uid"].as_str().map(str::len), Some(36));
        assert!(matches!(
            store.create("pods", "default", pod("a")),
            Err(StoreError::AlreadyExists { .. })
        ));
    }

    #[test]
    fn stale_resource_version_is_a_conflict() {
        let store = Store::new();
        let mut first = store.create("pods", "default", pod("a")).unwrap();
        let mut second = first.clone();
        first["spec"]["nodeName"] = json!("n1");
        store.update("pods", "default", first).unwrap();
        second["spec"]["nodeName"] = json!("n2");
        let result = store.update("pods", "default", second);
        assert!(matches!(result, Err(StoreError::Conflict { .. })));
    }

    #[test]
    fn spec_change_bumps_generation() {
        let store = Store::new();
        let mut object = store.create("pods", "default", pod("a")).unwrap();
        object["spec"]["nodeName"] = json!("n1");
        let updated = store.update("pods", "default", object).unwrap();
        assert_eq!(updated["metadata"]["generation"], 2);
    }

    #[test]
    fn watch_replays_history_after_revision() {
        let store = Store::new();
        store.create("pods", "default", pod("a")).unwrap();
        store.create("pods", "default", pod("b")).unwrap();
        store.delete("pods", "default", "a").unwrap();
        let (past, _rx) = store.watch_since(1).unwrap();
        let kinds: Vec<_> = past.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventKind::Added, EventKind::Deleted]);
    }
}
