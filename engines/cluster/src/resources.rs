//! The table of resource kinds the embedded API server serves.
//!
//! Discovery, routing, printing and OpenAPI all read this one table, so a kind
//! is served consistently everywhere or not at all.

/// One served resource kind, as discovery documents describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceKind {
    /// API group; empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// Plural lower-case name used in URLs (`pods`).
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Subresources served under `<plural>/<name>/<sub>`.
    pub subresources: &'static [&'static str],
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

/// Every kind the embedded cluster serves.
pub const KINDS: &[ResourceKind] = &[
    core(
        "Namespace",
        "namespaces",
        "namespace",
        false,
        &["ns"],
        NONE,
        &["status"],
    ),
    core("Node", "nodes", "node", false, &["no"], NONE, &["status"]),
    core("Pod", "pods", "pod", true, &["po"], ALL, &["log", "status"]),
    core(
        "Service",
        "services",
        "service",
        true,
        &["svc"],
        ALL,
        &["status"],
    ),
    core(
        "Endpoints",
        "endpoints",
        "endpoints",
        true,
        &["ep"],
        NONE,
        NONE,
    ),
    core(
        "ConfigMap",
        "configmaps",
        "configmap",
        true,
        &["cm"],
        NONE,
        NONE,
    ),
    core("Secret", "secrets", "secret", true, NONE, NONE, NONE),
    core("Event", "events", "event", true, &["ev"], NONE, NONE),
    core(
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
        NONE,
        NONE,
    ),
    core(
        "ResourceQuota",
        "resourcequotas",
        "resourcequota",
        true,
        &["quota"],
        NONE,
        &["status"],
    ),
    apps("Deployment", "deployments", "deployment", &["deploy"]),
    apps("ReplicaSet", "replicasets", "replicaset", &["rs"]),
    rbac("Role", "roles", "role"),
    rbac("RoleBinding", "rolebindings", "rolebinding"),
];

/// The group of Roles and RoleBindings. They are stored and printed like
/// any other kind; nothing reads them to authorize a request.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The named groups served, in the order discovery lists them.
pub const GROUPS: &[&str] = &["apps", RBAC_GROUP];

const fn core(
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [&'static str],
) -> ResourceKind {
    ResourceKind {
        group: "",
        version: "v1",
        kind,
        plural,
        singular,
        namespaced,
        short_names,
        categories,
        subresources,
    }
}

const fn apps(
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    short_names: &'static [&'static str],
) -> ResourceKind {
    ResourceKind {
        group: "apps",
        version: "v1",
        kind,
        plural,
        singular,
        namespaced: true,
        short_names,
        categories: ALL,
        subresources: &["scale", "status"],
    }
}

const fn rbac(kind: &'static str, plural: &'static str, singular: &'static str) -> ResourceKind {
    ResourceKind {
        group: RBAC_GROUP,
        version: "v1",
        kind,
        plural,
        singular,
        namespaced: true,
        short_names: NONE,
        categories: NONE,
        subresources: NONE,
    }
}

impl ResourceKind {
    /// `v1` for the core group, `apps/v1` otherwise: the `apiVersion` field.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether a stored object of this kind keeps a status that only the
    /// control plane writes (user updates leave it alone).
    pub fn has_status(&self) -> bool {
        self.subresources.contains(&"status")
    }

    /// The kind served at `group/version` under the URL name `plural`.
    pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceKind> {
        KINDS
            .iter()
            .find(|k| k.group == group && k.version == version && k.plural == plural)
    }

    /// The kind with this `apiVersion` and `kind`, as written in manifests.
    pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceKind> {
        KINDS
            .iter()
            .find(|k| k.api_version() == api_version && k.kind == kind)
    }

    /// The kind whose plural URL name is `plural` (plural names are unique here).
    pub fn by_plural(plural: &str) -> Option<&'static ResourceKind> {
        KINDS.iter().find(|k| k.plural == plural)
    }
}

/// Well-known plural names, for code that names a kind directly.
pub mod plural {
    pub const NAMESPACES: &str = "namespaces";
    pub const NODES: &str = "nodes";
    pub const PODS: &str = "pods";
    pub const SERVICES: &str = "services";
    pub const ENDPOINTS: &str = "endpoints";
    pub const EVENTS: &str = "events";
    pub const SERVICE_ACCOUNTS: &str = "serviceaccounts";
    pub const DEPLOYMENTS: &str = "deployments";
    pub const REPLICA_SETS: &str = "replicasets";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_names_are_unique() {
        for (i, a) in KINDS.iter().enumerate() {
            assert!(
                KINDS[i + 1..].iter().all(|b| b.plural != a.plural),
                "{}",
                a.plural
            );
        }
    }

    #[test]
    fn lookups_find_apps_kinds() {
        let rs = ResourceKind::lookup("apps", "v1", "replicasets").map(|k| k.kind);
        assert_eq!(rs, Some("ReplicaSet"));
        assert_eq!(
            ResourceKind::by_kind("v1", "Pod").map(|k| k.plural),
            Some("pods")
        );
        assert!(ResourceKind::by_kind("apps/v1", "Pod").is_none());
    }
}
