//! The guest programs the lab can boot, built by `build.rs` from the
//! assembly sources in `content/guest/`.

/// Guest-physical address every program is loaded at and started from
/// (with all segment registers zero), where a PC BIOS loads a boot sector.
pub const LOAD_ADDRESS: u64 = 0x7c00;

/// The stack pointer a program starts with: just below its own code.
pub const INITIAL_STACK: u64 = 0x7c00;

/// A flat 16-bit real-mode program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestProgram {
    /// The name typed after `vm start`.
    pub name: &'static str,
    /// One line for `vm start --help`.
    pub summary: &'static str,
    /// The machine code, loaded at [`LOAD_ADDRESS`].
    pub image: &'static [u8],
    /// Text whose appearance on the console proves the guest booted.
    pub banner: &'static str,
}

impl GuestProgram {
    /// The interactive teaching guest (`content/guest/teaching.S`).
    pub const TEACHING: GuestProgram = GuestProgram {
        name: "teaching",
        summary: "a tiny real-mode program with a serial console: help, cpuid, mem, ticks, halt",
        image: include_bytes!(concat!(env!("OUT_DIR"), "/teaching.bin")),
        banner: "lab teaching guest",
    };

    /// A guest that prints a line and then loops without HLT or I/O, to
    /// show the watchdog at work (`content/guest/spin.S`).
    pub const SPIN: GuestProgram = GuestProgram {
        name: "spin",
        summary: "prints one line, then loops forever so the watchdog stops it",
        image: include_bytes!(concat!(env!("OUT_DIR"), "/spin.bin")),
        banner: "lab spin guest",
    };

    /// The Linux guest: not a program of this crate but a Debian kernel
    /// and a busybox initramfs prepared ahead of time (see
    /// [`crate::linux`]). Its "banner" is the shell prompt, so its boot time
    /// is the time to the prompt.
    pub const LINUX: GuestProgram = GuestProgram {
        name: "linux",
        summary: "a Debian Linux kernel with a busybox shell (add --emulator qemu without VT-x/AMD-V)",
        image: &[],
        banner: crate::linux::initramfs::SHELL_PROMPT,
    };

    /// Every real-mode program, the default first.
    pub const ALL: [GuestProgram; 2] = [GuestProgram::TEACHING, GuestProgram::SPIN];

    /// Looks a program up by the name typed after `vm start`.
    pub fn by_name(name: &str) -> Option<GuestProgram> {
        GuestProgram::ALL
            .into_iter()
            .find(|program| program.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_images_are_small_real_mode_programs_that_contain_their_banner() {
        for program in GuestProgram::ALL {
            assert!(!program.image.is_empty(), "{} was built", program.name);
            assert!(program.image.len() < 4096, "{} stays tiny", program.name);
            let banner = program.banner.as_bytes();
            assert!(
                program
                    .image
                    .windows(banner.len())
                    .any(|window| window == banner),
                "{} carries its banner",
                program.name
            );
        }
    }

    #[test]
    fn programs_are_found_by_name() {
        assert_eq!(
            GuestProgram::by_name("teaching"),
            Some(GuestProgram::TEACHING)
        );
        assert_eq!(GuestProgram::by_name("linux"), None);
    }
}
