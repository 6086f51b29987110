//! Commands about the cluster rather than its objects: `cluster-info`,
//! `version`, `api-resources`, `explain`, `config view`, and the
//! explanations printed for commands the lab shell cannot offer.

use serde_json::Value;

use super::{Context, Outcome, usage};
use crate::printer;

/// The version the lab's kubectl reports for itself.
pub const CLIENT_VERSION: &str = "v1.32.0-lab";

pub async fn cluster_info(ctx: &Context<'_>) -> Outcome {
    let server = ctx.client.server();
    let mut text = format!("Kubernetes control plane is running at {server}\n");
    let path = "/api/v1/namespaces/kube-system/services?labelSelector=kubernetes.io%2Fcluster-service%3Dtrue";
    let services = ctx.client.get(path).await?;
    for service in services["items"].as_array().into_iter().flatten() {
        let name = service
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let port = service
            .pointer("/spec/ports/0/name")
            .and_then(Value::as_str)
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        text.push_str(&format!(
            "{} is running at {server}/api/v1/namespaces/kube-system/services/{name}{port}/proxy\n",
            display_name(service, name)
        ));
    }
    text.push_str(
        "\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n",
    );
    ctx.out.write(text).await?;
    Ok(())
}

fn display_name<'a>(service: &'a Value, name: &'a str) -> &'a str {
    service
        .pointer("/metadata/labels/kubernetes.io~1name")
        .and_then(Value::as_str)
        .unwrap_or(name)
}

pub async fn version(ctx: &Context<'_>) -> Outcome {
    ctx.out
        .line(format!("Client Version: {CLIENT_VERSION}"))
        .await?;
    if ctx.args.switch("client") {
        return Ok(());
    }
    let server = ctx.client.get("/version").await?;
    let version = server["gitVersion"].as_str().unwrap_or("unknown");
    ctx.out.line(format!("Server Version: {version}")).await?;
    Ok(())
}

/// Lists what discovery reports, core group first, then the other groups in
/// the server's order, names sorted within each.
pub async fn api_resources(ctx: &Context<'_>) -> Outcome {
    let mut rows = vec![
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
            .map(String::from)
            .to_vec(),
    ];
    let core = ctx.client.get("/api/v1").await?;
    rows.extend(resource_rows(&core, "v1"));
    let groups = ctx.client.get("/apis").await?;
    for group in groups["groups"].as_array().into_iter().flatten() {
        let Some(version) = group
            .pointer("/preferredVersion/groupVersion")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let list = ctx.client.get(&format!("/apis/{version}")).await?;
        rows.extend(resource_rows(&list, version));
    }
    ctx.out.write(printer::table(&rows)).await?;
    Ok(())
}

fn resource_rows(list: &Value, group_version: &str) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = list["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"].as_str().is_some_and(|n| !n.contains('/')))
        .map(|r| {
            let shorts: Vec<&str> = r["shortNames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            vec![
                r["name"].as_str().unwrap_or_default().to_string(),
                shorts.join(","),
                group_version.to_string(),
                r["namespaced"].as_bool().unwrap_or(false).to_string(),
                r["kind"].as_str().unwrap_or_default().to_string(),
            ]
        })
        .collect();
    rows.sort();
    rows
}

