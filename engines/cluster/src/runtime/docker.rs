//! The Docker runtime: each pod container is a Docker container labelled
//! with the lab session (`lab.session`), so the Docker engine's per-session
//! isolation and cleanup apply to pods too.
//!
//! Images are never pulled: the lab builds its images locally and runs
//! offline, so an image missing from the local store is reported as not
//! available offline, which the kubelet turns into `ErrImagePull`.

use std::collections::HashMap;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, LogsOptions, RemoveContainerOptions,
};
use futures::StreamExt;

use super::{ContainerSpec, ContainerState, LogOptions, LogStream, PodRuntime, RuntimeError};

/// Label every lab container carries: the owning session. Shared with the
/// Docker engine so its per-session isolation and cleanup cover pods.
pub use lab_docker::session::SESSION_LABEL;
/// Label marking a container as a pod container of an embedded cluster.
pub const POD_LABEL: &str = "lab.cluster.pod";

/// Pod containers on the local Docker engine (honours `DOCKER_HOST`).
pub struct DockerRuntime {
    docker: Docker,
    session_id: String,
    version: String,
}

impl DockerRuntime {
    /// Connects lazily: an engine that does not answer yet only fails the
    /// pods that need it, with their status saying why.
    pub fn connect(session_id: &str) -> Result<Self, RuntimeError> {
        let docker = Docker::connect_with_defaults().map_err(|e| RuntimeError::Start {
            name: "docker connection".into(),
            source: Box::new(e),
        })?;
        Ok(DockerRuntime {
            docker,
            session_id: session_id.to_string(),
            version: "docker (engine not answering)".into(),
        })
    }

    /// Asks the engine its version, for the node's `containerRuntimeVersion`.
    pub async fn with_engine_version(mut self) -> Self {
        if let Ok(Ok(version)) =
            tokio::time::timeout(std::time::Duration::from_secs(2), self.docker.version()).await
        {
            self.version = format!("docker://{}", version.version.unwrap_or_default());
        }
        self
    }

    fn container_name(&self, spec: &ContainerSpec) -> String {
        let raw = format!(
            "lab-{}-{}-{}-{}",
            self.session_id, spec.namespace, spec.pod, spec.name
        );
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    }

    /// Makes sure the pod's image is present. An image the lab knows how to
    /// build (`hello-tryhackme`, ...) is built offline the first time, as a
    /// real cluster would pull it: the pod waits in ContainerCreating.
    async fn ensure_image(&self, image: &str) -> Result<(), RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(()),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => self.build_lab_image(image).await,
            Err(error) => Err(RuntimeError::ImageUnavailable {
                image: image.to_string(),
                reason: format!("the Docker engine could not be asked about it: {error}"),
            }),
        }
    }

    async fn build_lab_image(&self, image: &str) -> Result<(), RuntimeError> {
        let catalog = lab_docker::ImageCatalog::embedded();
        let built = lab_docker::images::build::ensure_image(&self.docker, &catalog, image, |_| {})
            .await
            .map_err(|error| RuntimeError::ImageUnavailable {
                image: image.to_string(),
                reason: format!("building it failed: {error}"),
            })?;
        match built {
            true => Ok(()),
            false => Err(RuntimeError::ImageUnavailable {
                image: image.to_string(),
                reason: "it is not in the local image store and the lab cannot pull from a \
                         registry; use an image the lab builds"
                    .to_string(),
            }),
        }
    }

    /// The session label, the pod's identity, and the owner stamp (pid, start
    /// time, boot) by which the Docker engine tells a live lab's containers
    /// from a crashed one's orphans.
    fn labels(&self, spec: &ContainerSpec) -> HashMap<String, String> {
        let mut labels = HashMap::from([
            (SESSION_LABEL.to_string(), self.session_id.clone()),
            (
                POD_LABEL.to_string(),
                format!("{}/{}", spec.namespace, spec.pod),
            ),
            ("lab.cluster.pod-uid".to_string(), spec.pod_uid.clone()),
            ("lab.cluster.container".to_string(), spec.name.clone()),
        ]);
        let owner = lab_docker::owner::OwnerStamp::current().labels();
        labels.extend(
            owner
                .into_iter()
                .map(|(key, value)| (key.to_string(), value)),
        );
        labels
    }
}

