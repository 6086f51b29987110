//! The resource kinds the lab's `kubectl` knows, with kubectl's short names,
//! and the REST paths that address them.

/// One served kind, as `kubectl api-resources` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceKind {
    /// Plural resource name used in URLs: `deployments`.
    pub plural: &'static str,
    pub singular: &'static str,
    /// Short names kubectl accepts: `deploy`.
    pub short: &'static [&'static str],
    /// The object's `kind`: `Deployment`.
    pub kind: &'static str,
    /// API group; empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub namespaced: bool,
}

const fn kind(
    plural: &'static str,
    singular: &'static str,
    short: &'static [&'static str],
    kind: &'static str,
    group: &'static str,
    namespaced: bool,
) -> ResourceKind {
    ResourceKind {
        plural,
        singular,
        short,
        kind,
        group,
        version: "v1",
        namespaced,
    }
}

/// Every kind, in the order `kubectl api-resources` prints them (core group
/// first, then by group, then by name).
pub const KINDS: &[ResourceKind] = &[
    kind("configmaps", "configmap", &["cm"], "ConfigMap", "", true),
    kind("endpoints", "endpoints", &["ep"], "Endpoints", "", true),
    kind("events", "event", &["ev"], "Event", "", true),
    kind("namespaces", "namespace", &["ns"], "Namespace", "", false),
    kind("nodes", "node", &["no"], "Node", "", false),
    kind("pods", "pod", &["po"], "Pod", "", true),
    kind(
        "resourcequotas",
        "resourcequota",
        &["quota"],
        "ResourceQuota",
        "",
        true,
    ),
    kind("secrets", "secret", &[], "Secret", "", true),
    kind(
        "serviceaccounts",
        "serviceaccount",
        &["sa"],
        "ServiceAccount",
        "",
        true,
    ),
    kind("services", "service", &["svc"], "Service", "", true),
    kind(
        "deployments",
        "deployment",
        &["deploy"],
        "Deployment",
        "apps",
        true,
    ),
    kind(
        "replicasets",
        "replicaset",
        &["rs"],
        "ReplicaSet",
        "apps",
        true,
    ),
    kind(
        "rolebindings",
        "rolebinding",
        &[],
        "RoleBinding",
        RBAC_GROUP,
        true,
    ),
    kind("roles", "role", &[], "Role", RBAC_GROUP, true),
];

/// The group of Roles and RoleBindings.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// What `kubectl get all` expands to, in kubectl's order (kinds the lab does
/// not serve are left out).
pub const ALL: &[&str] = &["pods", "services", "deployments", "replicasets"];

impl ResourceKind {
    /// Finds a kind by plural, singular, short name or kind, ignoring case
    /// and an optional `.group` suffix (`deployments.apps`).
    pub fn lookup(name: &str) -> Option<&'static ResourceKind> {
        let lower = name.to_ascii_lowercase();
        let (base, group) = match lower.split_once('.') {
            Some((base, group)) => (base.to_string(), Some(group.to_string())),
            None => (lower, None),
        };
        KINDS.iter().find(|k| {
            let named = k.plural == base
                || k.singular == base
                || k.short.contains(&base.as_str())
                || k.kind.eq_ignore_ascii_case(&base);
            named && group.as_deref().is_none_or(|g| g == k.group)
        })
    }

    /// Finds a kind by its object `apiVersion` and `kind`.
    pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceKind> {
        KINDS
            .iter()
            .find(|k| k.kind == kind && k.api_version() == api_version)
    }

    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        match self.group {
            "" => self.version.to_string(),
            group => format!("{group}/{}", self.version),
        }
    }

    /// How kubectl names the kind in `-o name` output and messages:
    /// `pod`, `deployment.apps`.
    pub fn qualified(&self) -> String {
        match self.group {
            "" => self.singular.to_string(),
            group => format!("{}.{group}", self.singular),
        }
    }

    /// How the API server names the resource in errors: `pods`,
    /// `deployments.apps`.
    pub fn qualified_plural(&self) -> String {
        match self.group {
            "" => self.plural.to_string(),
            group => format!("{}.{group}", self.plural),
        }
    }

    /// The collection path: in `namespace`, or across all namespaces when
    /// `None` (and always for cluster-scoped kinds).
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let prefix = match self.group {
            "" => format!("/api/{}", self.version),
            group => format!("/apis/{group}/{}", self.version),
        };
        match namespace.filter(|_| self.namespaced) {
            Some(namespace) => format!("{prefix}/namespaces/{namespace}/{}", self.plural),
            None => format!("{prefix}/{}", self.plural),
        }
    }

    /// The path of one object; the name is percent-encoded as kubectl
    /// encodes it, so a name typed with `?` or `/` stays one path segment.
    pub fn object_path(&self, namespace: &str, name: &str) -> String {
        format!("{}/{}", self.collection_path(Some(namespace)), encode(name))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(char::from(byte))
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_and_groups_resolve() {
        assert_eq!(
            ResourceKind::lookup("deploy").map(|k| k.plural),
            Some("deployments")
        );
        assert_eq!(ResourceKind::lookup("Pod").map(|k| k.plural), Some("pods"));
        assert_eq!(
            ResourceKind::lookup("deployments.apps").map(|k| k.plural),
            Some("deployments")
        );
        assert!(ResourceKind::lookup("deployments.batch").is_none());
        assert!(ResourceKind::lookup("foo").is_none());
    }

    #[test]
    fn paths_follow_group_and_scope() {
        let deploy = ResourceKind::lookup("deploy").unwrap();
        assert_eq!(
            deploy.object_path("default", "web"),
            "/apis/apps/v1/namespaces/default/deployments/web"
        );
        let nodes = ResourceKind::lookup("no").unwrap();
        assert_eq!(nodes.collection_path(Some("default")), "/api/v1/nodes");
    }
}
