//! Operations on existing containers, always resolved through the session:
//! a name or ID prefix that belongs to another session is "No such container".

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{
    LogsOptions, RemoveContainerOptions, RestartContainerOptions, StartContainerOptions,
    StopContainerOptions,
};
use futures::{Stream, StreamExt};

use super::{DockerSession, OutputChunk, SessionContainer};
use crate::error::DockerError;

/// Seconds a container gets to stop before it is killed, as docker's default.
const STOP_TIMEOUT_SECS: i32 = 10;

/// How many lines of a log to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTail {
    All,
    Last(u64),
}

/// What an exec printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub output: Vec<OutputChunk>,
    pub exit_code: i64,
}

impl DockerSession {
    /// The session container a student's reference (name, full ID or
    /// unique ID prefix) names.
    pub async fn find(&self, reference: &str) -> Result<SessionContainer, DockerError> {
        let containers = self.list(true).await?;
        if let Some(found) = containers.iter().find(|c| c.name == reference) {
            return Ok(found.clone());
        }
        let by_id: Vec<&SessionContainer> = if reference.is_empty() {
            Vec::new()
        } else {
            containers
                .iter()
                .filter(|c| c.id.starts_with(reference))
                .collect()
        };
        match by_id.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(DockerError::NoSuchContainer(reference.to_owned())),
            _ => Err(DockerError::Refused(format!(
                "multiple IDs found with provided prefix: {reference}"
            ))),
        }
    }

    pub async fn stop(&self, reference: &str) -> Result<SessionContainer, DockerError> {
        let container = self.find(reference).await?;
        let options = StopContainerOptions {
            t: Some(STOP_TIMEOUT_SECS),
            ..Default::default()
        };
        let id = container.id.clone();
        self.call(
            |docker| async move { docker.stop_container(&id, Some(options)).await },
            format!("stop container {reference}"),
        )
        .await?;
        Ok(container)
    }

    /// Starts a stopped container; refused when another running container
    /// of the session publishes the same student port meanwhile.
    pub async fn start(&self, reference: &str) -> Result<SessionContainer, DockerError> {
        let container = self.find(reference).await?;
        self.check_port_free_for(&container).await?;
        let id = container.id.clone();
        self.call(
            |docker| async move {
                docker
                    .start_container(&id, None::<StartContainerOptions>)
                    .await
            },
            format!("start container {reference}"),
        )
        .await?;
        Ok(container)
    }

    async fn check_port_free_for(&self, container: &SessionContainer) -> Result<(), DockerError> {
        let wanted =
            super::parse_ports_label(container.labels.get(super::PORTS_LABEL).map(String::as_str));
        let running = self.list(false).await?;
        let busy = running
            .iter()
            .filter(|other| other.id != container.id)
            .flat_map(|other| other.ports.iter().filter_map(|p| p.student_port));
        for port in busy {
            if wanted.values().any(|w| *w == port) {
                return Err(DockerError::PortInUse { port });
            }
        }
        Ok(())
    }

    pub async fn restart(&self, reference: &str) -> Result<SessionContainer, DockerError> {
        let container = self.find(reference).await?;
        let id = container.id.clone();
        let options = RestartContainerOptions {
            t: Some(STOP_TIMEOUT_SECS),
            ..Default::default()
        };
        self.call(
            |docker| async move { docker.restart_container(&id, Some(options)).await },
            format!("restart container {reference}"),
        )
        .await?;
        Ok(container)
    }

    /// Removes a container; a running one only with `force`.
    pub async fn remove(
        &self,
        reference: &str,
        force: bool,
    ) -> Result<SessionContainer, DockerError> {
        let container = self.find(reference).await?;
        let docker = self.engine.client().await?;
        self.remove_by_id(&docker, &container.id, force)
            .await
            .map_err(|e| self.translate(e))?;
        Ok(container)
    }

    pub(crate) async fn remove_by_id(
        &self,
        docker: &Docker,
        id: &str,
        force: bool,
    ) -> Result<(), DockerError> {
        let options = RemoveContainerOptions {
            force,
            v: true,
            ..Default::default()
        };
        let result = docker.remove_container(id, Some(options)).await;
        self.ports.release_container(id);
        match result {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(DockerError::api(format!("remove container {id}"), e)),
        }
    }

    /// The container's inspect document, with the session prefix removed
    /// from its name.
    pub async fn inspect(&self, reference: &str) -> Result<ContainerInspectResponse, DockerError> {
        let container = self.find(reference).await?;
        let id = container.id.clone();
        let mut document = self
            .call(
                |docker| async move { docker.inspect_container(&id, None).await },
                format!("inspect container {reference}"),
            )
            .await?;
        document.name = Some(format!("/{}", container.name));
        Ok(document)
    }

    /// The container's address on the session's private network (what a
    /// pod IP is for the cluster engine); `None` while it is not running.
    pub async fn container_ip(
        &self,
        reference: &str,
    ) -> Result<Option<std::net::IpAddr>, DockerError> {
        let document = self.inspect(reference).await?;
        let network = format!("lab-{}", self.id);
        let address = document
            .network_settings
            .and_then(|settings| settings.networks)
            .and_then(|mut networks| networks.remove(&network))
            .and_then(|endpoint| endpoint.ip_address)
            .and_then(|ip| ip.parse().ok());
        Ok(address)
    }

    /// The container's log as a stream; it ends when the log does, or never
    /// with `follow` while the container runs.
    pub async fn logs(
        &self,
        reference: &str,
        follow: bool,
        tail: LogTail,
    ) -> Result<impl Stream<Item = Result<OutputChunk, DockerError>> + use<>, DockerError> {
        let container = self.find(reference).await?;
        let docker = self.engine.client().await?;
        let tail = match tail {
            LogTail::All => "all".to_owned(),
            LogTail::Last(n) => n.to_string(),
        };
        let options = LogsOptions {
            follow,
            stdout: true,
            stderr: true,
            tail,
            ..Default::default()
        };
        let stream = docker.logs(&container.id, Some(options));
        Ok(stream.filter_map(|item| async move {
            match item {
                Ok(output) => to_chunk(output).map(Ok),
                Err(e) => Some(Err(DockerError::api("read container logs", e))),
            }
        }))
    }

    /// Runs a command in a running container without a terminal.
    pub async fn exec(
        &self,
        reference: &str,
        command: Vec<String>,
        env: Vec<String>,
    ) -> Result<ExecOutput, DockerError> {
        let container = self.find(reference).await?;
        if !container.is_running() {
            return Err(DockerError::Refused(format!(
                "container {} is not running",
                container.id
            )));
        }
        let docker = self.engine.client().await?;
        let options = CreateExecOptions {
            cmd: Some(command),
            env: (!env.is_empty()).then_some(env),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let created = docker
            .create_exec(&container.id, options)
            .await
            .map_err(|e| self.translate(DockerError::api("create exec", e)))?;
        let started = docker
            .start_exec(&created.id, None)
            .await
            .map_err(|e| DockerError::api("start exec", e))?;
        let mut output = Vec::new();
        if let StartExecResults::Attached {
            output: mut stream, ..
        } = started
        {
            while let Some(item) = stream.next().await {
                let item = item.map_err(|e| DockerError::api("read exec output", e))?;
                output.extend(to_chunk(item));
            }
        }
        let inspected = docker
            .inspect_exec(&created.id)
            .await
            .map_err(|e| DockerError::api("inspect exec", e))?;
        Ok(ExecOutput {
            output,
            exit_code: inspected.exit_code.unwrap_or(0),
        })
    }

    async fn call<T, F, Fut>(&self, operation: F, what: String) -> Result<T, DockerError>
    where
        F: FnOnce(Docker) -> Fut,
        Fut: std::future::Future<Output = Result<T, bollard::errors::Error>>,
    {
        let result = self
            .engine
            .with_client(|docker| async move {
                operation(docker)
                    .await
                    .map_err(|e| DockerError::api(what, e))
            })
            .await;
        result.map_err(|e| self.translate(e))
    }

    /// Engine messages with engine names turned back into student names.
    fn translate(&self, error: DockerError) -> DockerError {
        match error {
            DockerError::Api {
                operation,
                source:
                    bollard::errors::Error::DockerResponseServerError {
                        status_code,
                        message,
                    },
            } => DockerError::Api {
                operation: self.student_text(&operation),
                source: bollard::errors::Error::DockerResponseServerError {
                    status_code,
                    message: self.student_text(&message),
                },
            },
            other => other,
        }
    }
}

fn to_chunk(output: LogOutput) -> Option<OutputChunk> {
    match output {
        LogOutput::StdOut { message } | LogOutput::Console { message } => {
            Some(OutputChunk::Stdout(message))
        }
        LogOutput::StdErr { message } => Some(OutputChunk::Stderr(message)),
        LogOutput::StdIn { .. } => None,
    }
}
