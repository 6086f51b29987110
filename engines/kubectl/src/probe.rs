//! [`ClusterProbe`]: evaluates the Kubernetes check kinds and live answers
//! of a scenario against one session's cluster.

use async_trait::async_trait;
use lab_engine_api::{CheckOutcome, CheckSpec, EngineKind, LiveValueSpec, Probe, ProbeError};
use serde_json::Value;

use crate::client::{ApiError, ClusterClient};
use crate::commands::get::encode;
use crate::jsonpath;
use crate::kinds::ResourceKind;

/// A scenario names a kind the lab does not know, or a path that does not
/// parse.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("unknown Kubernetes resource kind {0:?}")]
    UnknownKind(String),
    #[error("invalid JSON path {path:?}")]
    Path {
        path: String,
        #[source]
        source: jsonpath::PathError,
    },
    #[error("invalid regular expression {pattern:?}")]
    Pattern {
        pattern: String,
        #[source]
        source: regex::Error,
    },
}

/// The namespace scenarios write when they mean "the student's own".
pub const SCENARIO_NAMESPACE: &str = "default";

/// The cluster engine's probe for one session.
#[derive(Debug, Clone)]
pub struct ClusterProbe {
    client: ClusterClient,
    /// Where checks and live values naming [`SCENARIO_NAMESPACE`] look
    /// instead: the student's namespace on a shared cluster.
    student_namespace: Option<String>,
}

impl ClusterProbe {
    pub fn new(client: ClusterClient) -> ClusterProbe {
        ClusterProbe {
            client,
            student_namespace: None,
        }
    }

    /// A probe for a session whose objects live in `namespace` of a shared
    /// cluster: what a scenario checks in `default` is read from there.
    /// Other namespaces (`kube-system`) are read as written.
    pub fn for_student_namespace(client: ClusterClient, namespace: impl Into<String>) -> Self {
        ClusterProbe {
            client,
            student_namespace: Some(namespace.into()),
        }
    }

    /// The namespace a scenario's `namespace` is read from.
    pub fn resolve_namespace<'a>(&'a self, namespace: &'a str) -> &'a str {
        match &self.student_namespace {
            Some(student) if namespace == SCENARIO_NAMESPACE => student,
            _ => namespace,
        }
    }

    /// The objects of `resource` in `namespace` matching `selector`.
    async fn list(
        &self,
        resource: &str,
        namespace: &str,
        selector: Option<&str>,
    ) -> Result<Vec<Value>, ProbeError> {
        let kind = lookup(resource)?;
        let namespace = self.resolve_namespace(namespace);
        let mut path = kind.collection_path(Some(namespace));
        if let Some(selector) = selector.filter(|s| !s.is_empty()) {
            path = format!("{path}?labelSelector={}", encode(selector));
        }
        let mut list = self.client.get(&path).await.map_err(query_error)?;
        Ok(match list["items"].take() {
            Value::Array(items) => items,
            _ => Vec::new(),
        })
    }

