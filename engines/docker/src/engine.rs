//! The connection to the Docker engine, with a cheap cached health state.
//!
//! [`DockerEngine`] connects lazily with bollard's defaults (so `DOCKER_HOST`
//! is honoured) and negotiates the API version, because classroom machines
//! often run an older dockerd than bollard's default API level. When a
//! request finds nobody answering, the client is dropped and the next use
//! connects again: the lab recovers by itself once the engine is back.

use std::time::{Duration, Instant};

use bollard::Docker;
use lab_engine_api::{EngineKind, EngineState, EngineStatus};
use tokio::sync::Mutex;

use crate::error::DockerError;

/// How long a health answer is reused before the engine is asked again.
const HEALTH_TTL: Duration = Duration::from_secs(2);

/// Time allowed for one request before the engine counts as not answering.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What `lab doctor` and error messages tell the user to do when no engine
/// answers.
pub const ENGINE_REMEDY: &str = "run scripts/setup-host or start dockerd";

/// The address bollard connects to: `DOCKER_HOST`, or the local socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
}

/// A shared handle on the Docker engine; cheap to share behind an `Arc`.
#[derive(Default)]
pub struct DockerEngine {
    client: Mutex<Option<Docker>>,
    health: Mutex<Option<(Instant, EngineState)>>,
}

impl DockerEngine {
    /// A handle that connects on first use.
    pub fn new() -> Self {
        DockerEngine::default()
    }

    /// A connected client, connecting (again) when there is none.
    pub async fn client(&self) -> Result<Docker, DockerError> {
        let mut slot = self.client.lock().await;
        if let Some(docker) = slot.as_ref() {
            return Ok(docker.clone());
        }
        let docker = connect().await?;
        *slot = Some(docker.clone());
        Ok(docker)
    }

    /// Forgets the client after a connection failure so that the next call
    /// reconnects, and records the engine as down.
    pub async fn note_failure(&self, error: &DockerError) {
        if !error.is_engine_down() {
            return;
        }
        *self.client.lock().await = None;
        *self.health.lock().await = Some((Instant::now(), unavailable(error)));
    }

    /// Runs `operation` with a client; on "engine down", forgets the client.
    pub async fn with_client<T, F, Fut>(&self, operation: F) -> Result<T, DockerError>
    where
        F: FnOnce(Docker) -> Fut,
        Fut: std::future::Future<Output = Result<T, DockerError>>,
    {
        let result = match self.client().await {
            Ok(docker) => operation(docker).await,
            Err(error) => Err(error),
        };
        if let Err(error) = &result {
            self.note_failure(error).await;
        }
        result
    }

    /// The engine's state for `lab doctor` and the status bar, answered from
    /// a cache younger than two seconds when there is one.
    pub async fn status(&self) -> EngineStatus {
        if let Some((at, state)) = self.health.lock().await.as_ref()
            && at.elapsed() < HEALTH_TTL
        {
            return EngineStatus {
                kind: EngineKind::Docker,
                state: state.clone(),
            };
        }
        let state = self.probe_health().await;
        *self.health.lock().await = Some((Instant::now(), state.clone()));
        EngineStatus {
            kind: EngineKind::Docker,
            state,
        }
    }

    async fn probe_health(&self) -> EngineState {
        let version = self
            .with_client(|docker| async move {
                docker
                    .version()
                    .await
                    .map_err(|e| DockerError::api("read the engine version", e))
            })
            .await;
        match version {
            Ok(version) => EngineState::Ready {
                detail: format!(
                    "Docker Engine {} (API {}) at {}",
                    version.version.unwrap_or_default(),
                    version.api_version.unwrap_or_default(),
                    docker_host()
                ),
            },
            Err(error) => unavailable(&error),
        }
    }
}

fn unavailable(error: &DockerError) -> EngineState {
    EngineState::Unavailable {
        reason: error_chain(error),
        remedy: ENGINE_REMEDY.to_owned(),
    }
}

/// The error and its causes on one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

async fn connect() -> Result<Docker, DockerError> {
    let docker = Docker::connect_with_defaults()
        .map_err(|source| DockerError::EngineDown {
            address: docker_host(),
            source,
        })?
        .with_timeout(REQUEST_TIMEOUT);
    docker
        .negotiate_version()
        .await
        .map_err(|source| DockerError::EngineDown {
            address: docker_host(),
            source,
        })
}
