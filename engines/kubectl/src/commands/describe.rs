//! `kubectl describe`: a readable subset of kubectl's describers for pods
//! and deployments, and a generic one (metadata plus events) for the rest.

use serde_json::Value;

use super::modify::selected_names;
use super::{Context, Failure, Outcome, usage};
use crate::kinds::ResourceKind;
use crate::printer;

pub async fn run(ctx: &Context<'_>) -> Outcome {
    let (kind, mut names) = ctx.kind_and_names(0)?;
    if names.is_empty() {
        let selector = ctx.args.value("selector").unwrap_or("");
        names = selected_names(ctx, kind, selector).await?;
        if names.is_empty() {
            return Err(usage(format!(
                "No resources found in {} namespace.",
                ctx.namespace()
            )));
        }
    }
    for (index, name) in names.iter().enumerate() {
        if index > 0 {
            ctx.out.line("\n").await?;
        }
        let object = ctx
            .client
            .get(&kind.object_path(ctx.namespace(), name))
            .await?;
        let events = events_of(ctx, kind, name).await?;
        let text = match kind.kind {
            "Pod" => describe_pod(&object),
            "Deployment" => describe_deployment(&object),
            _ => describe_generic(&object),
        };
        ctx.out.write(text + &events).await?;
    }
    Ok(())
}

/// Aligned `Key:  value` lines, as kubectl's describers print them.
struct Section {
    lines: Vec<(String, String)>,
}

impl Section {
    fn new() -> Section {
        Section { lines: Vec::new() }
    }

    fn add(&mut self, key: &str, value: impl Into<String>) -> &mut Section {
        self.lines.push((format!("{key}:"), value.into()));
        self
    }

    fn render(&self, indent: usize) -> String {
        let width = self.lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
        let pad = " ".repeat(indent);
        let mut text = String::new();
        for (key, value) in &self.lines {
            let mut rows = value.lines();
            let first = rows.next().unwrap_or("");
            text.push_str(&format!("{pad}{key:<width$}{first}\n"));
            for row in rows {
                text.push_str(&format!("{pad}{:<width$}{row}\n", ""));
            }
        }
        text
    }
}

fn text<'a>(object: &'a Value, path: &str) -> &'a str {
    object.pointer(path).and_then(Value::as_str).unwrap_or("")
}

fn or_none(value: &str) -> String {
    match value {
        "" => "<none>".to_string(),
        other => other.to_string(),
    }
}

