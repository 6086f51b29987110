//! The Linux guest: a Debian kernel with a busybox initramfs.
//!
//! - [`artifacts`]: prepares the kernel and initramfs from Debian packages
//!   and caches them ([`prepare_linux_guest`]).
//! - [`initramfs`]: writes (and reads back) the newc cpio archive and the
//!   guest's `/init`.
//! - `deb` (private): takes one file out of a `.deb` without `dpkg`.
//! - [`boot`]: the x86 Linux boot protocol for the micro-VMM: memory
//!   layout, zero page, e820 map, command line, initramfs placement and
//!   the 64-bit entry state.
//! - [`qemu`]: the same guest under QEMU's software emulation, a hosted
//!   (Type 2) hypervisor running as a child process.

pub mod artifacts;
pub mod boot;
mod deb;
pub mod initramfs;
pub mod qemu;

pub use artifacts::{
    GuestPrepError, GuestPrepProgress, LinuxGuestArtifacts, cached_linux_guest, prepare_linux_guest,
};
