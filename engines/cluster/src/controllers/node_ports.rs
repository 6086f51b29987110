//! Node ports that answer: for every NodePort Service, a listener on the
//! node address (`127.0.0.1:<nodePort>`) that forwards each connection to a
//! ready endpoint of the Service, as kube-proxy does on a real node.
//!
//! Node ports are allocated per cluster; when several clusters share a host
//! the same port can come up twice, and the second listener then fails to
//! bind. That Service still works through its endpoints; the failure is
//! recorded as a Warning event on the Service.

use std::collections::HashMap;

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::events::{EventType, record};
use crate::seed::NODE_IP;
use crate::store::{Store, object_name};

/// Which Service port a node port leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    namespace: String,
    service: String,
    /// The Service port's name, to pick the matching endpoint port.
    port_name: Option<String>,
}

/// The listeners of one cluster, kept in step with its Services.
pub struct NodePortProxy {
    store: Store,
    listeners: HashMap<u16, (Target, JoinHandle<()>)>,
    /// Ports that failed to bind, so the warning is recorded once.
    failed: HashMap<u16, Target>,
}

impl NodePortProxy {
    pub fn new(store: Store) -> Self {
        NodePortProxy {
            store,
            listeners: HashMap::new(),
            failed: HashMap::new(),
        }
    }

    /// Opens listeners for new node ports and closes those of deleted ones.
    pub fn sync(&mut self) {
        let desired = desired_ports(&self.store);
        self.listeners.retain(|port, (target, task)| {
            let keep = desired.get(port) == Some(target);
            if !keep {
                task.abort();
            }
            keep
        });
        self.failed
            .retain(|port, target| desired.get(port) == Some(target));
        for (port, target) in desired {
            if self.listeners.contains_key(&port) || self.failed.contains_key(&port) {
                continue;
            }
            match bind(port) {
                Ok(listener) => {
                    let task = tokio::spawn(serve(listener, self.store.clone(), target.clone()));
                    self.listeners.insert(port, (target, task));
                }
                Err(error) => {
                    self.warn_unbound(port, &target, &error);
                    self.failed.insert(port, target);
                }
            }
        }
    }

    fn warn_unbound(&self, port: u16, target: &Target, error: &std::io::Error) {
        tracing::warn!(port, %error, service = %target.service, "node port cannot listen");
        if let Some(service) = self
            .store
            .get("services", &target.namespace, &target.service)
        {
            let message = format!("node port {port} cannot listen on {NODE_IP}: {error}");
            record(
                &self.store,
                &service,
                EventType::Warning,
                "NodePortUnavailable",
                &message,
                "kube-proxy",
            );
        }
    }
}

impl Drop for NodePortProxy {
    fn drop(&mut self) {
        for (_, task) in self.listeners.values() {
            task.abort();
        }
    }
}

fn desired_ports(store: &Store) -> HashMap<u16, Target> {
    let (services, _) = store.list("services", None);
    let mut desired = HashMap::new();
    for service in &services {
        let ports = service.pointer("/spec/ports").and_then(Value::as_array);
        for port in ports.into_iter().flatten() {
            let Some(node_port) = port["nodePort"]
                .as_i64()
                .and_then(|p| u16::try_from(p).ok())
            else {
                continue;
            };
            let target = Target {
                namespace: service["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string(),
                service: object_name(service),
                port_name: port["name"].as_str().map(str::to_string),
            };
            desired.insert(node_port, target);
        }
    }
    desired
}

fn bind(port: u16) -> std::io::Result<TcpListener> {
    let listener = std::net::TcpListener::bind((NODE_IP, port))?;
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener)
}

async fn serve(listener: TcpListener, store: Store, target: Target) {
    loop {
        let mut client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(error) => {
                // Out of descriptors or similar: wait rather than spin.
                tracing::debug!(%error, "node port accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(address) = ready_endpoint(&store, &target) else {
            // No ready pod: the connection is refused by closing it, as a
            // node with no endpoints for the Service would.
            drop(client);
            continue;
        };
        tokio::spawn(async move {
            if let Ok(mut upstream) = TcpStream::connect(&address).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        });
    }
}

/// `ip:port` of a ready endpoint, picked at random when there are several.
fn ready_endpoint(store: &Store, target: &Target) -> Option<String> {
    let endpoints = store.get("endpoints", &target.namespace, &target.service)?;
    let mut choices = Vec::new();
    for subset in endpoints["subsets"].as_array().into_iter().flatten() {
        let port = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"].as_str().map(str::to_string) == target.port_name)
            .or_else(|| subset["ports"].get(0))
            .and_then(|p| p["port"].as_i64())?;
        for address in subset["addresses"].as_array().into_iter().flatten() {
            if let Some(ip) = address["ip"].as_str() {
                choices.push(format!("{ip}:{port}"));
            }
        }
    }
    if choices.is_empty() {
        return None;
    }
    let pick = usize::try_from(rand::random::<u32>()).unwrap_or(0) % choices.len();
    Some(choices.swap_remove(pick))
}
