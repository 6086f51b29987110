//! Builds the guest programs from `content/guest/*.S` into flat binaries with
//! the machine's own binutils: `as --32`, `ld -m elf_i386` at the load address,
//! then `objcopy -O binary`. The VMM embeds the results with `include_bytes!`.
//!
//! `AS`, `LD` and `OBJCOPY` in the environment override the tool names.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the VMM loads every guest; must match `guest::LOAD_ADDRESS`.
const LOAD_ADDRESS: &str = "0x7c00";

/// The guest programs, by source file stem.
const GUESTS: [&str; 2] = ["teaching", "spin"];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let source_dir = manifest_dir.join("../../content/guest");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    println!("cargo::rerun-if-env-changed=AS");
    println!("cargo::rerun-if-env-changed=LD");
    println!("cargo::rerun-if-env-changed=OBJCOPY");

    for guest in GUESTS {
        let source = source_dir.join(format!("{guest}.S"));
        println!("cargo::rerun-if-changed={}", source.display());
        build_guest(&source, &out_dir, guest);
    }
}

fn build_guest(source: &Path, out_dir: &Path, guest: &str) {
    let object = out_dir.join(format!("{guest}.o"));
    let elf = out_dir.join(format!("{guest}.elf"));
    let flat = out_dir.join(format!("{guest}.bin"));

    let mut assemble = Command::new(tool("AS", "as"));
    assemble.arg("--32").arg("-o").arg(&object).arg(source);
    run(assemble, "assemble", source);

    let mut link = Command::new(tool("LD", "ld"));
    link.args(["-m", "elf_i386", "-e", "start"])
        .arg(format!("-Ttext={LOAD_ADDRESS}"))
        .arg("-o")
        .arg(&elf)
        .arg(&object);
    run(link, "link", source);

    let mut flatten = Command::new(tool("OBJCOPY", "objcopy"));
    flatten
        .args(["-O", "binary", "-j", ".text"])
        .arg(&elf)
        .arg(&flat);
    run(flatten, "flatten", source);
}

fn tool(variable: &str, default: &str) -> String {
    env::var(variable).unwrap_or_else(|_| default.to_owned())
}

/// Runs one build step; a failure stops the build with the step, the guest
/// source and the tool's own message (build scripts report errors by
/// panicking).
fn run(mut command: Command, step: &str, source: &Path) {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = match command.output() {
        Ok(output) => output,
        Err(error) => panic!(
            "failed to {step} guest {}: cannot run `{program}` ({error}); \
             install binutils (as, ld, objcopy)",
            source.display()
        ),
    };
    if !output.status.success() {
        panic!(
            "failed to {step} guest {}: `{program}` exited with {}\n{}",
            source.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
