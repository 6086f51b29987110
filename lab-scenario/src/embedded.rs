//! The shipped scenarios and content, compiled in by the build script.

include!(concat!(env!("OUT_DIR"), "/embedded_files.rs"));

/// The text of an embedded file, by path from the workspace root
/// (`scenarios/x.yaml`, `content/lessons/x/intro.md`).
pub fn file(path: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, text)| *text)
}

/// Embedded scenario files: (path, text).
pub fn scenario_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    FILES
        .iter()
        .copied()
        .filter(|(name, _)| name.starts_with("scenarios/"))
}
