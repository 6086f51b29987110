//! The x86 Linux boot protocol for the micro-VMM, 64-bit entry.
//!
//! A bootloader's job, done by the VMM before the first instruction: load
//! the protected-mode kernel from the bzImage (linux-loader), place the
//! command line and the initramfs, fill the "zero page" (`boot_params`:
//! the setup header from the image, the e820 memory map, where the command
//! line and initramfs are), and put the vCPU straight into 64-bit long
//! mode (a GDT, identity-mapped page tables, paging on) at the kernel's
//! 64-bit entry point with `rsi` pointing at the zero page.
//!
//! Guest-physical layout (all below 1 MiB is conventional memory):
//!
//! | address     | what                                      |
//! |-------------|-------------------------------------------|
//! | `0x500`     | GDT, then an empty IDT at `0x520`         |
//! | `0x7000`    | zero page (`boot_params`)                 |
//! | `0x8ff0`    | initial stack pointer (grows down)        |
//! | `0x9000`    | page tables: PML4, PDPT, PD (3 pages)     |
//! | `0x20000`   | kernel command line                       |
//! | `0x9fc00`   | EBDA: e820 RAM ends here below 1 MiB      |
//! | `0x100000`  | protected-mode kernel (`code32_start`)    |
//! | top of RAM  | initramfs, page aligned, below the kernel's `initrd_addr_max` |

use std::io::Cursor;

use kvm_bindings::{kvm_regs, kvm_segment, kvm_sregs};
use linux_loader::cmdline::Cmdline;
use linux_loader::configurator::linux::LinuxBootConfigurator;
use linux_loader::configurator::{BootConfigurator, BootParams};
use linux_loader::loader::bootparam::{boot_e820_entry, boot_params, setup_header};
use linux_loader::loader::{KernelLoader, bzimage::BzImage, load_cmdline};
use vm_memory::{Address, Bytes, GuestAddress, GuestMemoryMmap};

/// Guest RAM of a Linux guest, under either hypervisor.
pub const LINUX_MEMORY_MIB: u32 = 128;

pub const GDT_ADDRESS: u64 = 0x500;
pub const IDT_ADDRESS: u64 = 0x520;
pub const ZERO_PAGE_ADDRESS: u64 = 0x7000;
pub const BOOT_STACK_POINTER: u64 = 0x8ff0;
pub const PML4_ADDRESS: u64 = 0x9000;
pub const PDPT_ADDRESS: u64 = 0xa000;
pub const PD_ADDRESS: u64 = 0xb000;
pub const CMDLINE_ADDRESS: u64 = 0x20000;
/// The longest command line this VMM writes (the kernel may accept less).
pub const CMDLINE_CAPACITY: usize = 2048;
/// Where the extended BIOS data area would start: usable RAM below 1 MiB
/// ends here.
pub const EBDA_START: u64 = 0x9fc00;
/// The start of high memory, where the protected-mode kernel goes.
pub const HIMEM_START: u64 = 0x10_0000;
/// The 64-bit entry point is this far into the protected-mode kernel.
const ENTRY_64_OFFSET: u64 = 0x200;

const E820_RAM: u32 = 1;
const KERNEL_BOOT_FLAG_MAGIC: u16 = 0xaa55;
const KERNEL_HDR_MAGIC: u32 = 0x5372_6448;
/// "Undefined" boot loader id: the kernel asks nothing more of it.
const KERNEL_LOADER_OTHER: u8 = 0xff;
/// Boot protocol 2.03 introduced `initrd_addr_max`; older kernels allow
/// the initramfs no higher than this.
const DEFAULT_INITRD_ADDR_MAX: u64 = 0x37ff_ffff;
const PAGE_SIZE: u64 = 0x1000;

/// GDT selectors (index * 8).
const CODE_SELECTOR: u16 = 0x08;
const DATA_SELECTOR: u16 = 0x10;
const TSS_SELECTOR: u16 = 0x18;

