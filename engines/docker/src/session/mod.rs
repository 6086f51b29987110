//! One student's containers.
//!
//! Every container a [`DockerSession`] creates is labelled with the session
//! id and named `lab-<session>-<name>` on the engine; the student only ever
//! sees `<name>`. Lookups, listings and removals go through the session
//! label, so one session cannot see, stop or reach another's containers.
//! Each session has its own bridge network, created on first use, so
//! containers of different sessions cannot talk to each other either.
//!
//! The session applies the lab's rules to every container: limits on pids,
//! memory and CPU share; no privileged mode, host mounts, host network or
//! added capabilities; published ports on host ports from the [`PortMap`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use bollard::query_parameters::ListContainersOptions;

mod cleanup;
mod manage;
mod run;

pub use cleanup::{SweepReport, sweep_orphans};
pub use manage::{ExecOutput, LogTail};
pub use run::StartedContainer;

use crate::engine::DockerEngine;
use crate::error::DockerError;
use crate::images::ImageCatalog;
use crate::ports::PortMap;

/// Label holding the session id on containers and networks.
pub const SESSION_LABEL: &str = "lab.session";
/// Label holding the name the student gave (or was given).
pub const NAME_LABEL: &str = "lab.name";
/// Label listing published ports as the student sees them:
/// `5000/tcp=5000,8080/tcp=8081` (container port = student's host port).
pub const PORTS_LABEL: &str = "lab.ports";

/// Resource limits applied to every container of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerLimits {
    /// Most processes and threads a container may have.
    pub pids: i64,
    pub memory_bytes: i64,
    /// Relative CPU weight (the engine's default is 1024).
    pub cpu_shares: i64,
}

impl Default for ContainerLimits {
    fn default() -> Self {
        ContainerLimits {
            pids: 256,
            memory_bytes: 512 * 1024 * 1024,
            cpu_shares: 512,
        }
    }
}

/// A published port as asked for: `-p 5000:5000` or `-p 5000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRequest {
    /// The host port the student asked for; `None` lets the lab choose.
    pub host_port: Option<u16>,
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// What to run; the shell's `docker run` and the cluster engine's pods both
/// come through here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The name the student sees; a random docker-style name when `None`.
    pub name: Option<String>,
    /// Image reference as typed, e.g. `cryillic/thm_example_app`.
    pub image: String,
    /// Command and arguments; empty runs the image's default.
    pub command: Vec<String>,
    /// `KEY=VALUE` pairs.
    pub env: Vec<String>,
    pub ports: Vec<PortRequest>,
    /// Remove the container when it exits (`--rm`).
    pub auto_remove: bool,
    pub hostname: Option<String>,
    /// Extra labels (the cluster engine records pod names here). Labels
    /// starting with `lab.` are reserved and ignored.
    pub labels: BTreeMap<String, String>,
}

/// A container of the session, as the student sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionContainer {
    pub id: String,
    /// The student's name for it, without the session prefix.
    pub name: String,
    /// The image as given at creation.
    pub image: String,
    pub command: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// `created`, `running`, `exited`, ...
    pub state: String,
    /// The engine's status text: `Up 3 seconds`, `Exited (0) 1 minute ago`.
    pub status: String,
    pub ports: Vec<PublishedPort>,
    pub labels: HashMap<String, String>,
}

impl SessionContainer {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }
}

/// One published port of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedPort {
    pub container_port: u16,
    pub protocol: Protocol,
    /// The host port the student sees (`5000` in `-p 5000:5000`); `None`
    /// for an exposed port that is not published.
    pub student_port: Option<u16>,
    /// Where the port really listens on the host.
    pub host_port: Option<u16>,
}

/// Bytes from a container's log or an exec, tagged with their stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputChunk {
    Stdout(bytes::Bytes),
    Stderr(bytes::Bytes),
}

/// One student's view of the Docker engine.
pub struct DockerSession {
    id: String,
    engine: Arc<DockerEngine>,
    catalog: Arc<ImageCatalog>,
    ports: Arc<PortMap>,
    limits: ContainerLimits,
    network: tokio::sync::OnceCell<String>,
    names: Mutex<Vec<String>>,
    /// IDs of containers this session published ports for.
    owned: Mutex<Vec<String>>,
    shut_down: std::sync::atomic::AtomicBool,
}