/// `key=value` lines of a map, or `<none>`.
fn map_lines(object: &Value, path: &str) -> String {
    let Some(map) = object
        .pointer(path)
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
    else {
        return "<none>".to_string();
    };
    map.iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.as_str().map_or_else(|| v.to_string(), String::from)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn metadata(object: &Value, section: &mut Section) {
    section
        .add("Name", text(object, "/metadata/name"))
        .add("Namespace", text(object, "/metadata/namespace"));
}

fn describe_pod(pod: &Value) -> String {
    let mut head = Section::new();
    metadata(pod, &mut head);
    head.add(
        "Service Account",
        or_none(text(pod, "/spec/serviceAccountName")),
    )
    .add("Node", or_none(text(pod, "/spec/nodeName")))
    .add("Start Time", or_none(text(pod, "/status/startTime")))
    .add("Labels", map_lines(pod, "/metadata/labels"))
    .add("Annotations", map_lines(pod, "/metadata/annotations"))
    .add("Status", text(pod, "/status/phase"))
    .add("IP", text(pod, "/status/podIP"));
    if let Some(owner) = pod.pointer("/metadata/ownerReferences/0") {
        head.add(
            "Controlled By",
            format!("{}/{}", text(owner, "/kind"), text(owner, "/name")),
        );
    }
    let mut out = head.render(0);
    out.push_str("Containers:\n");
    for container in array(pod, "/spec/containers") {
        out.push_str(&describe_container(pod, container));
    }
    out.push_str("Conditions:\n  Type              Status\n");
    for condition in array(pod, "/status/conditions") {
        out.push_str(&format!(
            "  {:<18}{}\n",
            text(condition, "/type"),
            text(condition, "/status")
        ));
    }
    out
}

fn describe_container(pod: &Value, container: &Value) -> String {
    let name = text(container, "/name");
    let status = array(pod, "/status/containerStatuses")
        .into_iter()
        .find(|s| text(s, "/name") == name);
    let mut section = Section::new();
    section.add("Image", text(container, "/image"));
    let ports: Vec<String> = array(container, "/ports")
        .iter()
        .map(|p| {
            let protocol = p
                .pointer("/protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP");
            format!("{}/{protocol}", p["containerPort"])
        })
        .collect();
    section.add("Port", or_none(&ports.join(", ")));
    if let Some(status) = status {
        let state = status
            .pointer("/state")
            .and_then(Value::as_object)
            .and_then(|s| s.keys().next().cloned())
            .unwrap_or_default();
        let mut state_name = state.clone();
        if let Some(first) = state_name.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        section
            .add("State", state_name)
            .add(
                "Ready",
                if status["ready"] == true {
                    "True"
                } else {
                    "False"
                },
            )
            .add("Restart Count", status["restartCount"].to_string());
    }
    format!("  {name}:\n{}", section.render(4))
}

fn describe_deployment(deployment: &Value) -> String {
    let number = |path: &str| {
        deployment
            .pointer(path)
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let mut head = Section::new();
    metadata(deployment, &mut head);
    head.add(
        "CreationTimestamp",
        text(deployment, "/metadata/creationTimestamp"),
    )
    .add("Labels", map_lines(deployment, "/metadata/labels"))
    .add(
        "Annotations",
        map_lines(deployment, "/metadata/annotations"),
    )
    .add(
        "Selector",
        map_lines(deployment, "/spec/selector/matchLabels").replace('\n', ","),
    )
    .add(
        "Replicas",
        format!(
            "{} desired | {} updated | {} total | {} available | {} unavailable",
            number("/spec/replicas"),
            number("/status/updatedReplicas"),
            number("/status/replicas"),
            number("/status/availableReplicas"),
            number("/status/unavailableReplicas"),
        ),
    )
    .add(
        "StrategyType",
        or_none(text(deployment, "/spec/strategy/type")),
    );
    let mut out = head.render(0);
    out.push_str("Pod Template:\n");
    let mut labels = Section::new();
    labels.add(
        "Labels",
        map_lines(deployment, "/spec/template/metadata/labels"),
    );
    out.push_str(&labels.render(2));
    out.push_str("  Containers:\n");
    let template = deployment
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(Value::Null);
    for container in array(&template, "/spec/containers") {
        let mut c = Section::new();
        c.add("Image", text(container, "/image"));
        out.push_str(&format!(
            "   {}:\n{}",
            text(container, "/name"),
            c.render(4)
        ));
    }
    out.push_str("Conditions:\n  Type           Status  Reason\n  ----           ------  ------\n");
    for condition in array(deployment, "/status/conditions") {
        out.push_str(&format!(
            "  {:<15}{:<8}{}\n",
            text(condition, "/type"),
            text(condition, "/status"),
            text(condition, "/reason")
        ));
    }
    out
}

fn describe_generic(object: &Value) -> String {
    let mut head = Section::new();
    metadata(object, &mut head);
    head.add("Labels", map_lines(object, "/metadata/labels"))
        .add("Annotations", map_lines(object, "/metadata/annotations"));
    let mut out = head.render(0);
    for field in ["spec", "data", "status"] {
        if let Some(value) = object.get(field).filter(|v| !v.is_null()) {
            let mut capitalised = field.to_string();
            if let Some(first) = capitalised.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            out.push_str(&format!("{capitalised}:\n"));
            for line in printer::yaml(value).lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out
}

fn array<'a>(object: &'a Value, path: &str) -> Vec<&'a Value> {
    object
        .pointer(path)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// The `Events:` block: events about this object, oldest first.
async fn events_of(ctx: &Context<'_>, kind: &ResourceKind, name: &str) -> Result<String, Failure> {
    if !kind.namespaced {
        return Ok("Events:  <none>\n".to_string());
    }
    let list = ctx
        .client
        .get(&format!("/api/v1/namespaces/{}/events", ctx.namespace()))
        .await?;
    let events: Vec<&Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            text(e, "/involvedObject/name") == name && text(e, "/involvedObject/kind") == kind.kind
        })
        .collect();
    if events.is_empty() {
        return Ok("Events:  <none>\n".to_string());
    }
    let mut rows = vec![
        ["Type", "Reason", "Age", "From", "Message"]
            .map(String::from)
            .to_vec(),
        ["----", "------", "----", "----", "-------"]
            .map(String::from)
            .to_vec(),
    ];
    for event in events {
        let when = [
            text(event, "/lastTimestamp"),
            text(event, "/eventTime"),
            text(event, "/metadata/creationTimestamp"),
        ]
        .into_iter()
        .find(|t| !t.is_empty())
        .and_then(printer::seconds_since)
        .map_or_else(|| "<unknown>".to_string(), printer::human_age);
        rows.push(vec![
            text(event, "/type").to_string(),
            text(event, "/reason").to_string(),
            when,
            text(event, "/source/component").to_string(),
            text(event, "/message").to_string(),
        ]);
    }
    let table = printer::table(&rows);
    let indented: String = table.lines().map(|l| format!("  {l}\n")).collect();
    Ok(format!("Events:\n{indented}"))
}