    /// One object, or `None` when it does not exist.
    async fn object(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, ProbeError> {
        let kind = lookup(resource)?;
        let namespace = self.resolve_namespace(namespace);
        match self.client.get(&kind.object_path(namespace, name)).await {
            Ok(object) => Ok(Some(object)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(query_error(error)),
        }
    }

    async fn resource_exists(
        &self,
        resource: &str,
        namespace: &str,
        name: Option<&str>,
        selector: Option<&str>,
        absent: bool,
    ) -> Result<CheckOutcome, ProbeError> {
        let found = match name {
            Some(name) => self.object(resource, namespace, name).await?.is_some(),
            None => !self.list(resource, namespace, selector).await?.is_empty(),
        };
        let what = describe_target(resource, self.resolve_namespace(namespace), name, selector);
        Ok(match (found, absent) {
            (true, false) => CheckOutcome::pass(format!("{what} exists")),
            (false, true) => CheckOutcome::pass(format!("{what} is gone")),
            (true, true) => CheckOutcome::fail(format!("{what} still exists")),
            (false, false) => CheckOutcome::fail(format!("no {what} yet")),
        })
    }

    async fn resource_count(
        &self,
        resource: &str,
        namespace: &str,
        selector: Option<&str>,
        equals: Option<u64>,
        at_least: Option<u64>,
    ) -> Result<CheckOutcome, ProbeError> {
        let items = self.list(resource, namespace, selector).await?;
        let count = u64::try_from(items.len()).unwrap_or(u64::MAX);
        let what = describe_target(resource, self.resolve_namespace(namespace), None, selector);
        let passed = equals.is_none_or(|e| count == e) && at_least.is_none_or(|a| count >= a);
        let wanted = match (equals, at_least) {
            (Some(e), _) => format!("exactly {e}"),
            (None, Some(a)) => format!("at least {a}"),
            (None, None) => "any number".to_string(),
        };
        let detail = format!("{count} of {what} (wanted {wanted})");
        Ok(CheckOutcome { passed, detail })
    }

    async fn resource_field(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        path: &str,
        equals: Option<&str>,
        matches: Option<&str>,
    ) -> Result<CheckOutcome, ProbeError> {
        let Some(object) = self.object(resource, namespace, name).await? else {
            let what = describe_target(
                resource,
                self.resolve_namespace(namespace),
                Some(name),
                None,
            );
            return Ok(CheckOutcome::fail(format!("no {what} yet")));
        };
        let values = field_values(&object, path)?;
        let pattern = matches
            .map(|p| {
                regex::Regex::new(p).map_err(|source| {
                    spec_error(SpecError::Pattern {
                        pattern: p.to_string(),
                        source,
                    })
                })
            })
            .transpose()?;
        let passed = !values.is_empty()
            && values.iter().any(|v| {
                equals.is_none_or(|e| v == e) && pattern.as_ref().is_none_or(|p| p.is_match(v))
            });
        let shown = match values.is_empty() {
            true => "nothing".to_string(),
            false => values.join(", "),
        };
        let detail = format!("{path} of {resource} {name} is {shown}");
        Ok(CheckOutcome { passed, detail })
    }

    async fn pods_ready(
        &self,
        namespace: &str,
        selector: Option<&str>,
        count: u64,
    ) -> Result<CheckOutcome, ProbeError> {
        let pods = self.list("pods", namespace, selector).await?;
        let ready = pods.iter().filter(|p| pod_is_ready(p)).count();
        let ready = u64::try_from(ready).unwrap_or(u64::MAX);
        let what = describe_target("pods", self.resolve_namespace(namespace), None, selector);
        let detail = format!("{ready} of {what} ready (wanted {count})");
        Ok(CheckOutcome {
            passed: ready >= count,
            detail,
        })
    }
}

#[async_trait]
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
                self.resource_exists(
                    resource,
                    namespace,
                    name.as_deref(),
                    selector.as_deref(),
                    *absent,
                )
                .await
            }
            CheckSpec::ResourceCount {
                resource,
                namespace,
                selector,
                equals,
                at_least,
            } => {
                self.resource_count(resource, namespace, selector.as_deref(), *equals, *at_least)
                    .await
            }
            CheckSpec::ResourceField {
                resource,
                namespace,
                name,
                path,
                equals,
                matches,
            } => {
                self.resource_field(
                    resource,
                    namespace,
                    name,
                    path,
                    equals.as_deref(),
                    matches.as_deref(),
                )
                .await
            }
            CheckSpec::PodsReady {
                namespace,
                selector,
                count,
            } => {
                self.pods_ready(namespace, selector.as_deref(), *count)
                    .await
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
        let items = self.list(resource, namespace, selector.as_deref()).await?;
        let mut values = Vec::new();
        for item in &items {
            values.extend(field_values(item, path)?);
        }
        Ok(values)
    }
}

/// Whether a pod's `Ready` condition is `True`.
pub fn pod_is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn field_values(object: &Value, path: &str) -> Result<Vec<String>, ProbeError> {
    let found = jsonpath::select(object, path).map_err(|source| {
        spec_error(SpecError::Path {
            path: path.to_string(),
            source,
        })
    })?;
    Ok(found.into_iter().map(jsonpath::scalar).collect())
}

fn lookup(resource: &str) -> Result<&'static ResourceKind, ProbeError> {
    ResourceKind::lookup(resource)
        .ok_or_else(|| spec_error(SpecError::UnknownKind(resource.to_string())))
}

fn describe_target(
    resource: &str,
    namespace: &str,
    name: Option<&str>,
    selector: Option<&str>,
) -> String {
    let mut what = match name {
        Some(name) => format!("{resource} {name}"),
        None => resource.to_string(),
    };
    if let Some(selector) = selector {
        what.push_str(&format!(" with labels {selector}"));
    }
    let cluster_scoped = ResourceKind::lookup(resource).is_some_and(|k| !k.namespaced);
    if !cluster_scoped {
        what.push_str(&format!(" in namespace {namespace}"));
    }
    what
}

fn spec_error(error: SpecError) -> ProbeError {
    ProbeError::Query {
        engine: EngineKind::Cluster,
        source: Box::new(error),
    }
}

fn query_error(error: ApiError) -> ProbeError {
    match error {
        ApiError::Transport { .. } => ProbeError::Unavailable {
            engine: EngineKind::Cluster,
            reason: error.to_string(),
        },
        other => ProbeError::Query {
            engine: EngineKind::Cluster,
            source: Box::new(other),
        },
    }
}