impl DockerSession {
    /// A session with the given id (letters, digits, `_`, `.`, `-`).
    pub fn new(
        id: &str,
        engine: Arc<DockerEngine>,
        catalog: Arc<ImageCatalog>,
        ports: Arc<PortMap>,
        limits: ContainerLimits,
    ) -> Result<Self, DockerError> {
        let valid = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            return Err(DockerError::InvalidSessionId(id.to_owned()));
        }
        Ok(DockerSession {
            id: id.to_owned(),
            engine,
            catalog,
            ports,
            limits,
            network: tokio::sync::OnceCell::new(),
            names: Mutex::new(Vec::new()),
            owned: Mutex::new(Vec::new()),
            shut_down: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn engine(&self) -> &Arc<DockerEngine> {
        &self.engine
    }

    pub fn catalog(&self) -> &Arc<ImageCatalog> {
        &self.catalog
    }

    pub fn limits(&self) -> ContainerLimits {
        self.limits
    }

    /// The engine name of a student's container name.
    pub fn engine_name(&self, name: &str) -> String {
        format!("lab-{}-{name}", self.id)
    }

    /// Replaces engine names with student names in an engine message.
    pub fn student_text(&self, text: &str) -> String {
        text.replace(&format!("lab-{}-", self.id), "")
    }

    /// Where each port the student published really listens, for the UI:
    /// (student's host port, real address), running containers only.
    pub async fn published_addresses(
        &self,
    ) -> Result<Vec<(u16, std::net::SocketAddr)>, DockerError> {
        let ip = std::net::IpAddr::V4(self.ports.bind_ip());
        let containers = self.list(false).await?;
        Ok(containers
            .iter()
            .flat_map(|c| c.ports.iter())
            .filter_map(|p| Some((p.student_port?, std::net::SocketAddr::new(ip, p.host_port?))))
            .collect())
    }

    /// Container names seen at the last listing, for completion.
    pub fn cached_names(&self) -> Vec<String> {
        self.names.lock().map(|n| n.clone()).unwrap_or_default()
    }

    /// The session's containers (running ones only unless `all`).
    pub async fn list(&self, all: bool) -> Result<Vec<SessionContainer>, DockerError> {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{SESSION_LABEL}={}", self.id)],
        )]);
        let options = ListContainersOptions {
            all,
            filters: Some(filters),
            ..Default::default()
        };
        let summaries = self
            .engine
            .with_client(|docker| async move {
                docker
                    .list_containers(Some(options))
                    .await
                    .map_err(|e| DockerError::api("list containers", e))
            })
            .await?;
        let containers: Vec<SessionContainer> = summaries
            .into_iter()
            .map(|s| self.to_session_container(s))
            .collect();
        if all {
            self.remember(&containers);
        }
        Ok(containers)
    }

    fn remember(&self, containers: &[SessionContainer]) {
        let ids: Vec<String> = containers.iter().map(|c| c.id.clone()).collect();
        if let Ok(mut names) = self.names.lock() {
            *names = containers.iter().map(|c| c.name.clone()).collect();
        }
        self.ports.release_missing(&self.owned_ids_hint(), &ids);
    }

    /// IDs of containers this session holds ports for.
    fn owned_ids_hint(&self) -> Vec<String> {
        self.owned.lock().map(|o| o.clone()).unwrap_or_default()
    }

    fn to_session_container(&self, summary: bollard::models::ContainerSummary) -> SessionContainer {
        let labels = summary.labels.unwrap_or_default();
        let engine_name = summary
            .names
            .unwrap_or_default()
            .first()
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_default();
        let name = labels
            .get(NAME_LABEL)
            .cloned()
            .unwrap_or_else(|| self.student_text(&engine_name));
        let student_ports = parse_ports_label(labels.get(PORTS_LABEL).map(String::as_str));
        let ports = summary
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.ip.as_deref().is_none_or(|ip| !ip.contains(':')))
            .map(|p| {
                let protocol = match p.typ.map(|t| t.to_string()).as_deref() {
                    Some("udp") => Protocol::Udp,
                    _ => Protocol::Tcp,
                };
                let student_port = p
                    .public_port
                    .and_then(|_| student_ports.get(&(p.private_port, protocol)).copied());
                PublishedPort {
                    container_port: p.private_port,
                    protocol,
                    student_port,
                    host_port: p.public_port,
                }
            })
            .collect();
        SessionContainer {
            id: summary.id.unwrap_or_default(),
            name,
            image: summary.image.unwrap_or_default(),
            command: summary.command.unwrap_or_default(),
            created: summary.created.unwrap_or_default(),
            state: summary.state.map(|s| s.to_string()).unwrap_or_default(),
            status: summary.status.unwrap_or_default(),
            ports,
            labels,
        }
    }
}

/// `5000/tcp=5000,53/udp=5353` -> {(5000, tcp): 5000, (53, udp): 5353}.
fn parse_ports_label(label: Option<&str>) -> HashMap<(u16, Protocol), u16> {
    let mut ports = HashMap::new();
    for entry in label.unwrap_or("").split(',').filter(|e| !e.is_empty()) {
        let Some((container, student)) = entry.split_once('=') else {
            continue;
        };
        let (number, proto) = container.split_once('/').unwrap_or((container, "tcp"));
        let protocol = if proto == "udp" {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        if let (Ok(number), Ok(student)) = (number.parse(), student.parse()) {
            ports.insert((number, protocol), student);
        }
    }
    ports
}

fn format_ports_label(ports: &[(PortRequest, u16)]) -> String {
    ports
        .iter()
        .map(|(request, student)| {
            format!(
                "{}/{}={student}",
                request.container_port,
                request.protocol.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}
