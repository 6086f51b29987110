//! Creating and starting a container under the session's rules.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, ListNetworksOptions, StartContainerOptions,
};

use super::{
    ContainerSpec, DockerSession, NAME_LABEL, PORTS_LABEL, PortRequest, SESSION_LABEL,
    format_ports_label,
};
use crate::error::DockerError;
use crate::images::{ImageProgress, ensure_image, normalize_reference};
use crate::names::random_name;
use crate::owner::OwnerStamp;
use crate::ports::PortLease;

/// Names docker accepts for containers.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Where a new container goes: its names, network and ports.
struct Placement<'a> {
    /// The student's name for it.
    name: &'a str,
    network: &'a str,
    /// Each request with the real host port from the port map.
    real_ports: Vec<(PortRequest, u16)>,
    /// Each request with the host port the student asked for.
    student_ports: Vec<(PortRequest, Option<u16>)>,
}

/// A container the session just started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedContainer {
    pub id: String,
    /// The student's name for it.
    pub name: String,
}

impl DockerSession {
    /// Creates and starts a container, building its lab image first when it
    /// is missing or out of date (progress goes to `progress`). Dropping the
    /// future (Ctrl-C) leaves nothing behind but, at worst, a created
    /// container that the session's shutdown removes.
    #[tracing::instrument(skip_all, fields(session = %self.id, image = %spec.image))]
    pub async fn run_container(
        &self,
        spec: ContainerSpec,
        progress: impl Fn(ImageProgress) + Send + Sync,
    ) -> Result<StartedContainer, DockerError> {
        let existing = self.list(true).await?;
        let name = self.choose_name(&spec, &existing)?;
        let student_ports = self.check_student_ports(&spec, &existing)?;
        let docker = self.engine.client().await?;

        self.ensure_image(&docker, &spec.image, progress).await?;
        let network = self.network(&docker).await?;

        let lease = PortLease::allocate(&self.ports, spec.ports.len())?;
        let real_ports: Vec<(PortRequest, u16)> = spec
            .ports
            .iter()
            .copied()
            .zip(lease.ports().iter().copied())
            .collect();
        let placement = Placement {
            name: &name,
            network: &network,
            real_ports,
            student_ports,
        };
        let result = self
            .create_and_start(&docker, &spec, &placement, lease)
            .await;
        let result = result.map(|id| StartedContainer { id, name });
        if let Err(error) = &result {
            self.engine.note_failure(error).await;
        }
        result
    }

