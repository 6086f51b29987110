//! Services: cluster IP and node port allocation at admission, and the
//! endpoints controller that lists the ready pods behind each selector.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::api::selector::LabelSelector;
use crate::store::{Store, object_name};

/// The node port range of a default API server.
pub const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// Gives a new Service its cluster IP and, for NodePort/LoadBalancer, node
/// ports; checks ports the client chose. The error is a field problem.
pub fn allocate(store: &Store, service: &mut Value) -> Result<(), String> {
    let (services, _) = store.list("services", None);
    if service
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        let used: HashSet<String> = services
            .iter()
            .filter_map(|s| {
                s.pointer("/spec/clusterIP")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        let ip = (2u32..65_000)
            .map(|n| format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff))
            .find(|ip| !used.contains(ip) && !ip.ends_with(".0") && !ip.ends_with(".255"))
            .ok_or("spec.clusterIP: Internal error: no cluster IPs left")?;
        service["spec"]["clusterIP"] = json!(ip);
        service["spec"]["clusterIPs"] = json!([ip]);
    }
    let node_port_type = matches!(
        service.pointer("/spec/type").and_then(Value::as_str),
        Some("NodePort" | "LoadBalancer")
    );
    if node_port_type {
        allocate_node_ports(&services, service)?;
    }
    Ok(())
}

fn allocate_node_ports(services: &[Value], service: &mut Value) -> Result<(), String> {
    let mut used: HashSet<i64> = services
        .iter()
        .flat_map(|s| {
            s.pointer("/spec/ports")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| p["nodePort"].as_i64())
        .collect();
    let Some(ports) = service
        .pointer_mut("/spec/ports")
        .and_then(Value::as_array_mut)
    else {
        return Ok(());
    };
    for (index, port) in ports.iter_mut().enumerate() {
        match port["nodePort"].as_i64() {
            Some(chosen) if !NODE_PORTS.contains(&chosen) => {
                return Err(format!(
                    "spec.ports[{index}].nodePort: Invalid value: {chosen}: provided port is not in the valid range. The range of valid ports is 30000-32767"
                ));
            }
            Some(chosen) if !used.insert(chosen) => {
                return Err(format!(
                    "spec.ports[{index}].nodePort: Invalid value: {chosen}: provided port is already allocated"
                ));
            }
            Some(_) => {}
            None => {
                let free = random_free_port(&used).ok_or("spec.ports: no node ports left")?;
                used.insert(free);
                port["nodePort"] = json!(free);
            }
        }
    }
    Ok(())
}

fn random_free_port(used: &HashSet<i64>) -> Option<i64> {
    let span = NODE_PORTS.end() - NODE_PORTS.start() + 1;
    let start = i64::from(rand::random::<u16>()) % span;
    (0..span)
        .map(|i| NODE_PORTS.start() + (start + i) % span)
        .find(|p| !used.contains(p) && host_port_free(*p))
}

/// Whether the node address can listen on `port` now; keeps clusters that
/// share a host (and other programs) from being handed the same node port.
fn host_port_free(port: i64) -> bool {
    u16::try_from(port)
        .is_ok_and(|port| std::net::TcpListener::bind((crate::seed::NODE_IP, port)).is_ok())
}

/// Keeps one Endpoints object per Service with a selector, listing the
/// ready (and not ready) pods it selects.
pub fn reconcile_endpoints(store: &Store) {
    let (services, _) = store.list("services", None);
    let (pods, _) = store.list("pods", None);
    for service in &services {
        if service
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .is_none_or(|s| s.is_empty())
        {
            continue;
        }
        let namespace = service["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        let desired = endpoints_for(service, &pods);
        write_endpoints(store, namespace, &object_name(service), desired);
    }
    let (endpoints, _) = store.list("endpoints", None);
    for ep in endpoints {
        let namespace = ep["metadata"]["namespace"].as_str().unwrap_or("");
        let name = object_name(&ep);
        let has_service = services
            .iter()
            .any(|s| object_name(s) == name && s["metadata"]["namespace"] == namespace);
        if !has_service {
            let _ = store.delete("endpoints", namespace, &name);
        }
    }
}

fn endpoints_for(service: &Value, pods: &[Value]) -> Value {
    let namespace = &service["metadata"]["namespace"];
    let selector = LabelSelector::from_match_labels(service.pointer("/spec/selector"));
    let selected: Vec<&Value> = pods
        .iter()
        .filter(|p| p["metadata"]["namespace"] == *namespace && selector.matches(p))
        .filter(|p| p.pointer("/status/podIP").and_then(Value::as_str).is_some())
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .collect();
    let address = |pod: &&Value| {
        json!({"ip": pod["status"]["podIP"], "nodeName": pod["spec"]["nodeName"],
            "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"],
                "uid": pod["metadata"]["uid"]}})
    };
    let is_ready = |pod: &&&Value| {
        pod.pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    };
    let ready: Vec<Value> = selected.iter().filter(is_ready).map(address).collect();
    let not_ready: Vec<Value> = selected
        .iter()
        .filter(|p| !is_ready(p))
        .map(address)
        .collect();
    if ready.is_empty() && not_ready.is_empty() {
        return json!([]);
    }
    let ports: Vec<Value> = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let target = target_port(p, selected.first().copied());
            let mut port = json!({"port": target, "protocol": p["protocol"]});
            if let Some(name) = p["name"].as_str() {
                port["name"] = json!(name);
            }
            port
        })
        .collect();
    let mut subset = json!({"ports": ports});
    if !ready.is_empty() {
        subset["addresses"] = json!(ready);
    }
    if !not_ready.is_empty() {
        subset["notReadyAddresses"] = json!(not_ready);
    }
    json!([subset])
}

/// A numeric target port, or a named one looked up in the pod's containers.
fn target_port(port: &Value, pod: Option<&Value>) -> Value {
    match &port["targetPort"] {
        Value::Number(n) => Value::Number(n.clone()),
        Value::String(name) => pod
            .and_then(|p| p.pointer("/spec/containers").and_then(Value::as_array))
            .into_iter()
            .flatten()
            .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
            .find(|p| p["name"] == name.as_str())
            .map_or(port["port"].clone(), |p| p["containerPort"].clone()),
        _ => port["port"].clone(),
    }
}

fn write_endpoints(store: &Store, namespace: &str, name: &str, subsets: Value) {
    let result = match store.get("endpoints", namespace, name) {
        Some(existing) if existing.get("subsets").unwrap_or(&json!([])) == &subsets => return,
        Some(_) => store.modify("endpoints", namespace, name, |ep| {
            ep["subsets"] = subsets.clone()
        }),
        None => {
            let endpoints = json!({"apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": name, "namespace": namespace}, "subsets": subsets});
            store.create("endpoints", namespace, endpoints)
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "endpoints update lost a race; retrying next pass");
    }
}
