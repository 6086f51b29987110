//! The offline image pipeline.
//!
//! No registry is in reach, so the lab builds every image it runs:
//!
//! - [`catalog`]: the images the lab knows, with their embedded sources and
//!   the hash of their inputs;
//! - [`base`]: the Debian base image, made with debootstrap and imported;
//! - [`build`]: app images, built with the engine's build API from a tar
//!   context made here, on top of the base image.
//!
//! Each built image carries the label [`INPUT_HASH_LABEL`]; an image whose
//! label matches its current inputs is not built again.

pub mod base;
pub mod build;
pub mod catalog;

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::ListImagesOptions;

pub use build::{build_images, ensure_image};
pub use catalog::{ImageCatalog, LabImage, normalize_reference};

use crate::error::DockerError;

/// The label holding the hash of an image's inputs.
pub const INPUT_HASH_LABEL: &str = "lab.input-hash";

/// One step of an image build, for progress bars and the lab shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageProgress {
    /// The image reference, e.g. `cryillic/thm_example_app:latest`.
    pub image: String,
    pub stage: ImageStage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageStage {
    /// The image exists and its inputs have not changed.
    UpToDate,
    /// A build starts; the text says what it does and roughly how long.
    Started(String),
    /// A line of build output.
    Step(String),
    /// The build finished.
    Built,
}

/// Whether one lab image is ready on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabImageState {
    pub reference: String,
    pub state: ImageState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageState {
    /// Built from the current inputs.
    Ready { id: String, size_bytes: i64 },
    /// Present, but built from other inputs: the next use rebuilds it.
    Stale { id: String },
    /// Not on the engine yet.
    Missing,
}

/// The state of every image of `catalog` on the engine, for `lab images list`.
pub async fn list_images(
    docker: &Docker,
    catalog: &ImageCatalog,
) -> Result<Vec<LabImageState>, DockerError> {
    let present = image_hashes(docker).await?;
    let states = catalog
        .images()
        .iter()
        .map(|image| {
            let state = match present.get(&image.reference) {
                None => ImageState::Missing,
                Some(found) if found.hash.as_deref() == Some(image.input_hash.as_str()) => {
                    ImageState::Ready {
                        id: found.id.clone(),
                        size_bytes: found.size,
                    }
                }
                Some(found) => ImageState::Stale {
                    id: found.id.clone(),
                },
            };
            LabImageState {
                reference: image.reference.clone(),
                state,
            }
        })
        .collect();
    Ok(states)
}

struct PresentImage {
    id: String,
    size: i64,
    hash: Option<String>,
}

/// Every tagged image on the engine with its input-hash label.
async fn image_hashes(docker: &Docker) -> Result<HashMap<String, PresentImage>, DockerError> {
    let images = docker
        .list_images(Some(ListImagesOptions::default()))
        .await
        .map_err(|e| DockerError::api("list images", e))?;
    let mut present = HashMap::new();
    for image in images {
        for tag in &image.repo_tags {
            let hash = image.labels.get(INPUT_HASH_LABEL).cloned();
            present.insert(
                tag.clone(),
                PresentImage {
                    id: image.id.clone(),
                    size: image.size,
                    hash,
                },
            );
        }
    }
    Ok(present)
}

/// An image on the engine: its ID and the input hash it was built from.
pub(crate) struct BuiltImage {
    pub id: String,
    pub hash: Option<String>,
}

/// The image `reference` names on the engine, if there is one.
pub(crate) async fn present_image(
    docker: &Docker,
    reference: &str,
) -> Result<Option<BuiltImage>, DockerError> {
    match docker.inspect_image(reference).await {
        Ok(image) => Ok(Some(BuiltImage {
            id: image.id.unwrap_or_default(),
            hash: image
                .config
                .and_then(|c| c.labels)
                .and_then(|mut l| l.remove(INPUT_HASH_LABEL)),
        })),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(DockerError::api(format!("inspect image {reference}"), e)),
    }
}
