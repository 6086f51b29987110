//! The cluster engine's [`Probe`]: evaluates the Kubernetes check kinds and
//! live answers of a scenario against one session's embedded cluster,
//! reading its store directly (no HTTP round trip).

use std::sync::Arc;

use lab_engine_api::{CheckOutcome, CheckSpec, EngineKind, LiveValueSpec, Probe, ProbeError};
use serde_json::Value;

use crate::api::selector::LabelSelector;
use crate::cluster::ClusterState;
use crate::resources::{KINDS, ResourceKind};

/// Checks against one embedded cluster.
pub struct ClusterProbe {
    state: Arc<ClusterState>,
}

impl ClusterProbe {
    pub fn new(state: Arc<ClusterState>) -> Self {
        ClusterProbe { state }
    }

    /// Objects of `resource` in `namespace` matching `name` and `selector`.
    fn select(
        &self,
        resource: &str,
        namespace: &str,
        name: Option<&str>,
        selector: Option<&str>,
    ) -> Result<(&'static ResourceKind, Vec<Value>), ProbeError> {
        let kind = resolve_kind(resource).ok_or_else(|| {
            query_error(format!("the cluster serves no resource type {resource:?}"))
        })?;
        let selector = LabelSelector::parse(selector.unwrap_or(""))
            .map_err(|e| query_error(format!("bad label selector: {}", e.message)))?;
        let scope = kind.namespaced.then_some(namespace);
        let (items, _) = self.state.store.list(kind.plural, scope);
        let items = items
            .into_iter()
            .filter(|o| {
                name.is_none_or(|n| o.pointer("/metadata/name").and_then(Value::as_str) == Some(n))
            })
            .filter(|o| selector.matches(o))
            .collect();
        Ok((kind, items))
    }
}

fn query_error(message: String) -> ProbeError {
    ProbeError::Query {
        engine: EngineKind::Cluster,
        source: message.into(),
    }
}

/// A kind by plural, singular, short name or kind name, in any case.
pub fn resolve_kind(resource: &str) -> Option<&'static ResourceKind> {
    let wanted = resource.to_ascii_lowercase();
    let wanted = wanted.split('.').next().unwrap_or("");
    KINDS.iter().find(|k| {
        k.plural == wanted
            || k.singular == wanted
            || k.kind.to_ascii_lowercase() == wanted
            || k.short_names.contains(&wanted)
    })
}

