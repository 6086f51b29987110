//! Time from `vm start linux` to the guest's shell prompt.
//!
//! `cargo bench -p lab-kvm --bench linux_boot` prepares the guest (kernel
//! and initramfs from Debian packages, cached in `LAB_KVM_BENCH_CACHE` or
//! under the temporary directory) and prints:
//! - the boot time under QEMU with TCG, the Type 2 emulator, where
//!   `qemu-system-x86_64` is installed;
//! - the boot time on the micro-VMM where the host has VT-x or AMD-V, or
//!   why it cannot run here;
//! - Firecracker's published figure (125 ms from start to guest user space)
//!   for comparison.
//!
//! Boots run one at a time, so the figures do not include a second guest
//! competing for the CPU.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lab_kvm::linux::qemu::find_qemu;
use lab_kvm::{
    BannerWait, Hypervisor, KvmSession, LinuxGuestArtifacts, VmConfig, host_report, linux_refusal,
    prepare_linux_guest,
};

const QEMU_BOOTS: usize = 3;
const MICRO_VM_BOOTS: usize = 10;
const PATIENCE: Duration = Duration::from_secs(180);
/// Firecracker's published start-up figure: to guest user space.
const FIRECRACKER_MS: u64 = 125;

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("linux boot bench: cannot build a tokio runtime: {error}");
            return;
        }
    };
    runtime.block_on(run());
}

async fn run() {
    let report = host_report();
    println!(
        "host: {:?}, hardware virtualization: {}",
        report.device, report.virtualization
    );
    let cache = std::env::var_os("LAB_KVM_BENCH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("lab-kvm-test-cache"));
    let started = Instant::now();
    let artifacts = match prepare_linux_guest(&cache, |step| println!("prepare: {step:?}")).await {
        Ok(artifacts) => artifacts,
        Err(error) => {
            eprintln!("linux boot bench skipped: the guest cannot be prepared: {error}");
            return;
        }
    };
    println!(
        "guest: {} (prepared or checked in {:.1} s)",
        artifacts.kernel_package,
        started.elapsed().as_secs_f64()
    );

    match find_qemu() {
        Some(_) => boot_times(&artifacts, Hypervisor::Qemu, QEMU_BOOTS).await,
        None => println!("QEMU: not installed (Debian: qemu-system-x86), not measured"),
    }
    match linux_refusal(&report) {
        None => boot_times(&artifacts, Hypervisor::MicroVm, MICRO_VM_BOOTS).await,
        Some(reason) => println!("micro-VMM: not measured: {reason}"),
    }
    println!("Firecracker (published): {FIRECRACKER_MS} ms to guest user space");
}

async fn boot_times(artifacts: &LinuxGuestArtifacts, hypervisor: Hypervisor, boots: usize) {
    let mut times = Vec::with_capacity(boots);
    for _ in 0..boots {
        let session = KvmSession::new(VmConfig::default()).with_linux_guest(artifacts.clone());
        let started = Instant::now();
        let view = match session.start_linux(hypervisor) {
            Ok(view) => view,
            Err(error) => {
                println!("{}: the guest did not start: {error}", hypervisor.label());
                return;
            }
        };
        match view.wait_for_banner(PATIENCE).await {
            BannerWait::Seen(_) => times.push(started.elapsed()),
            other => {
                println!("{}: no shell prompt: {other:?}", hypervisor.label());
                return;
            }
        }
        session.stop();
    }
    times.sort();
    if times.is_empty() {
        return;
    }
    let millis = |duration: Duration| duration.as_millis();
    let total: Duration = times.iter().sum();
    let count = u32::try_from(times.len()).unwrap_or(u32::MAX).max(1);
    println!(
        "{}: start to shell prompt over {} boots: min {} ms, median {} ms, mean {} ms, \
         max {} ms ({:.0}x Firecracker's {FIRECRACKER_MS} ms)",
        hypervisor.description(),
        times.len(),
        millis(times[0]),
        millis(times[times.len() / 2]),
        millis(total / count),
        millis(times[times.len() - 1]),
        (total / count).as_secs_f64() * 1000.0 / FIRECRACKER_MS as f64,
    );
}
