//! The live line of the status bar: [`SessionStatusLine`] joins where the
//! learner's published ports really listen ([`PublishedPorts`]:
//! `port 5000 → 127.0.0.1:20001`; the real host port differs from the one
//! the learner typed, since every session gets its own) and the VM's exit
//! counters.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lab_docker::DockerSession;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::vm_status::VmStatusLine;
use crate::app::StatusSource;

/// Everything live about the session's engines, in one status line.
pub struct SessionStatusLine {
    pub ports: Option<PublishedPorts>,
    pub vm: Option<VmStatusLine>,
}

impl StatusSource for SessionStatusLine {
    fn line(&self) -> Option<String> {
        let parts: Vec<String> = [
            self.ports.as_ref().and_then(PublishedPorts::line),
            self.vm.as_ref().and_then(VmStatusLine::line),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join(" · "))
    }
}

/// How often the published addresses are read from Docker.
const REFRESH: Duration = Duration::from_secs(2);

/// The session's published addresses, refreshed in the background so that
/// drawing only reads a copy.
pub struct PublishedPorts {
    latest: Arc<Mutex<Vec<(u16, SocketAddr)>>>,
    refresh: JoinHandle<()>,
}

impl PublishedPorts {
    /// Starts refreshing from `docker` on `runtime`; stops when dropped.
    pub fn watch(docker: Arc<DockerSession>, runtime: &Handle) -> Self {
        let latest = Arc::new(Mutex::new(Vec::new()));
        let target = Arc::clone(&latest);
        let refresh = runtime.spawn(async move {
            loop {
                // Docker not answering keeps the last known addresses; the
                // engine mark in the status bar says it is down.
                if let Ok(addresses) = docker.published_addresses().await
                    && let Ok(mut slot) = target.lock()
                {
                    *slot = addresses;
                }
                tokio::time::sleep(REFRESH).await;
            }
        });
        PublishedPorts { latest, refresh }
    }

    /// `port 5000 → 127.0.0.1:20001`, or `None` while nothing is published.
    pub fn line(&self) -> Option<String> {
        let addresses = self.latest.lock().ok()?;
        describe(&addresses)
    }
}

impl Drop for PublishedPorts {
    fn drop(&mut self) {
        self.refresh.abort();
    }
}

fn describe(addresses: &[(u16, SocketAddr)]) -> Option<String> {
    if addresses.is_empty() {
        return None;
    }
    let parts: Vec<String> = addresses
        .iter()
        .map(|(port, real)| format!("{port} → {real}"))
        .collect();
    Some(format!("port {}", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_published_gives_no_line() {
        assert_eq!(describe(&[]), None);
    }

    #[test]
    fn each_published_port_shows_its_real_address() {
        let real: SocketAddr = "127.0.0.1:20001".parse().unwrap();
        let other: SocketAddr = "127.0.0.1:20002".parse().unwrap();
        assert_eq!(
            describe(&[(5000, real), (8080, other)]).as_deref(),
            Some("port 5000 → 127.0.0.1:20001, 8080 → 127.0.0.1:20002")
        );
    }
}