const X86_CR0_PE: u64 = 0x1;
const X86_CR0_PG: u64 = 0x8000_0000;
const X86_CR4_PAE: u64 = 0x20;
const EFER_LME: u64 = 0x100;
const EFER_LMA: u64 = 0x400;

/// The kernel command line: the serial console, reboot through the
/// keyboard controller (which the VMM turns into a stop), no waiting after
/// a panic, no PCI bus (there is none), quiet boot.
pub fn kernel_command_line() -> String {
    "console=ttyS0 reboot=k panic=-1 pci=off i8042.noaux quiet".to_owned()
}

/// Why a Linux guest could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("failed to load the kernel image")]
    LoadKernel(#[source] linux_loader::loader::Error),
    #[error("the kernel image has no setup header (not a bzImage)")]
    NoSetupHeader,
    #[error("the kernel supports only 32-bit entry; this VMM boots 64-bit kernels")]
    Not64Bit,
    #[error("failed to build the kernel command line")]
    BuildCmdline(#[source] linux_loader::cmdline::Error),
    #[error("the command line needs {needed} bytes; the kernel accepts {limit}")]
    CmdlineTooLong { needed: usize, limit: usize },
    #[error("failed to write the kernel command line")]
    WriteCmdline(#[source] linux_loader::loader::Error),
    #[error(
        "no room for a {size}-byte initramfs between the kernel (ends {kernel_end:#x}) \
         and {limit:#x}"
    )]
    InitramfsDoesNotFit {
        size: u64,
        kernel_end: u64,
        limit: u64,
    },
    #[error("failed to write {what} into guest memory")]
    WriteMemory {
        what: &'static str,
        #[source]
        source: vm_memory::GuestMemoryError,
    },
    #[error("failed to write the zero page")]
    WriteBootParams(#[source] linux_loader::configurator::Error),
}

/// Where the kernel was loaded and where the vCPU starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadedLinux {
    pub kernel_load: u64,
    /// The end of the memory the kernel needs while it decompresses itself.
    pub kernel_end: u64,
    pub entry_64: u64,
    pub initramfs_address: u64,
    pub initramfs_size: u64,
}

/// Loads kernel and initramfs into `memory` and writes everything the
/// 64-bit boot protocol expects: command line, zero page, GDT, IDT and
/// page tables.
pub fn load_linux(
    memory: &GuestMemoryMmap,
    memory_bytes: u64,
    kernel: &[u8],
    initramfs: &[u8],
) -> Result<LoadedLinux, BootError> {
    let loaded = BzImage::load(
        memory,
        Some(GuestAddress(HIMEM_START)),
        &mut Cursor::new(kernel),
        Some(GuestAddress(HIMEM_START)),
    )
    .map_err(BootError::LoadKernel)?;
    let header = loaded.setup_header.ok_or(BootError::NoSetupHeader)?;
    if !has_64_bit_entry(&header) {
        return Err(BootError::Not64Bit);
    }
    let kernel_load = loaded.kernel_load.raw_value();
    let kernel_end = kernel_load
        .saturating_add(u64::from(header.init_size))
        .max(loaded.kernel_end);

    let cmdline = command_line(&header)?;
    load_cmdline(memory, GuestAddress(CMDLINE_ADDRESS), &cmdline)
        .map_err(BootError::WriteCmdline)?;
    let cmdline_len = kernel_command_line().len();

    let initramfs_size = u64::try_from(initramfs.len()).unwrap_or(u64::MAX);
    let initramfs_address = initramfs_address(memory_bytes, initramfs_size, &header, kernel_end)?;
    write(memory, initramfs, initramfs_address, "the initramfs")?;

    let params = zero_page(
        header,
        cmdline_len,
        (initramfs_address, initramfs_size),
        memory_bytes,
    );
    LinuxBootConfigurator::write_bootparams::<GuestMemoryMmap>(
        &BootParams::new(&params, GuestAddress(ZERO_PAGE_ADDRESS)),
        memory,
    )
    .map_err(BootError::WriteBootParams)?;
    write_descriptor_tables(memory)?;
    write_page_tables(memory)?;

    Ok(LoadedLinux {
        kernel_load,
        kernel_end,
        entry_64: kernel_load + ENTRY_64_OFFSET,
        initramfs_address,
        initramfs_size,
    })
}