    fn choose_name(
        &self,
        spec: &ContainerSpec,
        existing: &[super::SessionContainer],
    ) -> Result<String, DockerError> {
        let taken: Vec<String> = existing.iter().map(|c| c.name.clone()).collect();
        let Some(name) = &spec.name else {
            return Ok(random_name(&taken));
        };
        if !valid_name(name) {
            return Err(DockerError::Refused(format!(
                "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if let Some(holder) = existing.iter().find(|c| &c.name == name) {
            return Err(DockerError::NameInUse {
                name: name.clone(),
                id: holder.id.clone(),
            });
        }
        Ok(name.clone())
    }

    /// The student-visible host port of each request; a port already
    /// published by a running container of this session is refused, as the
    /// engine would refuse a second bind.
    fn check_student_ports(
        &self,
        spec: &ContainerSpec,
        existing: &[super::SessionContainer],
    ) -> Result<Vec<(PortRequest, Option<u16>)>, DockerError> {
        let busy: Vec<u16> = existing
            .iter()
            .filter(|c| c.is_running())
            .flat_map(|c| c.ports.iter().filter_map(|p| p.student_port))
            .collect();
        let mut chosen = Vec::new();
        for request in &spec.ports {
            if let Some(port) = request.host_port
                && (busy.contains(&port) || chosen.iter().any(|(_, p)| *p == Some(port)))
            {
                return Err(DockerError::PortInUse { port });
            }
            chosen.push((*request, request.host_port));
        }
        Ok(chosen)
    }

    async fn ensure_image(
        &self,
        docker: &Docker,
        image: &str,
        progress: impl Fn(ImageProgress) + Send + Sync,
    ) -> Result<(), DockerError> {
        if ensure_image(docker, &self.catalog, image, progress).await? {
            return Ok(());
        }
        match docker.inspect_image(&normalize_reference(image)).await {
            Ok(_) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(DockerError::ImageNotAvailable(normalize_reference(image))),
            Err(e) => Err(DockerError::api(format!("inspect image {image}"), e)),
        }
    }

    /// The session's own bridge network, created on first use.
    async fn network(&self, docker: &Docker) -> Result<String, DockerError> {
        let name = format!("lab-{}", self.id);
        self.network
            .get_or_try_init(|| async {
                if !network_exists(docker, &name).await? {
                    let request = NetworkCreateRequest {
                        name: name.clone(),
                        driver: Some("bridge".to_owned()),
                        labels: Some(self.base_labels()),
                        ..Default::default()
                    };
                    docker
                        .create_network(request)
                        .await
                        .map_err(|e| DockerError::api(format!("create network {name}"), e))?;
                }
                Ok(name.clone())
            })
            .await
            .cloned()
    }

    /// The labels every resource of the session carries.
    pub(crate) fn base_labels(&self) -> HashMap<String, String> {
        let mut labels = HashMap::from([(SESSION_LABEL.to_owned(), self.id.clone())]);
        for (key, value) in OwnerStamp::current().labels() {
            labels.insert(key.to_owned(), value);
        }
        labels
    }

    async fn create_and_start(
        &self,
        docker: &Docker,
        spec: &ContainerSpec,
        placement: &Placement<'_>,
        lease: PortLease<'_>,
    ) -> Result<String, DockerError> {
        let name = placement.name;
        let body = self.create_body(spec, placement);
        let options = CreateContainerOptions {
            name: Some(self.engine_name(name)),
            ..Default::default()
        };
        let created = docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| DockerError::api(format!("create container {name}"), e))?;
        lease.keep(&created.id);
        if let Ok(mut owned) = self.owned.lock() {
            owned.push(created.id.clone());
        }
        if let Err(e) = docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
        {
            let error = DockerError::api(format!("start container {name}"), e);
            let _ = self.remove_by_id(docker, &created.id, true).await;
            return Err(error);
        }
        Ok(created.id)
    }

    fn create_body(&self, spec: &ContainerSpec, placement: &Placement<'_>) -> ContainerCreateBody {
        let (name, real_ports) = (placement.name, &placement.real_ports);
        let shown: Vec<(PortRequest, u16)> = real_ports
            .iter()
            .zip(&placement.student_ports)
            .map(|((request, real), (_, student))| (*request, student.unwrap_or(*real)))
            .collect();
        let mut labels = self.base_labels();
        labels.insert(NAME_LABEL.to_owned(), name.to_owned());
        labels.insert(PORTS_LABEL.to_owned(), format_ports_label(&shown));
        for (key, value) in &spec.labels {
            if !key.starts_with("lab.") {
                labels.insert(key.clone(), value.clone());
            }
        }
        ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: (!spec.command.is_empty()).then(|| spec.command.clone()),
            env: (!spec.env.is_empty()).then(|| spec.env.clone()),
            hostname: spec.hostname.clone(),
            labels: Some(labels),
            exposed_ports: Some(real_ports.iter().map(|(r, _)| port_key(r)).collect()),
            host_config: Some(self.host_config(spec, placement)),
            ..Default::default()
        }
    }

    fn host_config(&self, spec: &ContainerSpec, placement: &Placement<'_>) -> HostConfig {
        let bindings = placement
            .real_ports
            .iter()
            .map(|(request, real)| {
                let binding = PortBinding {
                    host_ip: Some(self.ports.bind_ip().to_string()),
                    host_port: Some(real.to_string()),
                };
                (port_key(request), Some(vec![binding]))
            })
            .collect();
        HostConfig {
            port_bindings: Some(bindings),
            pids_limit: Some(self.limits.pids),
            memory: Some(self.limits.memory_bytes),
            cpu_shares: Some(self.limits.cpu_shares),
            network_mode: Some(placement.network.to_owned()),
            auto_remove: Some(spec.auto_remove),
            privileged: Some(false),
            security_opt: Some(vec!["no-new-privileges".to_owned()]),
            ..Default::default()
        }
    }
}

fn port_key(request: &PortRequest) -> String {
    format!("{}/{}", request.container_port, request.protocol.as_str())
}

async fn network_exists(docker: &Docker, name: &str) -> Result<bool, DockerError> {
    let filters = HashMap::from([("name".to_owned(), vec![name.to_owned()])]);
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
        .map_err(|e| DockerError::api("list networks", e))?;
    Ok(networks.iter().any(|n| n.name.as_deref() == Some(name)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn container_names_follow_the_engine_rules() {
        assert!(valid_name("web"));
        assert!(valid_name("my-app_2.test"));
        assert!(!valid_name("-web"));
        assert!(!valid_name("a b"));
        assert!(!valid_name(""));
    }
}
