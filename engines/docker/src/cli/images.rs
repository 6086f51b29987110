//! `docker images`, `docker pull` and `docker version` of the lab shell.

use bollard::query_parameters::ListImagesOptions;
use lab_engine_api::Invocation;

use super::table::{human_duration, human_size, render};
use super::{DockerCommand, EXIT_USAGE, daemon_error, missing_argument, parse_or_usage};
use crate::error::DockerError;
use crate::images::{ImageStage, ensure_image, normalize_reference};

impl DockerCommand {
    /// Every image on the engine, as `docker images` lists them: images are
    /// shared by all sessions and hold nothing private.
    pub(super) async fn images(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        let Some(parsed) = parse_or_usage("images", args, false, &inv.stderr).await else {
            return EXIT_USAGE;
        };
        let listed = self
            .session
            .engine()
            .with_client(|docker| async move {
                docker
                    .list_images(Some(ListImagesOptions::default()))
                    .await
                    .map_err(|e| DockerError::api("list images", e))
            })
            .await;
        let mut images = match listed {
            Ok(images) => images,
            Err(error) => {
                let _ = inv.stderr.line(daemon_error(&self.session, &error)).await;
                return 1;
            }
        };
        images.sort_by_key(|image| std::cmp::Reverse(image.created));
        let filter = parsed.positionals.first().map(|r| normalize_reference(r));
        let now = unix_now();
        let mut rows = Vec::new();
        for image in &images {
            let id = image
                .id
                .trim_start_matches("sha256:")
                .get(..12)
                .unwrap_or_default()
                .to_owned();
            let tags = if image.repo_tags.is_empty() {
                vec!["<none>:<none>".to_owned()]
            } else {
                image.repo_tags.clone()
            };
            for tag in tags {
                if filter.as_ref().is_some_and(|f| *f != tag) {
                    continue;
                }
                let (repository, tag) = tag.rsplit_once(':').unwrap_or((&tag, "<none>"));
                rows.push(vec![
                    repository.to_owned(),
                    tag.to_owned(),
                    id.clone(),
                    format!("{} ago", human_duration(now - image.created)),
                    human_size(image.size),
                ]);
            }
        }
        if parsed.has("quiet") {
            let mut ids: Vec<&String> = rows.iter().map(|r| &r[2]).collect();
            ids.dedup();
            for id in ids {
                let _ = inv.stdout.line(id).await;
            }
            return 0;
        }
        let _ = inv
            .stdout
            .write(render(
                &["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
                &rows,
            ))
            .await;
        0
    }

    /// A lab image resolves to the local copy, built when missing.
    pub(super) async fn pull(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        let Some(parsed) = parse_or_usage("pull", args, false, &inv.stderr).await else {
            return EXIT_USAGE;
        };
        let Some(reference) = parsed.positionals.first() else {
            return missing_argument("pull", 1, &inv.stderr).await;
        };
        let image = normalize_reference(reference);
        let last = reference.rsplit('/').next().unwrap_or(reference);
        if !last.contains(':') && !last.contains('@') {
            let _ = inv.stdout.line("Using default tag: latest").await;
        }
        match self.pull_image(&image, inv).await {
            Ok(built) => {
                let status = if built {
                    "Downloaded newer image for"
                } else {
                    "Image is up to date for"
                };
                let _ = inv
                    .stdout
                    .line(format!(
                        "Status: {status} {image} (built locally, the lab works offline)"
                    ))
                    .await;
                let _ = inv.stdout.line(format!("docker.io/{image}")).await;
                0
            }
            Err(error) => {
                let _ = inv.stderr.line(daemon_error(&self.session, &error)).await;
                1
            }
        }
    }

    /// Builds the image if the lab knows it; `Ok(true)` when it was built.
    async fn pull_image(&self, image: &str, inv: &Invocation<'_>) -> Result<bool, DockerError> {
        let docker = self.session.engine().client().await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let progress = move |p: crate::ImageProgress| {
            let _ = match p.stage {
                ImageStage::Started(what) => tx.send(format!("{}: {what}", p.image)),
                ImageStage::Built => tx.send(format!("{}: Pull complete", p.image)),
                _ => Ok(()),
            };
        };
        let catalog = self.session.catalog().clone();
        let known = ensure_image(&docker, &catalog, image, progress).await;
        let mut built = false;
        while let Ok(line) = rx.try_recv() {
            built = true;
            let _ = inv.stdout.line(line).await;
        }
        if known? {
            return Ok(built);
        }
        match docker.inspect_image(image).await {
            Ok(_) => Ok(false),
            Err(_) => Err(DockerError::ImageNotAvailable(image.to_owned())),
        }
    }

    pub(super) async fn version(&self, inv: &Invocation<'_>) -> i32 {
        let mut text = format!(
            "Client:\n Version:           lab shell (lab-docker {})\n OS/Arch:           {}/{}\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            go_arch()
        );
        let version = self
            .session
            .engine()
            .with_client(|docker| async move {
                docker
                    .version()
                    .await
                    .map_err(|e| DockerError::api("read the engine version", e))
            })
            .await;
        let status = match version {
            Ok(v) => {
                let field = |value: Option<String>| value.unwrap_or_default();
                text.push_str(&format!(
                    "\nServer:\n Engine:\n  Version:          {}\n  API version:      {} (minimum version {})\n  Go version:       {}\n  Git commit:       {}\n  OS/Arch:          {}/{}\n",
                    field(v.version),
                    field(v.api_version),
                    field(v.min_api_version),
                    field(v.go_version),
                    field(v.git_commit),
                    field(v.os),
                    field(v.arch),
                ));
                0
            }
            Err(error) => {
                let _ = inv.stdout.write(text.clone()).await;
                let _ = inv.stderr.line(daemon_error(&self.session, &error)).await;
                return 1;
            }
        };
        let _ = inv.stdout.write(text).await;
        status
    }
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
