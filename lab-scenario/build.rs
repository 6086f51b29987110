//! Embeds the shipped scenarios and their content into the crate, so the
//! `lab` binary works from any working directory without files on disk.
//!
//! Writes `embedded_files.rs` into `OUT_DIR`: a table of
//! (`scenarios/...` or `content/...` path, `include_str!` of the file).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Directories embedded, relative to the workspace root, with the file
/// endings taken from each.
const EMBEDDED: &[(&str, &[&str])] = &[
    ("scenarios", &["yaml", "yml"]),
    ("content/lessons", &["md"]),
    ("content/cluster", &["yaml", "yml"]),
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest_dir.join("..");
    let mut table = String::from("pub(crate) static FILES: &[(&str, &str)] = &[\n");
    for (dir, endings) in EMBEDDED {
        let full = root.join(dir);
        println!("cargo:rerun-if-changed={}", full.display());
        let mut files = Vec::new();
        collect(&full, endings, &mut files);
        files.sort();
        for file in files {
            let Ok(relative) = file.strip_prefix(&root) else {
                continue;
            };
            let key = relative.to_string_lossy().replace('\\', "/");
            let _ = writeln!(
                table,
                "    ({key:?}, include_str!({:?})),",
                file.display().to_string()
            );
        }
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if let Err(error) = std::fs::write(out.join("embedded_files.rs"), table) {
        panic!("cannot write embedded_files.rs: {error}");
    }
}

/// Every file under `dir` (recursively) whose extension is in `endings`.
fn collect(dir: &Path, endings: &[&str], files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, endings, files);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| endings.contains(&e))
        {
            files.push(path);
        }
    }
}
