//! Building lab images when their inputs changed, and only then.

use std::collections::HashMap;
use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::BuildImageOptions;
use futures::StreamExt;
use tokio::sync::Mutex;

use super::catalog::{BASE_IMAGE, ImageCatalog, ImageRecipe, LabImage};
use super::{INPUT_HASH_LABEL, ImageProgress, ImageStage, base, present_image};
use crate::error::DockerError;

/// Builds of one lab process run one at a time: thirty students asking for
/// the same image at once wait for one build instead of starting thirty.
static BUILD_LOCK: Mutex<()> = Mutex::const_new(());

/// Where the base root file system is made; it must allow executables and
/// device-free chroots, which `/tmp` on tmpfs may not.
const WORK_DIR: &str = "/var/tmp";

/// Builds every image of the catalog whose inputs changed (the base first).
pub async fn build_images(
    docker: &Docker,
    catalog: &ImageCatalog,
    progress: impl Fn(ImageProgress) + Send + Sync,
) -> Result<(), DockerError> {
    let _guard = BUILD_LOCK.lock().await;
    for image in catalog.images() {
        build_if_changed(docker, image, &progress).await?;
    }
    Ok(())
}

/// Makes sure the lab image `reference` is present and current, building it
/// (and the base) if needed. Returns `false` when the lab does not know the
/// image: it is then not available offline unless it is already present.
pub async fn ensure_image(
    docker: &Docker,
    catalog: &ImageCatalog,
    reference: &str,
    progress: impl Fn(ImageProgress) + Send + Sync,
) -> Result<bool, DockerError> {
    let Some(image) = catalog.find(reference) else {
        return Ok(false);
    };
    let _guard = BUILD_LOCK.lock().await;
    if let ImageRecipe::Context(_) = image.recipe
        && let Some(base) = catalog.find(BASE_IMAGE)
    {
        build_if_changed(docker, base, &progress).await?;
    }
    build_if_changed(docker, image, &progress).await?;
    Ok(true)
}

async fn build_if_changed(
    docker: &Docker,
    image: &LabImage,
    progress: &(dyn Fn(ImageProgress) + Send + Sync),
) -> Result<(), DockerError> {
    let report = |stage| {
        progress(ImageProgress {
            image: image.reference.clone(),
            stage,
        })
    };
    let previous = present_image(docker, &image.reference).await?;
    if let Some(found) = &previous
        && found.hash.as_deref() == Some(image.input_hash.as_str())
    {
        report(ImageStage::UpToDate);
        return Ok(());
    }
    tracing::info!(image = %image.reference, "building lab image");
    match &image.recipe {
        ImageRecipe::Debootstrap => {
            base::build_base(docker, image, Path::new(WORK_DIR), progress).await?
        }
        ImageRecipe::Context(files) => build_context(docker, image, files, &report).await?,
    }
    if let Some(old) = previous {
        remove_replaced(docker, &old.id).await;
    }
    Ok(())
}

/// Removes the image a rebuild replaced, so edits to `content/apps/` do not
/// pile up untagged images. An image still used by a container stays (the
/// engine refuses), and goes when nothing uses it any more and the lab
/// rebuilds again.
async fn remove_replaced(docker: &Docker, old_id: &str) {
    if let Err(error) = docker
        .remove_image(
            old_id,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await
    {
        tracing::debug!(image = %old_id, %error, "kept the replaced image");
    }
}

/// Builds an app image from its files with the engine's build API.
async fn build_context(
    docker: &Docker,
    image: &LabImage,
    files: &[(String, Vec<u8>)],
    report: &(dyn Fn(ImageStage) + Send + Sync),
) -> Result<(), DockerError> {
    report(ImageStage::Started(format!(
        "building {} from the lab's sources",
        image.reference
    )));
    let context = tar_context(files).map_err(|e| DockerError::io("pack the build context", e))?;
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".to_owned(),
        t: Some(image.reference.clone()),
        rm: true,
        forcerm: true,
        labels: Some(HashMap::from([(
            INPUT_HASH_LABEL.to_owned(),
            image.input_hash.clone(),
        )])),
        ..Default::default()
    };
    let body = bollard::body_full(context.into());
    let mut output = docker.build_image(options, None, Some(body));
    while let Some(info) = output.next().await {
        let info = info.map_err(|e| DockerError::api(format!("build {}", image.reference), e))?;
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            return Err(DockerError::Build {
                image: image.reference.clone(),
                detail,
            });
        }
        if let Some(line) = info
            .stream
            .map(|s| s.trim_end().to_owned())
            .filter(|s| !s.is_empty())
        {
            report(ImageStage::Step(line));
        }
    }
    report(ImageStage::Built);
    Ok(())
}

/// A tar archive of the build context, made in memory (the contexts are a
/// few kilobytes).
pub fn tar_context(files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(u64::try_from(bytes.len()).map_err(std::io::Error::other)?);
        header.set_mode(0o644);
        header.set_cksum();
        archive.append_data(&mut header, name, bytes.as_slice())?;
    }
    archive.into_inner()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn context_archive_holds_every_file() {
        let files = vec![
            ("Dockerfile".to_owned(), b"FROM x\n".to_vec()),
            ("a.py".to_owned(), b"print()\n".to_vec()),
        ];
        let bytes = tar_context(&files).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["Dockerfile", "a.py"]);
    }
}
