//! Property tests: whatever port I/O and MMIO a guest throws at the device
//! emulation (any port, any access length, any data, in any order, with
//! typed input arriving in between), nothing panics, the console stays
//! within its bounds, and unclaimed reads see an empty bus.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use lab_kvm::console::{ConsoleBuffer, ConsoleLimits};
use lab_kvm::control::VcpuControl;
use lab_kvm::devices::{CMOS_DATA_PORT, CMOS_INDEX_PORT, COM1_BASE, IoDispatch, POWER_OFF_PORT};
use proptest::prelude::*;

/// One thing a guest (or the student) can do.
#[derive(Debug, Clone)]
enum Access {
    PortRead { port: u16, len: usize },
    PortWrite { port: u16, data: Vec<u8> },
    MmioRead { address: u64, len: usize },
    MmioWrite { address: u64, data: Vec<u8> },
    Typed(Vec<u8>),
    Refill,
}

/// Ports worth hitting often (the devices) plus any port at all.
fn port() -> impl Strategy<Value = u16> {
    prop_oneof![
        (0u16..8).prop_map(|offset| COM1_BASE + offset),
        Just(CMOS_INDEX_PORT),
        Just(CMOS_DATA_PORT),
        Just(POWER_OFF_PORT),
        any::<u16>(),
    ]
}

/// Lengths KVM reports: 1, 2, 4, 8, and string I/O of up to a page.
fn len() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(2),
        Just(4),
        Just(8),
        0usize..4096
    ]
}

fn access() -> impl Strategy<Value = Access> {
    prop_oneof![
        (port(), len()).prop_map(|(port, len)| Access::PortRead { port, len }),
        (port(), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(port, data)| Access::PortWrite { port, data }),
        (any::<u64>(), len()).prop_map(|(address, len)| Access::MmioRead { address, len }),
        (any::<u64>(), prop::collection::vec(any::<u8>(), 0..16))
            .prop_map(|(address, data)| Access::MmioWrite { address, data }),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Access::Typed),
        Just(Access::Refill),
    ]
}

fn is_device_port(port: u16) -> bool {
    (COM1_BASE..COM1_BASE + 8).contains(&port) || port == CMOS_DATA_PORT
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_guest_io_never_panics_and_stays_bounded(
        accesses in prop::collection::vec(access(), 1..200)
    ) {
        let limits = ConsoleLimits { capacity: 512, bytes_per_second: 1000, burst: 256 };
        let console = Arc::new(ConsoleBuffer::new(limits, "banner"));
        let control = Arc::new(VcpuControl::default());
        let mut io = IoDispatch::new(console.clone(), control.clone(), 2 * 1024 * 1024);

        for access in accesses {
            match access {
                Access::PortRead { port, len } => {
                    let mut data = vec![0u8; len];
                    io.pio_read(port, &mut data);
                    if !is_device_port(port) {
                        prop_assert!(data.iter().all(|&b| b == 0xff), "empty bus at {port:#x}");
                    }
                }
                Access::PortWrite { port, data } => {
                    io.pio_write(port, &data);
                }
                Access::MmioRead { address, len } => {
                    let mut data = vec![0u8; len];
                    io.mmio_read(address, &mut data);
                    prop_assert!(data.iter().all(|&b| b == 0xff));
                }
                Access::MmioWrite { address, data } => io.mmio_write(address, &data),
                Access::Typed(bytes) => {
                    control.push_input(&bytes);
                }
                Access::Refill => {
                    control.refill(io.serial_mut());
                }
            }
            prop_assert!(console.text().len() <= 512 * 3, "lossy text of 512 bytes at most");
            let chunk = console.read_from(0);
            prop_assert!(chunk.bytes.len() <= 512);
        }
    }
}