fn command_line(header: &setup_header) -> Result<Cmdline, BootError> {
    let text = kernel_command_line();
    // Protocols before 2.06 do not say; 255 bytes is what they allow.
    let limit = match header.cmdline_size {
        0 => 255,
        size => usize::try_from(size).unwrap_or(usize::MAX),
    }
    .min(CMDLINE_CAPACITY - 1);
    if text.len() > limit {
        return Err(BootError::CmdlineTooLong {
            needed: text.len(),
            limit,
        });
    }
    Cmdline::try_from(&text, CMDLINE_CAPACITY).map_err(BootError::BuildCmdline)
}

/// The initramfs goes as high as possible: its end at the top of RAM or
/// at the kernel's `initrd_addr_max`, whichever is lower, its start page
/// aligned, and never over the kernel.
pub fn initramfs_address(
    memory_bytes: u64,
    size: u64,
    header: &setup_header,
    kernel_end: u64,
) -> Result<u64, BootError> {
    let addr_max = match header.initrd_addr_max {
        0 => DEFAULT_INITRD_ADDR_MAX,
        max => u64::from(max),
    };
    // `initrd_addr_max` is the highest address the initramfs may occupy.
    let limit = memory_bytes.min(addr_max.saturating_add(1));
    let does_not_fit = BootError::InitramfsDoesNotFit {
        size,
        kernel_end,
        limit,
    };
    let start = limit.checked_sub(size).ok_or(does_not_fit)? & !(PAGE_SIZE - 1);
    if start < kernel_end {
        return Err(BootError::InitramfsDoesNotFit {
            size,
            kernel_end,
            limit,
        });
    }
    Ok(start)
}

/// The e820 map: conventional memory below the EBDA, and everything from
/// 1 MiB to the end of RAM. The hole between holds no RAM a kernel may
/// use (on a PC it is video memory and ROMs).
pub fn e820_map(memory_bytes: u64) -> Vec<boot_e820_entry> {
    vec![
        boot_e820_entry {
            addr: 0,
            size: EBDA_START,
            r#type: E820_RAM,
        },
        boot_e820_entry {
            addr: HIMEM_START,
            size: memory_bytes.saturating_sub(HIMEM_START),
            r#type: E820_RAM,
        },
    ]
}

/// The zero page: the image's own setup header with what a boot loader
/// fills in, and the e820 map.
pub fn zero_page(
    header: setup_header,
    cmdline_len: usize,
    (initramfs_address, initramfs_size): (u64, u64),
    memory_bytes: u64,
) -> boot_params {
    let mut params = boot_params {
        hdr: header,
        ..Default::default()
    };
    params.hdr.type_of_loader = KERNEL_LOADER_OTHER;
    params.hdr.boot_flag = KERNEL_BOOT_FLAG_MAGIC;
    params.hdr.header = KERNEL_HDR_MAGIC;
    // The layout constants keep these below 4 GiB: the command line at
    // 0x20000 and the initramfs below `initrd_addr_max`, a 32-bit field.
    params.hdr.cmd_line_ptr = u32::try_from(CMDLINE_ADDRESS).unwrap_or(0);
    params.hdr.cmdline_size = u32::try_from(cmdline_len).unwrap_or(u32::MAX);
    params.hdr.ramdisk_image = u32::try_from(initramfs_address).unwrap_or(0);
    params.hdr.ramdisk_size = u32::try_from(initramfs_size).unwrap_or(0);
    let map = e820_map(memory_bytes);
    for (slot, entry) in params.e820_table.iter_mut().zip(&map) {
        *slot = *entry;
    }
    params.e820_entries = u8::try_from(map.len()).unwrap_or(u8::MAX);
    params
}

