//! Errors of the Docker engine, one variant per failed operation.

use std::path::PathBuf;

/// Something the Docker engine could not do.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// No Docker engine answers at the configured address.
    #[error("no Docker engine answers at {address}")]
    EngineDown {
        address: String,
        #[source]
        source: bollard::errors::Error,
    },
    /// The engine answered a request with an error.
    #[error("failed to {operation}")]
    Api {
        operation: String,
        #[source]
        source: bollard::errors::Error,
    },
    /// A session asked for something the lab does not allow.
    #[error("{0}")]
    Refused(String),
    /// A container name or ID did not match any container of the session.
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    /// An image is neither on the engine nor buildable by the lab.
    #[error("image {0} is not available offline in this lab")]
    ImageNotAvailable(String),
    /// The session asked for a name that one of its containers already has.
    #[error("the container name \"/{name}\" is already in use by container \"{id}\"")]
    NameInUse { name: String, id: String },
    /// The session asked to publish a port that one of its containers holds.
    #[error("Bind for 0.0.0.0:{port} failed: port is already allocated")]
    PortInUse { port: u16 },
    /// Every host port of the configured range is taken.
    #[error("no free host port left in {first}-{last}")]
    PortsExhausted { first: u16, last: u16 },
    /// A session id would not make a valid container name.
    #[error("invalid session id {0:?}: use letters, digits, '_', '.' or '-'")]
    InvalidSessionId(String),
    /// Building the base root file system failed.
    #[error("failed to build the base root file system with debootstrap in {dir}: {detail}")]
    Debootstrap { dir: PathBuf, detail: String },
    /// No Debian mirror could be read from the machine's apt sources.
    #[error("no Debian mirror found in the apt sources of this machine")]
    NoMirror,
    /// A local file or process operation failed.
    #[error("failed to {operation}")]
    Io {
        operation: String,
        #[source]
        source: std::io::Error,
    },
    /// An image build reported an error in its output stream.
    #[error("failed to build image {image}: {detail}")]
    Build { image: String, detail: String },
}

impl DockerError {
    /// Wraps a bollard error, turning connection failures into
    /// [`DockerError::EngineDown`] so callers can tell "engine gone" from
    /// "request refused".
    pub(crate) fn api(operation: impl Into<String>, source: bollard::errors::Error) -> Self {
        if is_connection_error(&source) {
            return DockerError::EngineDown {
                address: crate::engine::docker_host(),
                source,
            };
        }
        DockerError::Api {
            operation: operation.into(),
            source,
        }
    }

    pub(crate) fn io(operation: impl Into<String>, source: std::io::Error) -> Self {
        DockerError::Io {
            operation: operation.into(),
            source,
        }
    }

    /// The HTTP status of an engine error response, if this is one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            DockerError::Api {
                source: bollard::errors::Error::DockerResponseServerError { status_code, .. },
                ..
            } => Some(*status_code),
            _ => None,
        }
    }

    /// The message the engine gave, as the docker CLI would print it after
    /// "Error response from daemon: ".
    pub fn daemon_message(&self) -> String {
        match self {
            DockerError::Api {
                source: bollard::errors::Error::DockerResponseServerError { message, .. },
                ..
            } => message.clone(),
            DockerError::NameInUse { name, id } => format!(
                "Conflict. The container name \"/{name}\" is already in use by container \
                 \"{id}\". You have to remove (or rename) that container to be able to reuse \
                 that name."
            ),
            other => other.to_string(),
        }
    }

    /// True when the engine did not answer at all.
    pub fn is_engine_down(&self) -> bool {
        matches!(self, DockerError::EngineDown { .. })
    }
}

/// True for errors that mean "nothing answered", as opposed to an answer
/// that was an error.
pub(crate) fn is_connection_error(error: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        error,
        E::SocketNotFoundError(_)
            | E::IOError { .. }
            | E::RequestTimeoutError
            | E::HyperResponseError { .. }
            | E::HyperLegacyError { .. }
    )
}
