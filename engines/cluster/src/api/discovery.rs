//! Discovery documents in their legacy (non-aggregated) form: `/version`,
//! `/api`, `/apis`, and one resource list per group version. kubectl asks for
//! the aggregated form first and falls back to these when the server answers
//! with plain `application/json`.

use serde_json::{Value, json};

use crate::resources::{GROUPS, KINDS, ResourceKind};

/// The Kubernetes version the embedded cluster reports.
pub const GIT_VERSION: &str = "v1.32.0";

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z",
        "goVersion": "go1.23.3",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`: the core group's versions.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// `/apis`: every named group.
pub fn group_list() -> Value {
    let groups: Vec<Value> = GROUPS.iter().map(|name| group_entry(name)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, or `None` for a group not served.
pub fn group(name: &str) -> Option<Value> {
    GROUPS.contains(&name).then(|| {
        let mut group = group_entry(name);
        group["kind"] = json!("APIGroup");
        group["apiVersion"] = json!("v1");
        group
    })
}

/// A named group with its one version, `v1`.
fn group_entry(name: &str) -> Value {
    let version = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
    json!({"name": name, "versions": [version.clone()], "preferredVersion": version})
}

/// `/api/v1` or `/apis/<group>/<version>`, or `None` when not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let kinds: Vec<&ResourceKind> = KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let resources: Vec<Value> = kinds.iter().flat_map(|k| kind_entries(k)).collect();
    let group_version = kinds[0].api_version();
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn kind_entries(kind: &ResourceKind) -> Vec<Value> {
    let mut main = json!({
        "name": kind.plural,
        "singularName": kind.singular,
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": VERBS,
    });
    if !kind.short_names.is_empty() {
        main["shortNames"] = json!(kind.short_names);
    }
    if !kind.categories.is_empty() {
        main["categories"] = json!(kind.categories);
    }
    let mut entries = vec![main];
    entries.extend(
        kind.subresources
            .iter()
            .map(|sub| subresource_entry(kind, sub)),
    );
    entries
}

fn subresource_entry(kind: &ResourceKind, sub: &str) -> Value {
    let mut entry = json!({
        "name": format!("{}/{sub}", kind.plural),
        "singularName": "",
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": ["get", "patch", "update"],
    });
    match sub {
        "log" => entry["verbs"] = json!(["get"]),
        "scale" => {
            entry["group"] = json!("autoscaling");
            entry["version"] = json!("v1");
            entry["kind"] = json!("Scale");
        }
        _ => {}
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_list_has_pods_with_short_name_and_log() {
        let list = resource_list("", "v1").unwrap();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(names.contains(&"pods") && names.contains(&"pods/log"));
        assert!(resource_list("batch", "v1").is_none());
    }

    #[test]
    fn rbac_group_is_discoverable() {
        let groups = group_list();
        let names: Vec<&str> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| g["name"].as_str())
            .collect();
        assert_eq!(names, ["apps", "rbac.authorization.k8s.io"]);
        let list = resource_list("rbac.authorization.k8s.io", "v1").unwrap();
        assert_eq!(list["resources"][0]["name"], "roles");
        assert_eq!(list["resources"][1]["name"], "rolebindings");
        assert!(group("rbac.authorization.k8s.io").is_some());
    }
}