/// A GDT descriptor from its flags (access byte and granularity nibble),
/// base and limit, in the CPU's scattered bit layout.
pub fn gdt_entry(flags: u16, base: u32, limit: u32) -> u64 {
    let base = u64::from(base);
    let limit = u64::from(limit);
    let flags = u64::from(flags);
    ((base & 0xff00_0000) << (56 - 24))
        | ((flags & 0x0000_f0ff) << 40)
        | ((limit & 0x000f_0000) << (48 - 16))
        | ((base & 0x00ff_ffff) << 16)
        | (limit & 0x0000_ffff)
}

/// Null, 64-bit code, data, and a TSS (which Linux replaces at once but
/// VMX requires to be valid).
pub fn gdt() -> [u64; 4] {
    [
        0,
        gdt_entry(0xa09b, 0, 0xfffff),
        gdt_entry(0xc093, 0, 0xfffff),
        gdt_entry(0x808b, 0, 0xfffff),
    ]
}

/// The `kvm_segment` a descriptor describes, as the CPU would cache it.
pub fn segment_from_gdt(entry: u64, selector: u16) -> kvm_segment {
    let bit = |shift: u32| u8::from((entry >> shift) & 1 == 1);
    let base_low = (entry >> 16) & 0x00ff_ffff;
    let base_high = (entry >> 56) & 0xff;
    let limit = (entry & 0xffff) | (((entry >> 48) & 0xf) << 16);
    let granular = bit(55) == 1;
    kvm_segment {
        base: base_low | (base_high << 24),
        // A 4 KiB-granular limit counts pages.
        limit: u32::try_from(if granular {
            (limit << 12) | 0xfff
        } else {
            limit
        })
        .unwrap_or(u32::MAX),
        selector,
        type_: u8::try_from((entry >> 40) & 0xf).unwrap_or(0),
        present: bit(47),
        dpl: u8::try_from((entry >> 45) & 0x3).unwrap_or(0),
        db: bit(54),
        s: bit(44),
        l: bit(53),
        g: bit(55),
        avl: bit(52),
        unusable: u8::from(bit(47) == 0),
        padding: 0,
    }
}

fn write_descriptor_tables(memory: &GuestMemoryMmap) -> Result<(), BootError> {
    let bytes: Vec<u8> = gdt().iter().flat_map(|entry| entry.to_le_bytes()).collect();
    write(memory, &bytes, GDT_ADDRESS, "the GDT")?;
    write(memory, &0u64.to_le_bytes(), IDT_ADDRESS, "the IDT")
}

/// Identity-maps the first GiB with 2 MiB pages: one PML4 entry, one PDPT
/// entry, 512 PD entries. The kernel builds its own tables at once; these
/// only need to cover the kernel, the zero page and the initramfs.
fn write_page_tables(memory: &GuestMemoryMmap) -> Result<(), BootError> {
    const PRESENT_WRITABLE: u64 = 0x3;
    const HUGE_PAGE: u64 = 0x80;
    write(
        memory,
        &(PDPT_ADDRESS | PRESENT_WRITABLE).to_le_bytes(),
        PML4_ADDRESS,
        "the PML4",
    )?;
    write(
        memory,
        &(PD_ADDRESS | PRESENT_WRITABLE).to_le_bytes(),
        PDPT_ADDRESS,
        "the PDPT",
    )?;
    let directory: Vec<u8> = (0..512u64)
        .flat_map(|index| ((index << 21) | PRESENT_WRITABLE | HUGE_PAGE).to_le_bytes())
        .collect();
    write(memory, &directory, PD_ADDRESS, "the page directory")
}

