//! How pods' containers run: the [`PodRuntime`] trait and its Docker
//! implementation.
//!
//! The control plane (the kubelet loop in [`crate::controllers::kubelet`])
//! only talks to this trait, so it can be exercised without Docker; the
//! runtime a real cluster uses is [`docker::DockerRuntime`].

pub mod docker;

use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;

/// What to run for one container of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    pub namespace: String,
    pub pod: String,
    pub pod_uid: String,
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    /// `NAME=value` pairs.
    pub env: Vec<String>,
}

/// What the runtime says about a started container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    Running {
        started_at: String,
        ip: Option<String>,
    },
    Exited {
        exit_code: i64,
        started_at: String,
        finished_at: String,
    },
    /// The runtime no longer knows the container (removed from outside).
    Missing,
}

/// Which part of a container's log to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub follow: bool,
    pub tail_lines: Option<u64>,
    pub timestamps: bool,
}

/// A container's log output, as it arrives.
pub type LogStream = Pin<Box<dyn Stream<Item = Result<Bytes, RuntimeError>> + Send>>;

/// A failed runtime operation.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The image is not in the local store and cannot be pulled offline.
    #[error("image {image:?} is not available offline: {reason}")]
    ImageUnavailable { image: String, reason: String },
    #[error("failed to start container {name}")]
    Start {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("failed to {operation} container {id}")]
    Container {
        operation: &'static str,
        id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Starts, stops, inspects and reads the logs of pods' containers.
#[async_trait::async_trait]
pub trait PodRuntime: Send + Sync {
    /// Creates and starts the container; returns the runtime's id for it.
    async fn start(&self, spec: &ContainerSpec) -> Result<String, RuntimeError>;

    /// Starts an exited container again (a restart under `restartPolicy`).
    async fn restart(&self, id: &str) -> Result<(), RuntimeError>;

    /// Stops and removes the container; a container already gone is fine.
    async fn remove(&self, id: &str) -> Result<(), RuntimeError>;

    async fn state(&self, id: &str) -> Result<ContainerState, RuntimeError>;

    async fn logs(&self, id: &str, options: LogOptions) -> Result<LogStream, RuntimeError>;

    /// Removes every container this runtime started for the cluster (on shutdown).
    async fn remove_all(&self) -> Result<(), RuntimeError>;

    /// The runtime's name and version, for node info (`docker://27.5.1`).
    fn runtime_version(&self) -> String;
}
