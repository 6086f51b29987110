//! `lab images build|list`: the offline image pipeline, and the Linux
//! guest the KVM engine boots with `vm start linux`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use lab_docker::{DockerEngine, ImageCatalog, ImageProgress, ImageStage, images::ImageState};
use lab_kvm::GuestPrepProgress;

use crate::engines::error_chain;

#[derive(Debug, clap::Subcommand)]
pub enum ImagesCommand {
    /// Build the lab's Docker images (a Debian base, then the apps) and
    /// prepare the Linux guest; only what changed is built again.
    #[command(after_long_help = "Example:\n  lab images build\n\n\
                                 The first build takes a few minutes and needs Debian's package \
                                 mirror; later builds take seconds.")]
    Build,
    /// List the lab's images and whether each is built and current.
    List,
}

pub fn execute(command: &ImagesCommand, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let runtime = super::runtime()?;
    match command {
        ImagesCommand::Build => runtime.block_on(build(data_dir)),
        ImagesCommand::List => runtime.block_on(list()),
    }
}

async fn build(data_dir: &Path) -> anyhow::Result<ExitCode> {
    let docker = DockerEngine::new()
        .client()
        .await
        .context("cannot reach the Docker engine (run `lab doctor`)")?;
    let bar = spinner();
    let built = lab_docker::build_images(&docker, &ImageCatalog::embedded(), |progress| {
        show_image_progress(&bar, &progress);
    })
    .await;
    bar.finish_and_clear();
    built.context("the image build failed")?;
    println!("Docker images: ready");

    let bar = spinner();
    let guest = lab_kvm::prepare_linux_guest(data_dir, |progress| {
        bar.set_message(guest_message(&progress));
    })
    .await;
    bar.finish_and_clear();
    match guest {
        Ok(guest) => {
            println!("Linux guest: ready ({})", guest.kernel_package);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("Linux guest: not prepared: {}", error_chain(&error));
            eprintln!("  (the teaching guest works without it; `vm start linux` needs it)");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn list() -> anyhow::Result<ExitCode> {
    let docker = DockerEngine::new()
        .client()
        .await
        .context("cannot reach the Docker engine (run `lab doctor`)")?;
    let states = lab_docker::list_images(&docker, &ImageCatalog::embedded())
        .await
        .context("cannot list images")?;
    for image in states {
        let state = match image.state {
            ImageState::Ready { size_bytes, .. } => {
                format!("ready    {} MB", size_bytes / 1_000_000)
            }
            ImageState::Stale { .. } => {
                "stale    (rebuilt on next use or `lab images build`)".into()
            }
            ImageState::Missing => "missing  (run `lab images build`)".into(),
        };
        println!("{:<44} {state}", image.reference);
    }
    Ok(ExitCode::SUCCESS)
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed}] {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn show_image_progress(bar: &ProgressBar, progress: &ImageProgress) {
    match &progress.stage {
        ImageStage::UpToDate => bar.println(format!("{}: up to date", progress.image)),
        ImageStage::Started(what) => bar.println(format!("{}: {what}", progress.image)),
        ImageStage::Step(line) => bar.set_message(format!("{}: {}", progress.image, line.trim())),
        ImageStage::Built => bar.println(format!("{}: built", progress.image)),
    }
}

fn guest_message(progress: &GuestPrepProgress) -> String {
    match progress {
        GuestPrepProgress::Resolving => "Linux guest: asking apt for the packages".into(),
        GuestPrepProgress::UpdatingPackageLists => "Linux guest: apt-get update".into(),
        GuestPrepProgress::UpToDate { kernel_package } => {
            format!("Linux guest: up to date ({kernel_package})")
        }
        GuestPrepProgress::UsingCachedOffline { reason } => {
            format!("Linux guest: using the cached guest ({reason})")
        }
        GuestPrepProgress::Downloading { packages } => {
            format!("Linux guest: downloading {}", packages.join(", "))
        }
        GuestPrepProgress::Extracting { file } => format!("Linux guest: extracting {file}"),
        GuestPrepProgress::BuildingInitramfs => "Linux guest: building the initramfs".into(),
        GuestPrepProgress::Done { .. } => "Linux guest: done".into(),
    }
}
