//! Builds the lab's images on the local Docker engine and prints progress:
//! `cargo run -p lab-docker --example build_images`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use lab_docker::{DockerEngine, ImageCatalog, ImageStage, build_images};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = DockerEngine::new();
    let docker = engine.client().await?;
    let started = std::time::Instant::now();
    build_images(
        &docker,
        &ImageCatalog::embedded(),
        |progress| match progress.stage {
            ImageStage::Step(line) => println!("  {}: {line}", progress.image),
            stage => println!("{}: {stage:?}", progress.image),
        },
    )
    .await?;
    println!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
