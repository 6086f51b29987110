//! The KVM engine's checks and live values for one session.
//!
//! - `vm_running`: the session's VM has printed its banner and not stopped
//!   (optionally: runs the named guest);
//! - `console_matches`: a regular expression matches the console output
//!   (line ends normalised to `\n`);
//! - `exit_count`: an exit counter reached a threshold. Counters of a VM
//!   that has stopped still count, until the next `vm start` or `vm stop`.
//!
//! Live values (`source: vm`) answer from the same counters; an idle guest
//! is halted, so its counters hold still while the student reads them.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use lab_engine_api::check::LiveFigures;
use lab_engine_api::{CheckOutcome, CheckSpec, EngineKind, LiveValueSpec, Probe, ProbeError};
use regex::RegexBuilder;

use crate::session::KvmSession;
use crate::stats::{ExitCounter, ExitReason};
use crate::vm::{VmPhase, VmView};

/// The largest compiled regular expression a check may build.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Names accepted by `LiveValueSpec::Vm { field }`, besides the exit
/// counter names (`io_in`, `io_out`, ..., `total`).
pub const VM_FIELDS: [&str; 9] = [
    "exits_total",
    "state",
    "guest",
    "hypervisor",
    "memory_mib",
    "vcpus",
    "guest_time_ms",
    "boot_ms",
    "console_bytes",
];

/// A live value names no known field.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown vm field `{0}`; expected exits_total, io_in, io_out, mmio_read, mmio_write, hlt, \
     shutdown, other, total, state, guest, hypervisor, memory_mib, vcpus, guest_time_ms, boot_ms or \
     console_bytes"
)]
pub struct UnknownVmField(pub String);

/// Evaluates KVM checks against one session's VM.
pub struct KvmProbe {
    session: Arc<KvmSession>,
}

impl KvmProbe {
    pub fn new(session: Arc<KvmSession>) -> Self {
        KvmProbe { session }
    }

    /// Every live value by name, for a UI that shows them all at once.
    pub fn figures(&self) -> LiveFigures {
        let Some(view) = self.session.vm() else {
            return BTreeMap::from([("state".to_owned(), "none".to_owned())]);
        };
        let counters = ExitReason::ALL
            .iter()
            .map(|reason| reason.name())
            .chain(["total"]);
        VM_FIELDS
            .into_iter()
            .chain(counters)
            .filter_map(|field| Some((field.to_owned(), field_value(&view, field)?)))
            .collect()
    }

    fn vm_running(&self, wanted: Option<&str>) -> CheckOutcome {
        let Some(view) = self.session.vm() else {
            return CheckOutcome::fail("no VM yet: start one with `vm start`");
        };
        let guest = view.program().name;
        match view.phase() {
            VmPhase::Booting => CheckOutcome::fail(format!("the {guest} guest is still booting")),
            VmPhase::Stopped(reason) => {
                CheckOutcome::fail(format!("the {guest} guest has stopped: {reason}"))
            }
            VmPhase::Running => match wanted {
                Some(wanted) if wanted != guest => {
                    CheckOutcome::fail(format!("a {guest} guest is running, not {wanted}"))
                }
                _ => CheckOutcome::pass(format!("the {guest} guest is running")),
            },
        }
    }

    fn console_matches(&self, pattern: &str) -> Result<CheckOutcome, ProbeError> {
        let regex = RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(query_error)?;
        let Some(view) = self.session.vm() else {
            return Ok(CheckOutcome::fail("no VM yet, so no console output"));
        };
        let text = view.console().text().replace("\r\n", "\n");
        Ok(match regex.find(&text) {
            Some(found) => {
                CheckOutcome::pass(format!("the console shows {:?}", short(found.as_str())))
            }
            None => CheckOutcome::fail(format!("nothing on the console matches /{pattern}/ yet")),
        })
    }

    fn exit_count(&self, counter: &str, at_least: u64) -> Result<CheckOutcome, ProbeError> {
        let parsed: ExitCounter = counter.parse().map_err(query_error)?;
        let Some(view) = self.session.vm() else {
            return Ok(CheckOutcome::fail("no VM yet: start one with `vm start`"));
        };
        if !view.hypervisor().counts_exits() {
            return Ok(CheckOutcome::fail(format!(
                "the {} guest runs under QEMU, which reports no VM exits; \
                 exit counts need the micro-VMM",
                view.program().name
            )));
        }
        let count = view.counts().counter(parsed);
        let detail = format!("{counter} exits: {count} of at least {at_least}");
        Ok(if count >= at_least {
            CheckOutcome::pass(detail)
        } else {
            CheckOutcome::fail(detail)
        })
    }
}

#[async_trait]
impl Probe for KvmProbe {
    fn engine(&self) -> EngineKind {
        EngineKind::Kvm
    }