/// A kind, what it is, and its top-level fields with what they hold.
type Explanation = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Short descriptions of each kind, written for the lab.
const EXPLANATIONS: &[Explanation] = &[
    (
        "Pod",
        "The smallest thing Kubernetes runs: one or more containers that share a network address and start, stop and are scheduled together.",
        &[
            (
                "spec",
                "What should run: containers, their images, ports and restart policy.",
            ),
            (
                "status",
                "What is running now: phase, conditions, the pod's IP and each container's state.",
            ),
        ],
    ),
    (
        "Deployment",
        "Keeps a number of identical pods running from one pod template, and replaces them step by step (a rollout) when the template changes.",
        &[
            (
                "spec",
                "The replica count, the label selector and the pod template.",
            ),
            (
                "status",
                "How many replicas exist, are up to date and are available.",
            ),
        ],
    ),
    (
        "ReplicaSet",
        "Keeps a fixed number of pods matching a selector. Deployments create one replica set per version of their pod template.",
        &[
            (
                "spec",
                "The replica count, the selector and the pod template.",
            ),
            ("status", "How many pods exist and how many are ready."),
        ],
    ),
    (
        "Service",
        "A stable name and virtual address in front of the pods its selector matches; a NodePort service is also reachable on a port of every node.",
        &[
            (
                "spec",
                "Selector, ports, and the type (ClusterIP, NodePort).",
            ),
            ("status", "Load balancer state, when there is one."),
        ],
    ),
    (
        "Node",
        "A machine that runs pods. The lab's cluster has one node.",
        &[
            ("spec", "Scheduling settings of the node."),
            (
                "status",
                "Conditions, addresses, capacity and versions of the node.",
            ),
        ],
    ),
    (
        "Namespace",
        "A named group of objects; names must be unique only inside one namespace.",
        &[
            ("spec", "Finalizers."),
            ("status", "Whether the namespace is Active or Terminating."),
        ],
    ),
];

pub async fn explain(ctx: &Context<'_>) -> Outcome {
    let target = ctx
        .operands(0)
        .first()
        .ok_or_else(|| usage("You must specify the type of resource to explain."))?;
    let kind = ctx.kind(target.split('.').next().unwrap_or(target))?;
    let (_, description, fields) = EXPLANATIONS
        .iter()
        .find(|(name, _, _)| *name == kind.kind)
        .ok_or_else(|| usage(format!("the lab has no explanation of {} yet", kind.plural)))?;
    let mut text = format!(
        "GROUP:      {}\nKIND:       {}\nVERSION:    {}\n\nDESCRIPTION:\n    {description}\n\nFIELDS:\n",
        kind.group, kind.kind, kind.version
    );
    text.push_str("  apiVersion\t<string>\n    The version of the schema of this object.\n\n");
    text.push_str("  kind\t<string>\n    The type of this object.\n\n");
    text.push_str(
        "  metadata\t<ObjectMeta>\n    Name, namespace, labels, annotations and owners.\n\n",
    );
    for (field, about) in *fields {
        text.push_str(&format!("  {field}\t<Object>\n    {about}\n\n"));
    }
    ctx.out.write(text).await?;
    Ok(())
}

/// `config view` and `config current-context`.
pub async fn config(ctx: &Context<'_>) -> Outcome {
    match ctx.operands(0).first().map(String::as_str) {
        Some("view") => {
            let text = format!(
                "apiVersion: v1\nclusters:\n- cluster:\n    server: {}\n  name: lab\ncontexts:\n- context:\n    cluster: lab\n    namespace: {}\n    user: lab\n  name: lab\ncurrent-context: lab\nkind: Config\npreferences: {{}}\nusers:\n- name: lab\n  user: {{}}\n",
                ctx.client.server(),
                ctx.client.namespace()
            );
            ctx.out.write(text).await?;
            Ok(())
        }
        Some("current-context") => Ok(ctx.out.line("lab").await?),
        _ => Err(usage(
            "the lab's kubectl supports \"config view\" and \"config current-context\"",
        )),
    }
}

pub async fn not_available(subcommand: &str) -> Outcome {
    let advice = match subcommand {
        "exec" | "attach" | "cp" => {
            "the lab shell cannot open a terminal inside a pod. See what a pod does with `kubectl logs POD` and `kubectl describe pod POD`."
        }
        "port-forward" | "proxy" => {
            "no forwarding is needed here: a NodePort service is reachable on this machine. Find its port with `kubectl get svc` (the number after the colon in PORT(S)) and open it with `curl http://localhost:PORT`."
        }
        _ => {
            "there is no editor attached to kubectl in the lab shell. Change objects with `kubectl scale`, `kubectl set image`, or save them with `kubectl get deploy NAME -o yaml > app.yaml`, change the file and run `kubectl apply -f app.yaml`."
        }
    };
    Err(usage(format!(
        "\"kubectl {subcommand}\" is not available in the lab: {advice}"
    )))
}