/// Reads a kubectl-style JSON path (`.spec.replicas`, `{.spec.containers[0].image}`).
pub fn read_path(object: &Value, path: &str) -> Option<String> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut current = object;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (field, indexes) = segment.split_once('[').unwrap_or((segment, ""));
        if !field.is_empty() {
            current = current.get(field)?;
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            let index: usize = index.trim_end_matches(']').parse().ok()?;
            current = current.get(index)?;
        }
    }
    Some(match current {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

fn is_ready(pod: &Value) -> bool {
    crate::controllers::replicaset::is_ready(pod)
}

fn describe(kind: &ResourceKind, name: Option<&str>, selector: Option<&str>) -> String {
    match (name, selector) {
        (Some(name), _) => format!("{} {name}", kind.singular),
        (None, Some(selector)) => format!("{} with labels {selector}", kind.plural),
        (None, None) => kind.plural.to_string(),
    }
}

#[async_trait::async_trait]
impl Probe for ClusterProbe {
    fn engine(&self) -> EngineKind {
        EngineKind::Cluster
    }

    async fn check(&self, spec: &CheckSpec) -> Result<CheckOutcome, ProbeError> {
        match spec {
            CheckSpec::ResourceExists {
                resource,
                namespace,
                name,
                selector,
                absent,
            } => {
                let (kind, found) =
                    self.select(resource, namespace, name.as_deref(), selector.as_deref())?;
                let what = describe(kind, name.as_deref(), selector.as_deref());
                Ok(match (found.is_empty(), absent) {
                    (false, false) => CheckOutcome::pass(format!("{what} exists in {namespace}")),
                    (true, false) => CheckOutcome::fail(format!("no {what} in {namespace} yet")),
                    (true, true) => CheckOutcome::pass(format!("{what} is gone from {namespace}")),
                    (false, true) => {
                        CheckOutcome::fail(format!("{what} still exists in {namespace}"))
                    }
                })
            }
            CheckSpec::ResourceCount {
                resource,
                namespace,
                selector,
                equals,
                at_least,
            } => {
                let (kind, found) = self.select(resource, namespace, None, selector.as_deref())?;
                let count = u64::try_from(found.len()).unwrap_or(u64::MAX);
                let passed =
                    equals.is_none_or(|n| count == n) && at_least.is_none_or(|n| count >= n);
                let what = describe(kind, None, selector.as_deref());
                let detail = format!("{count} {what} in {namespace}");
                Ok(if passed {
                    CheckOutcome::pass(detail)
                } else {
                    CheckOutcome::fail(detail)
                })
            }
            CheckSpec::ResourceField {
                resource,
                namespace,
                name,
                path,
                equals,
                matches,
            } => {
                let (kind, found) = self.select(resource, namespace, Some(name), None)?;
                let Some(object) = found.first() else {
                    return Ok(CheckOutcome::fail(format!(
                        "no {} {name} in {namespace} yet",
                        kind.singular
                    )));
                };
                let value = read_path(object, path).unwrap_or_default();
                let pattern = matches
                    .as_deref()
                    .map(regex::Regex::new)
                    .transpose()
                    .map_err(|e| query_error(format!("bad pattern: {e}")))?;
                let passed = equals.as_ref().is_none_or(|e| *e == value)
                    && pattern.is_none_or(|p| p.is_match(&value));
                let detail = format!("{path} of {} {name} is {value:?}", kind.singular);
                Ok(if passed {
                    CheckOutcome::pass(detail)
                } else {
                    CheckOutcome::fail(detail)
                })
            }
            CheckSpec::PodsReady {
                namespace,
                selector,
                count,
            } => {
                let (_, pods) = self.select("pods", namespace, None, selector.as_deref())?;
                let ready = u64::try_from(pods.iter().filter(|p| is_ready(p)).count()).unwrap_or(0);
                let detail = format!("{ready} of {count} pods ready in {namespace}");
                Ok(if ready >= *count {
                    CheckOutcome::pass(detail)
                } else {
                    CheckOutcome::fail(detail)
                })
            }
            _ => Err(ProbeError::WrongEngine {
                engine: EngineKind::Cluster,
            }),
        }
    }

    async fn live_values(&self, spec: &LiveValueSpec) -> Result<Vec<String>, ProbeError> {
        let LiveValueSpec::Cluster {
            resource,
            namespace,
            selector,
            path,
        } = spec
        else {
            return Err(ProbeError::WrongEngine {
                engine: EngineKind::Cluster,
            });
        };
        let (_, found) = self.select(resource, namespace, None, selector.as_deref())?;
        Ok(found.iter().filter_map(|o| read_path(o, path)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_resolve_by_any_name() {
        for name in [
            "po",
            "Pod",
            "pods",
            "deploy",
            "Deployment",
            "svc",
            "deployments.apps",
        ] {
            assert!(resolve_kind(name).is_some(), "{name}");
        }
        assert!(resolve_kind("widget").is_none());
    }

    #[test]
    fn paths_read_like_jsonpath() {
        let pod = json!({"spec": {"replicas": 2, "containers": [{"image": "a:1"}]}});
        assert_eq!(read_path(&pod, ".spec.replicas").as_deref(), Some("2"));
        assert_eq!(
            read_path(&pod, "{.spec.containers[0].image}").as_deref(),
            Some("a:1")
        );
        assert_eq!(read_path(&pod, ".spec.nothing"), None);
    }
}