fn container_error(operation: &'static str, id: &str, error: DockerError) -> RuntimeError {
    RuntimeError::Container {
        operation,
        id: id.to_string(),
        source: Box::new(error),
    }
}

#[async_trait::async_trait]
impl PodRuntime for DockerRuntime {
    async fn start(&self, spec: &ContainerSpec) -> Result<String, RuntimeError> {
        self.ensure_image(&spec.image).await?;
        let name = self.container_name(spec);
        let start_error = |e: DockerError| RuntimeError::Start {
            name: name.clone(),
            source: Box::new(e),
        };
        // A container left from an earlier run of the same pod name is replaced.
        let _ = self.remove(&name).await;
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: (!spec.command.is_empty()).then(|| spec.command.clone()),
            cmd: (!spec.args.is_empty()).then(|| spec.args.clone()),
            env: Some(spec.env.clone()),
            labels: Some(self.labels(spec)),
            hostname: Some(spec.pod.chars().take(63).collect()),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(start_error)?;
        self.docker
            .start_container(&created.id, None)
            .await
            .map_err(start_error)?;
        Ok(created.id)
    }

    async fn restart(&self, id: &str) -> Result<(), RuntimeError> {
        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| container_error("restart", id, e))
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        let options = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(())
            | Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(error) => Err(container_error("remove", id, error)),
        }
    }

    async fn state(&self, id: &str) -> Result<ContainerState, RuntimeError> {
        let inspected = match self.docker.inspect_container(id, None).await {
            Ok(inspected) => inspected,
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                return Ok(ContainerState::Missing);
            }
            Err(error) => return Err(container_error("inspect", id, error)),
        };
        let state = inspected.state.unwrap_or_default();
        let started_at = trim_fraction(state.started_at.as_deref());
        if state.running == Some(true) {
            let ip = inspected
                .network_settings
                .and_then(|n| n.networks)
                .and_then(|n| {
                    n.into_values()
                        .find_map(|e| e.ip_address.filter(|ip| !ip.is_empty()))
                });
            return Ok(ContainerState::Running { started_at, ip });
        }
        Ok(ContainerState::Exited {
            exit_code: state.exit_code.unwrap_or(0),
            started_at,
            finished_at: trim_fraction(state.finished_at.as_deref()),
        })
    }

    async fn logs(&self, id: &str, options: LogOptions) -> Result<LogStream, RuntimeError> {
        let options = LogsOptions {
            follow: options.follow,
            stdout: true,
            stderr: true,
            timestamps: options.timestamps,
            tail: options
                .tail_lines
                .map_or_else(|| "all".to_string(), |n| n.to_string()),
            ..Default::default()
        };
        let id_owned = id.to_string();
        let stream = self.docker.logs(id, Some(options)).map(move |chunk| {
            chunk
                .map(|output| output.into_bytes())
                .map_err(|e| container_error("read logs of", &id_owned, e))
        });
        Ok(Box::pin(stream))
    }

    async fn remove_all(&self) -> Result<(), RuntimeError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                format!("{SESSION_LABEL}={}", self.session_id),
                POD_LABEL.to_string(),
            ],
        )]);
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| container_error("list", &self.session_id, e))?;
        for id in containers.into_iter().filter_map(|c| c.id) {
            self.remove(&id).await?;
        }
        Ok(())
    }

    fn runtime_version(&self) -> String {
        self.version.clone()
    }
}

/// Docker reports nanoseconds (`2024-05-01T10:00:00.123456789Z`); the API
/// uses whole seconds. Docker's zero time means "never".
fn trim_fraction(timestamp: Option<&str>) -> String {
    let Some(timestamp) = timestamp.filter(|t| !t.starts_with("0001-")) else {
        return String::new();
    };
    match timestamp.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => timestamp.to_string(),
    }
}
