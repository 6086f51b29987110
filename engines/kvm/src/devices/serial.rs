//! COM1, a 16550 UART emulated by vm-superio, wired to the session.
//!
//! For the real-mode guests its interrupt line is deliberately left
//! unconnected: those VMs have no in-kernel interrupt controller, so HLT
//! exits reach the VMM, and the vCPU
//! thread resumes a halted guest when input arrives (see
//! [`crate::control::VcpuControl::wait_after_hlt`]). The guest then polls the
//! line status register. That keeps every step visible as an exit and works
//! on hosts whose KVM emulates guest code in software. A Linux guest
//! instead gets IRQ 4 through an eventfd the in-kernel interrupt
//! controller listens to ([`SerialIrq::Line`]).

use std::convert::Infallible;
use std::io;
use std::sync::Arc;

use vm_superio::serial::NoEvents;
use vm_superio::{Serial, Trigger};
use vmm_sys_util::eventfd::EventFd;

use crate::console::{ConsoleBuffer, ConsoleWriter};

/// The first I/O port of COM1.
pub const COM1_BASE: u16 = 0x3f8;
/// COM1 decodes eight consecutive ports.
pub const COM1_PORTS: u16 = 8;

/// Offset of the data register (receive buffer / transmit holding).
const DATA_OFFSET: u8 = 0;

/// The UART's interrupt output, not connected to anything (see the module
/// documentation for why).
#[derive(Debug, Default)]
pub struct UnwiredIrq;

impl Trigger for UnwiredIrq {
    type E = Infallible;

    fn trigger(&self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Where the UART's interrupt output goes.
#[derive(Debug)]
pub enum SerialIrq {
    /// Nowhere (real-mode guests; see the module documentation).
    Unwired,
    /// An eventfd registered with KVM as an interrupt line (irqfd).
    Line(EventFd),
}

impl Trigger for SerialIrq {
    type E = io::Error;

    fn trigger(&self) -> io::Result<()> {
        match self {
            SerialIrq::Unwired => Ok(()),
            SerialIrq::Line(eventfd) => eventfd.write(1),
        }
    }
}

/// Offset of the line status register.
const LSR_OFFSET: u8 = 5;
/// Line status bit: the receive buffer holds data.
const LSR_DATA_READY: u8 = 0x01;

/// The guest's serial port: output goes to the console buffer, input comes
/// from the session through the receive FIFO.
pub struct SerialPort {
    uart: Serial<SerialIrq, NoEvents, ConsoleWriter>,
}

impl SerialPort {
    pub fn new(console: Arc<ConsoleBuffer>) -> Self {
        SerialPort::with_irq(console, SerialIrq::Unwired)
    }

    pub fn with_irq(console: Arc<ConsoleBuffer>, irq: SerialIrq) -> Self {
        SerialPort {
            uart: Serial::new(irq, ConsoleWriter(console)),
        }
    }

    /// A guest read of register `offset`; offsets past the eight registers
    /// read as zero.
    pub fn read(&mut self, offset: u8) -> u8 {
        self.uart.read(offset)
    }

    /// A guest write of register `offset`; offsets past the eight registers
    /// are ignored.
    pub fn write(&mut self, offset: u8, value: u8) {
        if let Err(error) = self.uart.write(offset, value) {
            // The console writer never fails; raising the interrupt could,
            // and the guest then sees a lost interrupt, as on hardware.
            tracing::trace!(%offset, ?error, "serial write failed");
        }
    }

    /// Free space in the receive FIFO.
    pub fn fifo_room(&self) -> usize {
        self.uart.fifo_capacity()
    }

    /// Whether the guest has unread bytes in the receive FIFO.
    pub fn has_input(&mut self) -> bool {
        // Reading the line status register has no side effects.
        self.uart.read(LSR_OFFSET) & LSR_DATA_READY != 0
    }

    /// Puts typed bytes into the receive FIFO; returns how many fit.
    pub fn receive(&mut self, bytes: &[u8]) -> usize {
        self.uart.enqueue_raw_bytes(bytes).unwrap_or(0)
    }

    /// Whether `offset` is the data register (receive buffer when read).
    pub fn is_data_register(offset: u8) -> bool {
        offset == DATA_OFFSET
    }
}
