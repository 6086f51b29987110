//! Just enough of the PC's CMOS RAM to tell a guest how much memory it has,
//! in the registers a BIOS would fill: base memory (0x15/0x16) and extended
//! memory above 1 MiB (0x17/0x18 and 0x30/0x31), both in KiB.

/// The CMOS index register port.
pub const CMOS_INDEX_PORT: u16 = 0x70;
/// The CMOS data register port.
pub const CMOS_DATA_PORT: u16 = 0x71;

/// Conventional memory below the video area, as every PC reports it.
const BASE_MEMORY_KIB: u16 = 640;
const ONE_MIB: u64 = 1024 * 1024;

/// The CMOS: an index register and a few memory-size registers.
#[derive(Debug, Clone)]
pub struct Cmos {
    index: u8,
    extended_kib: u16,
}

impl Cmos {
    /// A CMOS describing `memory_bytes` of guest RAM; extended memory is
    /// capped at what the 16-bit registers can say (just under 64 MiB).
    pub fn new(memory_bytes: u64) -> Self {
        let extended_kib = memory_bytes.saturating_sub(ONE_MIB) / 1024;
        Cmos {
            index: 0,
            extended_kib: u16::try_from(extended_kib).unwrap_or(u16::MAX),
        }
    }

    pub fn write_index(&mut self, value: u8) {
        // Bit 7 masks NMIs on a real PC; it is not part of the index.
        self.index = value & 0x7f;
    }

    pub fn read_data(&self) -> u8 {
        let [base_low, base_high] = BASE_MEMORY_KIB.to_le_bytes();
        let [ext_low, ext_high] = self.extended_kib.to_le_bytes();
        match self.index {
            0x15 => base_low,
            0x16 => base_high,
            0x17 | 0x30 => ext_low,
            0x18 | 0x31 => ext_high,
            _ => 0,
        }
    }

    /// Writes to CMOS registers are accepted and forgotten.
    pub fn write_data(&mut self, _value: u8) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(cmos: &mut Cmos, low: u8) -> u16 {
        cmos.write_index(low);
        let low_byte = cmos.read_data();
        cmos.write_index(low + 1);
        u16::from_le_bytes([low_byte, cmos.read_data()])
    }

    #[test]
    fn reports_base_and_extended_memory_in_kib() {
        let mut cmos = Cmos::new(2 * ONE_MIB);
        assert_eq!(word(&mut cmos, 0x15), 640);
        assert_eq!(word(&mut cmos, 0x17), 1024);
        assert_eq!(word(&mut cmos, 0x30), 1024);
    }

    #[test]
    fn huge_memory_saturates_instead_of_wrapping() {
        let mut cmos = Cmos::new(u64::MAX);
        assert_eq!(word(&mut cmos, 0x17), u16::MAX);
    }
}