/// Special registers for the 64-bit entry: the boot GDT's segments,
/// protection and paging on, PAE, long mode active.
pub fn long_mode_sregs(mut sregs: kvm_sregs) -> kvm_sregs {
    let [_, code, data, tss] = gdt();
    sregs.gdt.base = GDT_ADDRESS;
    sregs.gdt.limit = 4 * 8 - 1;
    sregs.idt.base = IDT_ADDRESS;
    sregs.idt.limit = 8 - 1;
    sregs.cs = segment_from_gdt(code, CODE_SELECTOR);
    let data = segment_from_gdt(data, DATA_SELECTOR);
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.tr = segment_from_gdt(tss, TSS_SELECTOR);
    sregs.cr3 = PML4_ADDRESS;
    sregs.cr4 |= X86_CR4_PAE;
    sregs.cr0 |= X86_CR0_PE | X86_CR0_PG;
    sregs.efer |= EFER_LME | EFER_LMA;
    sregs
}

/// General registers at the 64-bit entry: `rsi` holds the zero page.
pub fn entry_regs(loaded: &LoadedLinux) -> kvm_regs {
    kvm_regs {
        rip: loaded.entry_64,
        rsp: BOOT_STACK_POINTER,
        rbp: BOOT_STACK_POINTER,
        rsi: ZERO_PAGE_ADDRESS,
        // Bit 1 of RFLAGS is reserved and always set.
        rflags: 0x2,
        ..Default::default()
    }
}

/// Whether the image declares a 64-bit entry point (boot protocol 2.12's
/// `XLF_KERNEL_64`); older or 32-bit-only kernels are refused.
pub fn has_64_bit_entry(header: &setup_header) -> bool {
    let xloadflags = header.xloadflags;
    header.version >= 0x020c && xloadflags & linux_loader::loader::bootparam::XLF_KERNEL_64 != 0
}

