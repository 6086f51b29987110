//! The guest's devices and the dispatch of its port I/O and MMIO exits.
//!
//! Every value here comes from the guest: port numbers, addresses and
//! access lengths are matched against fixed ranges and never used to index
//! or size anything. Accesses nobody claims read as all ones (an empty bus)
//! and writes to them are dropped.

mod cmos;
mod serial;

use std::sync::Arc;

pub use cmos::{CMOS_DATA_PORT, CMOS_INDEX_PORT, Cmos};
pub use serial::{COM1_BASE, COM1_PORTS, SerialIrq, SerialPort, UnwiredIrq};

use crate::console::ConsoleBuffer;
use crate::control::VcpuControl;

/// The port a guest writes [`POWER_OFF_VALUE`] to (16 bits) to power off,
/// as on the PIIX4 ACPI block QEMU emulates.
pub const POWER_OFF_PORT: u16 = 0x604;
/// See [`POWER_OFF_PORT`].
pub const POWER_OFF_VALUE: u16 = 0x2000;

/// The i8042 keyboard controller's command port; writing
/// [`I8042_RESET_COMMAND`] to it resets the machine (Linux's `reboot=k`).
/// Nothing else of the controller exists: reads see an empty bus, which
/// Linux takes for "no controller".
pub const I8042_COMMAND_PORT: u16 = 0x64;
/// See [`I8042_COMMAND_PORT`].
pub const I8042_RESET_COMMAND: u8 = 0xfe;

/// What the vCPU loop does after a port write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoAction {
    Continue,
    /// The guest asked to be powered off.
    PowerOff,
    /// The guest asked for a reset; the lab stops it instead of rebooting.
    Reset,
}

/// Routes the guest's port I/O and MMIO to its devices.
pub struct IoDispatch {
    serial: SerialPort,
    cmos: Cmos,
    control: Arc<VcpuControl>,
    unclaimed_accesses: u64,
}

impl IoDispatch {
    pub fn new(console: Arc<ConsoleBuffer>, control: Arc<VcpuControl>, memory_bytes: u64) -> Self {
        IoDispatch::with_serial_irq(console, control, memory_bytes, SerialIrq::Unwired)
    }

    /// Devices whose UART raises its interrupt through `irq`.
    pub fn with_serial_irq(
        console: Arc<ConsoleBuffer>,
        control: Arc<VcpuControl>,
        memory_bytes: u64,
        irq: SerialIrq,
    ) -> Self {
        IoDispatch {
            serial: SerialPort::with_irq(console, irq),
            cmos: Cmos::new(memory_bytes),
            control,
            unclaimed_accesses: 0,
        }
    }

    /// An `in` from `port`; fills `data` whatever its length. A wider or
    /// repeated (`rep insb`) access to the UART reads its register once per
    /// byte, which is what the string form means.
    pub fn pio_read(&mut self, port: u16, data: &mut [u8]) {
        if let Some(offset) = serial_offset(port) {
            for byte in data.iter_mut() {
                *byte = self.serial.read(offset);
            }
            if SerialPort::is_data_register(offset) && !data.is_empty() {
                self.control.note_guest_read(&mut self.serial);
            }
        } else if port == CMOS_DATA_PORT {
            data.fill(self.cmos.read_data());
        } else {
            self.note_unclaimed("port read", u64::from(port), data.len());
            data.fill(0xff);
        }
    }

    /// An `out` to `port` with `data` (the bytes of the access, or of every
    /// repetition of a string access).
    pub fn pio_write(&mut self, port: u16, data: &[u8]) -> IoAction {
        if let Some(offset) = serial_offset(port) {
            data.iter()
                .for_each(|&byte| self.serial.write(offset, byte));
        } else if port == CMOS_INDEX_PORT {
            data.iter().for_each(|&byte| self.cmos.write_index(byte));
        } else if port == CMOS_DATA_PORT {
            data.iter().for_each(|&byte| self.cmos.write_data(byte));
        } else if port == I8042_COMMAND_PORT && data.contains(&I8042_RESET_COMMAND) {
            return IoAction::Reset;
        } else if port == POWER_OFF_PORT {
            if data == POWER_OFF_VALUE.to_le_bytes() {
                return IoAction::PowerOff;
            }
            self.note_unclaimed("power-off port write", u64::from(port), data.len());
        } else {
            self.note_unclaimed("port write", u64::from(port), data.len());
        }
        IoAction::Continue
    }

