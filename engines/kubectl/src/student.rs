//! External clusters: one namespace per student, with a service account, a
//! Role and RoleBinding that confine it to that namespace, and a
//! ResourceQuota on object counts.
//!
//! The lab itself keeps talking with the kubeconfig's credentials and scopes
//! its commands with [`ClusterClient::with_namespace`]; the service account
//! is what a student-facing credential would be issued for. The embedded
//! cluster serves neither RBAC nor quotas, so there this fails at the first
//! of those objects with an error that names it.

use serde_json::{Value, json};

use crate::client::{ApiError, ClusterClient};

/// The service account, Role and RoleBinding name in each namespace.
const STUDENT_ACCOUNT: &str = "student";

/// Verbs a student may use on the kinds of the lab's scenarios.
const VERBS: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// Setting up a student's namespace failed.
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
}

/// Creates (or finds) the namespace `lab-<student>` with its account, Role,
/// RoleBinding and ResourceQuota. Returns the namespace name.
pub async fn prepare_student_namespace(
    client: &ClusterClient,
    student: &str,
) -> Result<String, NamespaceError> {
    let namespace = namespace_for(student)?;
    let objects = [
        (
            "/api/v1/namespaces".to_string(),
            namespace_object(&namespace, student),
        ),
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
        create_if_missing(client, &path, &object).await?;
    }
    tracing::info!(%namespace, "student namespace ready");
    Ok(namespace)
}

/// `lab-` and the student's name as a DNS label: lower case letters,
/// digits and dashes, at most 63 characters.
pub fn namespace_for(student: &str) -> Result<String, NamespaceError> {
    let cleaned: String = student
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        return Err(NamespaceError::EmptyName(student.to_string()));
    }
    let mut name = format!("lab-{trimmed}");
    name.truncate(63);
    Ok(name.trim_end_matches('-').to_string())
}

fn namespaced(namespace: &str, prefix: &str, plural: &str) -> String {
    format!("{prefix}/namespaces/{namespace}/{plural}")
}

async fn create_if_missing(
    client: &ClusterClient,
    path: &str,
    object: &Value,
) -> Result<(), NamespaceError> {
    match client.create(path, object).await {
        Ok(_) | Err(ApiError::Server { code: 409, .. }) => Ok(()),
        Err(source) => Err(NamespaceError::Create {
            kind: kind_of(object),
            name: object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            source,
        }),
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
        assert_eq!(namespace_for("Alice").unwrap(), "lab-alice");
        assert_eq!(
            namespace_for("bob.smith@school").unwrap(),
            "lab-bob-smith-school"
        );
        assert!(namespace_for("@@@").is_err());
        let long = namespace_for(&"x".repeat(100)).unwrap();
        assert_eq!(long.len(), 63);
    }
}
