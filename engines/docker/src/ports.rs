//! Host ports for published container ports.
//!
//! Students all type `-p 5000:5000`; each gets a different real host port
//! from a configurable range, and the lab shell's `curl localhost:5000`
//! finds the real one through the session's containers. One [`PortMap`] is
//! shared by every session of a lab process.

use std::collections::HashMap;
use std::net::{Ipv4Addr, TcpListener};
use std::ops::RangeInclusive;
use std::sync::Mutex;

use crate::error::DockerError;

/// Ports handed out by default: above the usual services, below the
/// kernel's ephemeral range.
pub const DEFAULT_PORT_RANGE: RangeInclusive<u16> = 20000..=29999;

/// Hands out free host ports from a range and remembers who holds them.
#[derive(Debug)]
pub struct PortMap {
    range: RangeInclusive<u16>,
    bind_ip: Ipv4Addr,
    state: Mutex<PortState>,
}

#[derive(Debug, Default)]
struct PortState {
    next: u16,
    /// Real host port -> the container (ID) holding it.
    held: HashMap<u16, String>,
}

impl Default for PortMap {
    fn default() -> Self {
        PortMap::new(DEFAULT_PORT_RANGE, Ipv4Addr::LOCALHOST)
    }
}

impl PortMap {
    /// A map over `range`, publishing on `bind_ip` (loopback keeps student
    /// apps off the network; `0.0.0.0` lets a browser reach them).
    pub fn new(range: RangeInclusive<u16>, bind_ip: Ipv4Addr) -> Self {
        let next = *range.start();
        PortMap {
            range,
            bind_ip,
            state: Mutex::new(PortState {
                next,
                held: HashMap::new(),
            }),
        }
    }

    /// The address published ports are bound to.
    pub fn bind_ip(&self) -> Ipv4Addr {
        self.bind_ip
    }

    /// A free host port, reserved until [`PortMap::release`] or until the
    /// holder is bound to it with [`PortMap::assign`].
    pub fn allocate(&self) -> Result<u16, DockerError> {
        let mut state = self.lock();
        let (first, last) = (*self.range.start(), *self.range.end());
        let span = u32::from(last) - u32::from(first) + 1;
        for _ in 0..span {
            let port = state.next;
            state.next = if port >= last { first } else { port + 1 };
            if !state.held.contains_key(&port) && self.is_free(port) {
                state.held.insert(port, String::new());
                return Ok(port);
            }
        }
        Err(DockerError::PortsExhausted { first, last })
    }

    /// Records which container holds an allocated port.
    pub fn assign(&self, port: u16, container_id: &str) {
        self.lock().held.insert(port, container_id.to_owned());
    }

    /// Gives a port back.
    pub fn release(&self, port: u16) {
        self.lock().held.remove(&port);
    }

    /// Gives back every port held by the container.
    pub fn release_container(&self, container_id: &str) {
        self.lock().held.retain(|_, holder| holder != container_id);
    }

    /// Gives back ports of containers among `owned` that no longer exist in
    /// `existing` (containers run with `--rm` remove themselves).
    pub fn release_missing(&self, owned: &[String], existing: &[String]) {
        self.lock().held.retain(|_, holder| {
            holder.is_empty() || !owned.contains(holder) || existing.contains(holder)
        });
    }

    /// How many ports are held right now.
    pub fn held(&self) -> usize {
        self.lock().held.len()
    }

    fn is_free(&self, port: u16) -> bool {
        TcpListener::bind((self.bind_ip, port)).is_ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PortState> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every update is a single insert or remove), so a poisoned lock is
        // still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Ports allocated for a container that is being created. Dropping the
/// lease gives them back (a failed or cancelled `docker run`), unless
/// [`PortLease::keep`] handed them to the created container.
#[derive(Debug)]
pub struct PortLease<'a> {
    map: &'a PortMap,
    ports: Vec<u16>,
}

impl<'a> PortLease<'a> {
    /// `count` ports, or none when the range runs out.
    pub fn allocate(map: &'a PortMap, count: usize) -> Result<Self, DockerError> {
        let mut lease = PortLease {
            map,
            ports: Vec::with_capacity(count),
        };
        for _ in 0..count {
            lease.ports.push(map.allocate()?);
        }
        Ok(lease)
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Records the container as holder; the ports stay taken until the
    /// container is removed.
    pub fn keep(mut self, container_id: &str) {
        for port in self.ports.drain(..) {
            self.map.assign(port, container_id);
        }
    }
}

impl Drop for PortLease<'_> {
    fn drop(&mut self) {
        self.ports.iter().for_each(|port| self.map.release(*port));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn allocations_never_repeat_while_held() {
        let map = PortMap::new(41000..=41009, Ipv4Addr::LOCALHOST);
        let mut ports: Vec<u16> = (0..5).map(|_| map.allocate().unwrap()).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 5);
        assert_eq!(map.held(), 5);
    }

    #[test]
    fn an_exhausted_range_is_an_error_until_a_port_is_released() {
        let map = PortMap::new(41020..=41021, Ipv4Addr::LOCALHOST);
        let a = map.allocate().unwrap();
        map.allocate().unwrap();
        assert!(matches!(
            map.allocate(),
            Err(DockerError::PortsExhausted { .. })
        ));
        map.release(a);
        assert_eq!(map.allocate().unwrap(), a);
    }

    #[test]
    fn ports_someone_else_listens_on_are_skipped() {
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 41030)).unwrap();
        let map = PortMap::new(41030..=41031, Ipv4Addr::LOCALHOST);
        assert_eq!(map.allocate().unwrap(), 41031);
        drop(taken);
    }

    #[test]
    fn a_dropped_lease_gives_its_ports_back_and_a_kept_one_does_not() {
        let map = PortMap::new(41050..=41059, Ipv4Addr::LOCALHOST);
        drop(PortLease::allocate(&map, 2).unwrap());
        assert_eq!(map.held(), 0);
        PortLease::allocate(&map, 2).unwrap().keep("abc");
        assert_eq!(map.held(), 2);
    }

    #[test]
    fn ports_of_vanished_containers_are_released() {
        let map = PortMap::new(41040..=41049, Ipv4Addr::LOCALHOST);
        let p = map.allocate().unwrap();
        map.assign(p, "abc");
        map.release_missing(&["abc".to_owned()], &[]);
        assert_eq!(map.held(), 0);
    }
}
