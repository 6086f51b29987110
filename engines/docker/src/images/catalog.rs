//! The images the lab can build, and the hash of what goes into each.
//!
//! App sources are embedded in the binary, so `lab` builds its images from
//! any working directory; an instructor editing `content/apps/` can point
//! [`ImageCatalog::from_content_dir`] at their copy instead.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::DockerError;

/// The base image every app image starts `FROM`.
pub const BASE_IMAGE: &str = "lab/base:bookworm";

/// The Debian suite, debootstrap variant and extra packages of the base.
pub const BASE_SUITE: &str = "bookworm";
pub const BASE_VARIANT: &str = "minbase";
pub const BASE_PACKAGES: &[&str] = &["python3-flask"];

/// The app images: reference, directory under `content/apps/`, files.
const APPS: &[AppSources] = &[
    AppSources {
        reference: "cryillic/thm_example_app:latest",
        dir: "thm_example_app",
        files: &[
            (
                "Dockerfile",
                include_str!("../../../../content/apps/thm_example_app/Dockerfile"),
            ),
            (
                "view.py",
                include_str!("../../../../content/apps/thm_example_app/view.py"),
            ),
        ],
    },
    AppSources {
        reference: "hello-tryhackme:latest",
        dir: "hello-tryhackme",
        files: &[
            (
                "Dockerfile",
                include_str!("../../../../content/apps/hello-tryhackme/Dockerfile"),
            ),
            (
                "hello.py",
                include_str!("../../../../content/apps/hello-tryhackme/hello.py"),
            ),
        ],
    },
];

struct AppSources {
    reference: &'static str,
    dir: &'static str,
    files: &'static [(&'static str, &'static str)],
}

/// The files of a build context: name and contents.
pub type ContextFiles = Vec<(String, Vec<u8>)>;

/// How an image is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRecipe {
    /// A root file system from debootstrap, imported as an image.
    Debootstrap,
    /// A build context (file name, contents) built with the build API.
    Context(ContextFiles),
}

/// One image the lab can build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabImage {
    /// Full reference with tag, e.g. `hello-tryhackme:latest`.
    pub reference: String,
    pub recipe: ImageRecipe,
    /// Hex SHA-256 of every input, the base image's hash included.
    pub input_hash: String,
}

/// The set of images the lab can build.
#[derive(Debug, Clone)]
pub struct ImageCatalog {
    images: Vec<LabImage>,
}

impl ImageCatalog {
    /// The catalog with the app sources compiled into this binary.
    pub fn embedded() -> Self {
        let apps = APPS.iter().map(|app| {
            let files = app
                .files
                .iter()
                .map(|(name, text)| ((*name).to_owned(), text.as_bytes().to_vec()))
                .collect();
            (app.reference, files)
        });
        ImageCatalog::with_apps(apps.collect())
    }

    /// The catalog with app sources read from `content_dir/apps/<app>/`.
    pub fn from_content_dir(content_dir: &Path) -> Result<Self, DockerError> {
        let mut apps = Vec::new();
        for app in APPS {
            let mut files = Vec::new();
            for (name, _) in app.files {
                let path = content_dir.join("apps").join(app.dir).join(name);
                let bytes = std::fs::read(&path)
                    .map_err(|e| DockerError::io(format!("read {}", path.display()), e))?;
                files.push(((*name).to_owned(), bytes));
            }
            apps.push((app.reference, files));
        }
        Ok(ImageCatalog::with_apps(apps))
    }

    fn with_apps(apps: Vec<(&str, ContextFiles)>) -> Self {
        let base = LabImage {
            reference: BASE_IMAGE.to_owned(),
            recipe: ImageRecipe::Debootstrap,
            input_hash: base_hash(),
        };
        let mut images = vec![base.clone()];
        for (reference, files) in apps {
            let input_hash = context_hash(&base.input_hash, &files);
            images.push(LabImage {
                reference: reference.to_owned(),
                recipe: ImageRecipe::Context(files),
                input_hash,
            });
        }
        ImageCatalog { images }
    }

    /// Every image, the base first.
    pub fn images(&self) -> &[LabImage] {
        &self.images
    }

    /// The image a student's reference names, if the lab can build it.
    pub fn find(&self, reference: &str) -> Option<&LabImage> {
        let wanted = normalize_reference(reference);
        self.images.iter().find(|image| image.reference == wanted)
    }
}

fn base_hash() -> String {
    let mut hasher = Sha256::new();
    for part in [BASE_SUITE, BASE_VARIANT].iter().chain(BASE_PACKAGES) {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize())
}

fn context_hash(base_hash: &str, files: &[(String, Vec<u8>)]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(base_hash.as_bytes());
    for (name, bytes) in files {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(bytes.len().to_le_bytes());
        hasher.update(bytes);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The reference as the engine lists it: `docker.io/` and `library/`
/// dropped, `:latest` added when no tag or digest is given.
pub fn normalize_reference(reference: &str) -> String {
    let mut name = reference.trim();
    for prefix in ["docker.io/", "index.docker.io/"] {
        name = name.strip_prefix(prefix).unwrap_or(name);
    }
    name = name.strip_prefix("library/").unwrap_or(name);
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_owned()
    } else {
        format!("{name}:latest")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalized_like_the_engine_lists_them() {
        assert_eq!(
            normalize_reference("cryillic/thm_example_app"),
            "cryillic/thm_example_app:latest"
        );
        assert_eq!(
            normalize_reference("docker.io/library/hello-tryhackme"),
            "hello-tryhackme:latest"
        );
        assert_eq!(
            normalize_reference("lab/base:bookworm"),
            "lab/base:bookworm"
        );
        assert_eq!(
            normalize_reference("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
    }

    #[test]
    fn changing_an_app_file_changes_only_that_image_hash() {
        let embedded = ImageCatalog::embedded();
        let mut apps: Vec<(&str, ContextFiles)> = APPS
            .iter()
            .map(|app| {
                let files = app
                    .files
                    .iter()
                    .map(|(n, t)| ((*n).to_owned(), t.as_bytes().to_vec()));
                (app.reference, files.collect())
            })
            .collect();
        apps[0].1[1].1.extend_from_slice(b"\n# edited\n");
        let edited = ImageCatalog::with_apps(apps);
        let hashes = |c: &ImageCatalog| {
            c.images()
                .iter()
                .map(|i| i.input_hash.clone())
                .collect::<Vec<_>>()
        };
        let (before, after) = (hashes(&embedded), hashes(&edited));
        assert_eq!(before[0], after[0], "base unchanged");
        assert_ne!(before[1], after[1], "edited app rebuilt");
        assert_eq!(before[2], after[2], "other app unchanged");
    }

    #[test]
    fn the_content_directory_and_the_embedded_copy_agree() {
        let content = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content");
        let from_disk = ImageCatalog::from_content_dir(&content).unwrap();
        assert_eq!(from_disk.images(), ImageCatalog::embedded().images());
        let missing = ImageCatalog::from_content_dir(Path::new("/nonexistent"));
        assert!(matches!(missing, Err(DockerError::Io { .. })));
    }

    #[test]
    fn embedded_catalog_knows_the_scenario_images() {
        let catalog = ImageCatalog::embedded();
        assert!(catalog.find("cryillic/thm_example_app").is_some());
        assert!(catalog.find("hello-tryhackme").is_some());
        assert!(catalog.find("nginx").is_none());
    }
}