    async fn check(&self, spec: &CheckSpec) -> Result<CheckOutcome, ProbeError> {
        match spec {
            CheckSpec::VmRunning { guest } => Ok(self.vm_running(guest.as_deref())),
            CheckSpec::ConsoleMatches { pattern } => self.console_matches(pattern),
            CheckSpec::ExitCount { counter, at_least } => self.exit_count(counter, *at_least),
            _ => Err(ProbeError::WrongEngine {
                engine: EngineKind::Kvm,
            }),
        }
    }

    async fn live_values(&self, spec: &LiveValueSpec) -> Result<Vec<String>, ProbeError> {
        let LiveValueSpec::Vm { field } = spec else {
            return Err(ProbeError::WrongEngine {
                engine: EngineKind::Kvm,
            });
        };
        if !is_known_field(field) {
            return Err(query_error(UnknownVmField(field.clone())));
        }
        let Some(view) = self.session.vm() else {
            if field == "state" {
                return Ok(vec!["none".to_owned()]);
            }
            return Err(ProbeError::Unavailable {
                engine: EngineKind::Kvm,
                reason: "no VM in this session yet".to_owned(),
            });
        };
        Ok(field_value(&view, field).into_iter().collect())
    }
}

fn is_known_field(field: &str) -> bool {
    VM_FIELDS.contains(&field) || field.parse::<ExitCounter>().is_ok()
}

/// The value of a known field; `None` for `boot_ms` before the banner,
/// and for exit counters of a guest under QEMU (which has none to give).
fn field_value(view: &VmView, field: &str) -> Option<String> {
    let counts = view.hypervisor().counts_exits().then(|| view.counts());
    if let Ok(counter) = field.parse::<ExitCounter>() {
        return counts.map(|counts| counts.counter(counter).to_string());
    }
    match field {
        "exits_total" => counts.map(|counts| counts.total().to_string()),
        "hypervisor" => Some(view.hypervisor().label().to_owned()),
        "state" => Some(view.phase().label().to_owned()),
        "guest" => Some(view.program().name.to_owned()),
        "memory_mib" => Some(view.memory_mib().to_string()),
        "vcpus" => Some("1".to_owned()),
        "guest_time_ms" => counts.map(|counts| counts.guest_time.as_millis().to_string()),
        "boot_ms" => view.boot_time().map(|boot| boot.as_millis().to_string()),
        "console_bytes" => Some(view.console().end().to_string()),
        _ => None,
    }
}

fn query_error(error: impl std::error::Error + Send + Sync + 'static) -> ProbeError {
    ProbeError::Query {
        engine: EngineKind::Kvm,
        source: Box::new(error),
    }
}

/// At most 60 characters of matched text, for a check's detail line.
fn short(text: &str) -> String {
    const LIMIT: usize = 60;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> KvmProbe {
        KvmProbe::new(Arc::new(KvmSession::default()))
    }

    #[tokio::test]
    async fn checks_fail_with_a_hint_before_any_vm_exists() {
        let probe = probe();
        let running = probe.check(&CheckSpec::VmRunning { guest: None }).await;
        assert!(matches!(running, Ok(CheckOutcome { passed: false, .. })));
        let count = CheckSpec::ExitCount {
            counter: "io_out".to_owned(),
            at_least: 1,
        };
        assert!(matches!(
            probe.check(&count).await,
            Ok(CheckOutcome { passed: false, .. })
        ));
        let state = probe
            .live_values(&LiveValueSpec::Vm {
                field: "state".to_owned(),
            })
            .await;
        assert_eq!(state.ok(), Some(vec!["none".to_owned()]));
    }

    #[tokio::test]
    async fn bad_counters_fields_and_patterns_are_query_errors() {
        let probe = probe();
        let count = CheckSpec::ExitCount {
            counter: "io".to_owned(),
            at_least: 1,
        };
        assert!(matches!(
            probe.check(&count).await,
            Err(ProbeError::Query { .. })
        ));
        let pattern = CheckSpec::ConsoleMatches {
            pattern: "(".to_owned(),
        };
        assert!(matches!(
            probe.check(&pattern).await,
            Err(ProbeError::Query { .. })
        ));
        let field = LiveValueSpec::Vm {
            field: "colour".to_owned(),
        };
        assert!(matches!(
            probe.live_values(&field).await,
            Err(ProbeError::Query { .. })
        ));
    }

    #[tokio::test]
    async fn other_engines_checks_are_refused() {
        let spec = CheckSpec::ContainerRunning {
            image: "x".to_owned(),
            port: None,
        };
        assert!(matches!(
            probe().check(&spec).await,
            Err(ProbeError::WrongEngine { .. })
        ));
    }

    #[test]
    fn long_matches_are_shortened_on_a_char_boundary() {
        let long = "é".repeat(100);
        assert_eq!(short(&long).chars().count(), 63);
        assert_eq!(short("short"), "short");
    }
}