    /// A read of guest-physical `address` with no RAM behind it. No device
    /// is memory-mapped in this VM, so every such read sees an empty bus.
    pub fn mmio_read(&mut self, address: u64, data: &mut [u8]) {
        self.note_unclaimed("MMIO read", address, data.len());
        data.fill(0xff);
    }

    /// A write to guest-physical `address` with no RAM behind it; dropped.
    pub fn mmio_write(&mut self, address: u64, data: &[u8]) {
        self.note_unclaimed("MMIO write", address, data.len());
    }

    /// The serial port, for the HLT path that moves input into its FIFO.
    pub fn serial_mut(&mut self) -> &mut SerialPort {
        &mut self.serial
    }

    /// Logs unclaimed accesses at a logarithmic rate (the 1st, 2nd, 4th,
    /// 8th, ...) so a guest hammering an empty address cannot flood the log.
    fn note_unclaimed(&mut self, what: &str, address: u64, len: usize) {
        self.unclaimed_accesses = self.unclaimed_accesses.saturating_add(1);
        if self.unclaimed_accesses.is_power_of_two() {
            tracing::debug!(
                what,
                address = format_args!("{address:#x}"),
                len,
                count = self.unclaimed_accesses,
                "guest access to nothing"
            );
        }
    }
}

/// The UART register a port addresses, if it is one of COM1's.
fn serial_offset(port: u16) -> Option<u8> {
    let offset = port.checked_sub(COM1_BASE)?;
    if offset < COM1_PORTS {
        u8::try_from(offset).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::ConsoleLimits;

    fn dispatch() -> (IoDispatch, Arc<ConsoleBuffer>, Arc<VcpuControl>) {
        let console = Arc::new(ConsoleBuffer::new(ConsoleLimits::default(), "banner"));
        let control = Arc::new(VcpuControl::default());
        let io = IoDispatch::new(console.clone(), control.clone(), 2 * 1024 * 1024);
        (io, console, control)
    }

    #[test]
    fn bytes_written_to_com1_reach_the_console() {
        let (mut io, console, _) = dispatch();
        for &byte in b"hi\r\n" {
            assert_eq!(io.pio_write(COM1_BASE, &[byte]), IoAction::Continue);
        }
        assert_eq!(console.text(), "hi\r\n");
    }

    #[test]
    fn typed_bytes_are_read_from_com1_after_a_refill() {
        let (mut io, _, control) = dispatch();
        control.push_input(b"ok");
        control.refill(io.serial_mut());
        let mut lsr = [0];
        io.pio_read(COM1_BASE + 5, &mut lsr);
        assert_eq!(lsr[0] & 1, 1, "data ready");
        let mut byte = [0];
        io.pio_read(COM1_BASE, &mut byte);
        assert_eq!(byte[0], b'o');
        assert!(control.unread_since().is_some(), "'k' is still unread");
        io.pio_read(COM1_BASE, &mut byte);
        assert_eq!(byte[0], b'k');
        assert!(control.unread_since().is_none());
    }

    #[test]
    fn power_off_needs_the_exact_word() {
        let (mut io, _, _) = dispatch();
        assert_eq!(io.pio_write(POWER_OFF_PORT, &[0x00]), IoAction::Continue);
        assert_eq!(
            io.pio_write(POWER_OFF_PORT, &[0x00, 0x20]),
            IoAction::PowerOff
        );
    }

    #[test]
    fn the_keyboard_controller_reset_command_resets() {
        let (mut io, _, _) = dispatch();
        assert_eq!(
            io.pio_write(I8042_COMMAND_PORT, &[0xad]),
            IoAction::Continue
        );
        assert_eq!(io.pio_write(I8042_COMMAND_PORT, &[0xfe]), IoAction::Reset);
        let mut status = [0];
        io.pio_read(I8042_COMMAND_PORT, &mut status);
        assert_eq!(status, [0xff], "no controller to read");
    }

    #[test]
    fn unclaimed_ports_and_mmio_read_as_all_ones() {
        let (mut io, _, _) = dispatch();
        let mut data = [0u8; 4];
        io.pio_read(0x80, &mut data);
        assert_eq!(data, [0xff; 4]);
        let mut data = [0u8; 8];
        io.mmio_read(0xfee0_0000, &mut data);
        assert_eq!(data, [0xff; 8]);
    }
}
