//! Docker engine of the lab: containers through bollard, isolated per
//! session, and the offline image pipeline.
//!
//! - [`engine`]: the shared connection with a cached health state
//!   ([`DockerEngine`]), reconnecting by itself when dockerd comes back.
//! - [`images`]: builds the lab's images locally (a debootstrap base, app
//!   images from `content/apps/`), rebuilding only when inputs change.
//! - [`error`]: [`DockerError`], one variant per failed operation.
//! - [`ports`]: [`PortMap`], host ports handed out to sessions.
//! - [`session`]: [`DockerSession`], one student's containers: labels,
//!   names, limits, refused options, cleanup and the orphan sweep.
//! - [`cli`]: the lab shell's `docker` command ([`DockerCommand`]).
//! - [`curl`]: the lab shell's `curl` ([`CurlCommand`]), reaching published
//!   ports through the session's port map.
//! - [`probe`]: [`DockerProbe`], the `container_running` and `http` checks
//!   and Docker live values.
//! - [`names`], [`owner`]: random container names; which lab process owns a
//!   container (for the orphan sweep).

pub mod cli;
pub mod curl;
pub mod engine;
pub mod error;
pub mod images;
pub mod names;
pub mod owner;
pub mod ports;
pub mod probe;
pub mod session;

pub use cli::DockerCommand;
pub use curl::CurlCommand;
pub use engine::{DockerEngine, ENGINE_REMEDY};
pub use error::DockerError;
pub use images::{
    ImageCatalog, ImageProgress, ImageStage, build_images, ensure_image, list_images,
};
pub use ports::PortMap;
pub use probe::DockerProbe;
pub use session::{
    ContainerLimits, ContainerSpec, DockerSession, ExecOutput, LogTail, OutputChunk, PortRequest,
    Protocol, PublishedPort, SessionContainer, StartedContainer, SweepReport, sweep_orphans,
};
