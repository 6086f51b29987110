//! External clusters: one namespace per student, with a service account, a
//! Role and RoleBinding that confine it to that namespace, and a
//! ResourceQuota on object counts.
//!
//! The lab itself keeps talking with the kubeconfig's credentials and scopes
//! its commands with [`ClusterClient::with_namespace`]; the service account
//! is what a student-facing credential would be issued for. So the Role
//! confines nothing yet: a student's `kubectl -n other` reaches what the
//! kubeconfig's account may reach. Issuing each session a token of its
//! service account (or impersonating it) would make the Role the limit;
//! that needs a ClusterRole for the cluster-wide reads the lessons use
//! (`kubectl get nodes`).
//!
//! Preparing is idempotent: objects that exist are brought back to what the
//! lab wants, and a namespace still being deleted from an earlier session is
//! waited for before it is made again.

use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{ApiError, ClusterClient};

/// The service account, Role and RoleBinding name in each namespace.
const STUDENT_ACCOUNT: &str = "student";

/// Verbs a student may use on the kinds of the lab's scenarios.
const VERBS: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// How long a namespace left terminating by an earlier session is waited for.
const TERMINATING_WAIT: Duration = Duration::from_secs(90);
const TERMINATING_POLL: Duration = Duration::from_millis(500);

/// Setting up or removing a student's namespace failed.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("student name {0:?} has no letters or digits to name a namespace after")]
    EmptyName(String),
    #[error("failed to create {kind} {name} for the student")]
    Create {
        kind: &'static str,
        name: String,
        #[source]
        source: ApiError,
    },
    #[error("namespace {name} is still being deleted after {seconds} s; try again later")]
    StillTerminating { name: String, seconds: u64 },
    #[error("failed to delete namespace {name}")]
    Delete {
        name: String,
        #[source]
        source: ApiError,
    },
}

/// Creates (or finds) the namespace `lab-<student>` with its account, Role,
/// RoleBinding and ResourceQuota. Returns the namespace name.
pub async fn prepare_student_namespace(
    client: &ClusterClient,
    student: &str,
) -> Result<String, NamespaceError> {
    let namespace = namespace_for(student)?;
    create_namespace(client, &namespace, student).await?;
    let objects = [
        (
            namespaced(&namespace, "/api/v1", "serviceaccounts"),
            service_account(),
        ),
        (
            namespaced(&namespace, "/apis/rbac.authorization.k8s.io/v1", "roles"),
            role(),
        ),
        (
            namespaced(
                &namespace,
                "/apis/rbac.authorization.k8s.io/v1",
                "rolebindings",
            ),
            role_binding(&namespace),
        ),
        (namespaced(&namespace, "/api/v1", "resourcequotas"), quota()),
    ];
    for (path, object) in objects {
        create_or_update(client, &path, &object).await?;
    }
    tracing::info!(%namespace, "student namespace ready");
    Ok(namespace)
}

/// Deletes a student's namespace and everything in it. A namespace already
/// gone is fine. On a real cluster the deletion finishes in the background.
pub async fn delete_student_namespace(
    client: &ClusterClient,
    namespace: &str,
) -> Result<(), NamespaceError> {
    match client
        .delete(&format!("/api/v1/namespaces/{namespace}"))
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if error.is_not_found() => Ok(()),
        Err(source) => Err(NamespaceError::Delete {
            name: namespace.to_string(),
            source,
        }),
    }
}

/// Creates the namespace, first waiting out a deletion of the same name
/// that is still under way (namespaces terminate in the background).
async fn create_namespace(
    client: &ClusterClient,
    namespace: &str,
    student: &str,
) -> Result<(), NamespaceError> {
    let object = namespace_object(namespace, student);
    let started = tokio::time::Instant::now();
    loop {
        match client.create("/api/v1/namespaces", &object).await {
            Ok(_) => return Ok(()),
            Err(ApiError::Server { code: 409, .. }) => {}
            Err(source) => return Err(create_error(&object, source)),
        }
        let existing = match client.get(&format!("/api/v1/namespaces/{namespace}")).await {
            Ok(existing) => existing,
            // Gone between the two requests: create again.
            Err(error) if error.is_not_found() => continue,
            Err(source) => return Err(create_error(&object, source)),
        };
        if !is_terminating(&existing) {
            return Ok(());
        }
        if started.elapsed() >= TERMINATING_WAIT {
            return Err(NamespaceError::StillTerminating {
                name: namespace.to_string(),
                seconds: TERMINATING_WAIT.as_secs(),
            });
        }
        tokio::time::sleep(TERMINATING_POLL).await;
    }
}

fn is_terminating(namespace: &Value) -> bool {
    namespace.pointer("/metadata/deletionTimestamp").is_some()
        || namespace.pointer("/status/phase") == Some(&json!("Terminating"))
}

