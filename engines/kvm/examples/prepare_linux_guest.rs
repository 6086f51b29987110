//! Prepares the Linux guest's kernel and initramfs into a cache directory
//! and prints each step: `cargo run -p lab-kvm --example prepare_linux_guest -- DIR`.

use std::path::PathBuf;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("lab-linux-guest"));
    let prepared = lab_kvm::linux::prepare_linux_guest(&dir, |step| println!("{step}")).await;
    match prepared {
        Ok(artifacts) => println!("{artifacts:#?}"),
        Err(error) => {
            eprintln!("failed: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            std::process::exit(1);
        }
    }
}