fn write(
    memory: &GuestMemoryMmap,
    bytes: &[u8],
    address: u64,
    what: &'static str,
) -> Result<(), BootError> {
    memory
        .write_slice(bytes, GuestAddress(address))
        .map_err(|source| BootError::WriteMemory { what, source })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;
    use vm_memory::GuestMemoryBackend;

    const MIB: u64 = 1024 * 1024;

    /// A minimal bzImage: one setup sector after the boot sector, the
    /// header fields the loader reads, and a protected-mode part.
    fn fake_bzimage(protected_mode: &[u8]) -> Vec<u8> {
        let mut image = vec![0u8; 2 * 512];
        image[0x1f1] = 1; // setup_sects
        image[0x1fe..0x200].copy_from_slice(&0xaa55u16.to_le_bytes());
        image[0x202..0x206].copy_from_slice(b"HdrS");
        image[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
        image[0x211] = 0x01; // loadflags: LOADED_HIGH
        image[0x214..0x218].copy_from_slice(&0x10_0000u32.to_le_bytes());
        image[0x22c..0x230].copy_from_slice(&0x37ff_ffffu32.to_le_bytes());
        image[0x236..0x238].copy_from_slice(&1u16.to_le_bytes()); // XLF_KERNEL_64
        image[0x238..0x23c].copy_from_slice(&2048u32.to_le_bytes());
        image[0x260..0x264].copy_from_slice(&(4 * MIB as u32).to_le_bytes()); // init_size
        image.extend_from_slice(protected_mode);
        image
    }

    fn memory(bytes: u64) -> GuestMemoryMmap {
        GuestMemoryMmap::from_ranges(&[(GuestAddress(0), bytes as usize)]).unwrap()
    }

    fn header(initrd_addr_max: u32) -> setup_header {
        setup_header {
            initrd_addr_max,
            ..Default::default()
        }
    }

    #[test]
    fn e820_covers_low_memory_and_everything_above_one_mib() {
        let map = e820_map(128 * MIB);
        assert_eq!(map.len(), 2);
        let (low, high) = (map[0], map[1]);
        assert_eq!((low.addr, low.size, low.r#type), (0, 0x9fc00, 1));
        assert_eq!((high.addr, high.size), (0x10_0000, 127 * MIB));
        assert_eq!(high.addr + high.size, 128 * MIB, "ends at the end of RAM");
    }

    #[test]
    fn initramfs_goes_to_the_top_of_ram_page_aligned() {
        let start = initramfs_address(128 * MIB, 2_000_001, &header(0x37ff_ffff), 8 * MIB).unwrap();
        assert_eq!(start % PAGE_SIZE, 0);
        assert!(start + 2_000_001 <= 128 * MIB);
        assert!(
            128 * MIB - (start + 2_000_001) < PAGE_SIZE,
            "as high as it can"
        );
    }

    #[test]
    fn initramfs_stays_below_initrd_addr_max() {
        let max = 64 * MIB as u32 - 1;
        let start = initramfs_address(128 * MIB, 4096, &header(max), 8 * MIB).unwrap();
        assert_eq!(start, 64 * MIB - 4096);
        let old_kernel = initramfs_address(2048 * MIB, 4096, &header(0), 8 * MIB).unwrap();
        assert!(old_kernel + 4096 <= DEFAULT_INITRD_ADDR_MAX + 1);
    }

    #[test]
    fn an_initramfs_that_would_overlap_the_kernel_is_refused() {
        let too_big = initramfs_address(16 * MIB, 10 * MIB, &header(u32::MAX), 8 * MIB);
        assert!(matches!(
            too_big,
            Err(BootError::InitramfsDoesNotFit { .. })
        ));
        let larger_than_ram = initramfs_address(16 * MIB, 32 * MIB, &header(u32::MAX), 0);
        assert!(larger_than_ram.is_err());
    }

    #[test]
    fn zero_page_carries_the_header_cmdline_initramfs_and_e820() {
        let image_header = setup_header {
            setup_sects: 27,
            version: 0x020f,
            ..Default::default()
        };
        let params = zero_page(image_header, 40, (0x7e0_0000, 0x1e_0000), 128 * MIB);
        let hdr = params.hdr;
        assert_eq!({ hdr.setup_sects }, 27, "the image's own header is kept");
        assert_eq!({ hdr.boot_flag }, 0xaa55);
        assert_eq!({ hdr.header }, 0x5372_6448);
        assert_eq!({ hdr.type_of_loader }, 0xff);
        assert_eq!({ hdr.cmd_line_ptr }, 0x20000);
        assert_eq!({ hdr.cmdline_size }, 40);
        assert_eq!({ hdr.ramdisk_image }, 0x7e0_0000);
        assert_eq!({ hdr.ramdisk_size }, 0x1e_0000);
        assert_eq!(params.e820_entries, 2);
        let high = params.e820_table[1];
        assert_eq!(({ high.addr }, { high.size }), (HIMEM_START, 127 * MIB));
    }

    #[test]
    fn command_line_names_the_serial_console_and_keyboard_reset() {
        let line = kernel_command_line();
        assert!(line.starts_with("console=ttyS0 "), "{line}");
        assert!(line.contains("reboot=k"), "{line}");
        let short = setup_header {
            cmdline_size: 10,
            ..Default::default()
        };
        assert!(matches!(
            command_line(&short),
            Err(BootError::CmdlineTooLong { .. })
        ));
    }

    #[test]
    fn gdt_segments_decode_to_flat_64_bit_code_and_data() {
        let [null, code, data, tss] = gdt();
        assert_eq!(null, 0);
        assert_eq!(code, 0x00af_9b00_0000_ffff);
        assert_eq!(data, 0x00cf_9300_0000_ffff);
        let cs = segment_from_gdt(code, CODE_SELECTOR);
        assert_eq!((cs.l, cs.db, cs.present, cs.s, cs.g), (1, 0, 1, 1, 1));
        assert_eq!((cs.type_, cs.base, cs.limit), (0xb, 0, 0xffff_ffff));
        let ds = segment_from_gdt(data, DATA_SELECTOR);
        assert_eq!((ds.l, ds.db, ds.type_), (0, 1, 0x3));
        let tr = segment_from_gdt(tss, TSS_SELECTOR);
        assert_eq!((tr.type_, tr.s, tr.present), (0xb, 0, 1));
    }

    #[test]
    fn long_mode_registers_enable_paging_pae_and_long_mode() {
        let sregs = long_mode_sregs(kvm_sregs::default());
        assert_eq!(sregs.cr3, PML4_ADDRESS);
        assert_ne!(sregs.cr0 & X86_CR0_PG, 0);
        assert_ne!(sregs.cr0 & X86_CR0_PE, 0);
        assert_ne!(sregs.cr4 & X86_CR4_PAE, 0);
        assert_eq!(sregs.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
        assert_eq!(sregs.cs.selector, CODE_SELECTOR);
        assert_eq!(sregs.ss.selector, DATA_SELECTOR);
    }

    #[test]
    fn a_bzimage_loads_with_cmdline_initramfs_zero_page_and_page_tables() {
        let ram = 32 * MIB;
        let memory = memory(ram);
        let kernel = fake_bzimage(&[0x90; 4096]);
        let initramfs = vec![0x42u8; 10_000];
        let loaded = load_linux(&memory, ram, &kernel, &initramfs).unwrap();
        assert_eq!(loaded.kernel_load, HIMEM_START);
        assert_eq!(loaded.entry_64, HIMEM_START + 0x200);
        assert_eq!(loaded.kernel_end, HIMEM_START + 4 * MIB, "init_size counts");
        assert_eq!(loaded.initramfs_address % PAGE_SIZE, 0);
        assert!(loaded.initramfs_address + 10_000 <= ram);

        let mut first = [0u8; 4];
        memory
            .read_slice(&mut first, GuestAddress(HIMEM_START))
            .unwrap();
        assert_eq!(first, [0x90; 4], "protected-mode kernel at 1 MiB");
        let mut cmdline = vec![0u8; kernel_command_line().len() + 1];
        memory
            .read_slice(&mut cmdline, GuestAddress(CMDLINE_ADDRESS))
            .unwrap();
        assert_eq!(cmdline, format!("{}\0", kernel_command_line()).into_bytes());
        let mut initrd = vec![0u8; 10_000];
        memory
            .read_slice(&mut initrd, GuestAddress(loaded.initramfs_address))
            .unwrap();
        assert_eq!(initrd, initramfs);

        let params: boot_params = memory.read_obj(GuestAddress(ZERO_PAGE_ADDRESS)).unwrap();
        assert_eq!(
            { params.hdr.ramdisk_image },
            loaded.initramfs_address as u32
        );
        assert_eq!({ params.hdr.ramdisk_size }, 10_000);
        assert_eq!({ params.hdr.cmd_line_ptr }, CMDLINE_ADDRESS as u32);
        assert_eq!({ params.hdr.code32_start }, HIMEM_START as u32);
        assert!(has_64_bit_entry(&params.hdr));

        let pml4: u64 = memory.read_obj(GuestAddress(PML4_ADDRESS)).unwrap();
        assert_eq!(pml4, PDPT_ADDRESS | 0x3);
        let second_2mib: u64 = memory.read_obj(GuestAddress(PD_ADDRESS + 8)).unwrap();
        assert_eq!(second_2mib, (2 * MIB) | 0x83);
        let code: u64 = memory.read_obj(GuestAddress(GDT_ADDRESS + 8)).unwrap();
        assert_eq!(code, gdt()[1]);
        assert!(memory.last_addr().raw_value() == ram - 1);
    }

    #[test]
    fn a_file_that_is_not_a_bzimage_is_refused() {
        let ram = 8 * MIB;
        let result = load_linux(&memory(ram), ram, &[0u8; 4096], &[]);
        assert!(matches!(result, Err(BootError::LoadKernel(_))));
    }
}