/// `lab-` and the student's name as a DNS label: lower case letters,
/// digits and dashes, at most 63 characters. A name that had to be changed
/// to fit (`bob_smith`, `Ada Lovelace`, a very long one) also gets a hash of
/// the original, so two students whose names clean up alike (`bob_smith`
/// and `bob-smith`) do not share a namespace. The same name always gives
/// the same namespace.
pub fn namespace_for(student: &str) -> Result<String, NamespaceError> {
    const MAX: usize = 63;
    let cleaned: String = student
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        return Err(NamespaceError::EmptyName(student.to_string()));
    }
    let name = format!("lab-{trimmed}");
    if trimmed == student && name.len() <= MAX {
        return Ok(name);
    }
    let suffix = format!("-{:08x}", fnv1a(student.as_bytes()));
    let mut base = name;
    base.truncate(MAX - suffix.len());
    Ok(format!("{}{suffix}", base.trim_end_matches('-')))
}

/// FNV-1a, 32 bits: stable across Rust versions, unlike the std hasher.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

fn namespaced(namespace: &str, prefix: &str, plural: &str) -> String {
    format!("{prefix}/namespaces/{namespace}/{plural}")
}

/// Creates `object` in the collection at `path`; one that exists already
/// gets the lab's version merged in (a Role from an older lab gains the
/// rules added since).
async fn create_or_update(
    client: &ClusterClient,
    path: &str,
    object: &Value,
) -> Result<(), NamespaceError> {
    match client.create(path, object).await {
        Ok(_) => Ok(()),
        Err(ApiError::Server { code: 409, .. }) => {
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            client
                .merge_patch(&format!("{path}/{name}"), object)
                .await
                .map(|_| ())
                .map_err(|source| create_error(object, source))
        }
        Err(source) => Err(create_error(object, source)),
    }
}

fn create_error(object: &Value, source: ApiError) -> NamespaceError {
    NamespaceError::Create {
        kind: kind_of(object),
        name: object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        source,
    }
}

fn kind_of(object: &Value) -> &'static str {
    match object["kind"].as_str() {
        Some("Namespace") => "namespace",
        Some("ServiceAccount") => "service account",
        Some("Role") => "role",
        Some("RoleBinding") => "role binding",
        _ => "resource quota",
    }
}

fn namespace_object(namespace: &str, student: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {"app.kubernetes.io/managed-by": "lab"},
            "annotations": {"lab/student": student},
        },
    })
}

fn service_account() -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": STUDENT_ACCOUNT}})
}

fn role() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": STUDENT_ACCOUNT},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["pods", "pods/log", "services", "endpoints", "configmaps",
                              "secrets", "events", "serviceaccounts"],
                "verbs": VERBS,
            },
            {
                "apiGroups": ["apps"],
                "resources": ["deployments", "deployments/scale", "replicasets"],
                "verbs": VERBS,
            },
            {
                "apiGroups": [""],
                "resources": ["resourcequotas"],
                "verbs": ["get", "list", "watch"],
            },
        ],
    })
}

fn role_binding(namespace: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": STUDENT_ACCOUNT},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": STUDENT_ACCOUNT},
        "subjects": [{"kind": "ServiceAccount", "name": STUDENT_ACCOUNT, "namespace": namespace}],
    })
}

/// Counts only: a quota on CPU or memory would refuse every pod that does
/// not declare requests, which `kubectl create deployment` pods do not.
fn quota() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "lab-quota"},
        "spec": {"hard": {
            "pods": "10",
            "services": "5",
            "services.nodeports": "3",
            "configmaps": "10",
            "secrets": "10",
            "count/deployments.apps": "5",
            "count/replicasets.apps": "20",
        }},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names_are_dns_labels() {
        assert_eq!(namespace_for("alice").unwrap(), "lab-alice");
        let odd = namespace_for("bob.smith@school").unwrap();
        assert!(odd.starts_with("lab-bob-smith-school-"), "{odd}");
        assert!(namespace_for("@@@").is_err());
        let long = namespace_for(&"x".repeat(100)).unwrap();
        assert_eq!(long.len(), 63);
        for name in [odd, long, namespace_for("Ada Lovelace").unwrap()] {
            assert!(name.len() <= 63, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            assert!(!name.ends_with('-'), "{name}");
        }
    }

    #[test]
    fn names_that_clean_up_alike_get_different_namespaces() {
        let underscore = namespace_for("bob_smith").unwrap();
        let dash = namespace_for("bob-smith").unwrap();
        assert_eq!(dash, "lab-bob-smith");
        assert_ne!(underscore, dash);
        assert_ne!(namespace_for("Alice").unwrap(), "lab-alice");
        assert_eq!(underscore, namespace_for("bob_smith").unwrap());
    }

    #[test]
    fn terminating_namespaces_are_recognised() {
        assert!(is_terminating(
            &json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}})
        ));
        assert!(is_terminating(&json!({"status": {"phase": "Terminating"}})));
        assert!(!is_terminating(&json!({"status": {"phase": "Active"}})));
    }
}
