//! The commands engines plug into the shell.
//!
//! The names `docker`, `kubectl`, `vm` and `curl` are always known: until
//! an engine registers its command, the name answers with a plain "not
//! available in this session" message and still has `--help`, so a
//! student never mistakes a missing engine for a typo.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use lab_engine_api::{Invocation, ShellCommand};

/// Exit status of a command whose engine is not there.
pub const ENGINE_UNAVAILABLE_STATUS: i32 = 127;

/// The engine commands every session knows by name.
const ENGINE_COMMANDS: &[(&str, &str, &str)] = &[
    (
        "curl",
        "docker",
        "fetch a URL from a published container port",
    ),
    ("docker", "docker", "run and manage containers"),
    (
        "kubectl",
        "cluster",
        "explore and change the Kubernetes cluster",
    ),
    (
        "vm",
        "kvm",
        "start, inspect and attach to the lab's virtual machine",
    ),
];

/// The shell's external commands by name.
#[derive(Clone)]
pub struct CommandRegistry {
    commands: BTreeMap<String, Arc<dyn ShellCommand>>,
}

impl Default for CommandRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl CommandRegistry {
    /// A registry where every engine command says its engine is missing.
    pub fn new() -> Self {
        let mut commands: BTreeMap<String, Arc<dyn ShellCommand>> = BTreeMap::new();
        for &(name, engine, summary) in ENGINE_COMMANDS {
            let missing = EngineMissing {
                name,
                engine,
                summary,
            };
            commands.insert(name.to_owned(), Arc::new(missing));
        }
        CommandRegistry { commands }
    }

    /// Adds a command, replacing the placeholder or an earlier command of
    /// the same name.
    pub fn register(&mut self, command: Arc<dyn ShellCommand>) {
        self.commands.insert(command.name().to_owned(), command);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn ShellCommand>> {
        self.commands.get(name)
    }

    /// Every command, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn ShellCommand>> {
        self.commands.values()
    }
}

/// The stand-in for an engine command whose engine did not register.
struct EngineMissing {
    name: &'static str,
    engine: &'static str,
    summary: &'static str,
}

#[async_trait]
impl ShellCommand for EngineMissing {
    fn name(&self) -> &str {
        self.name
    }

    fn summary(&self) -> &str {
        self.summary
    }

    fn help(&self, _topic: &[String]) -> String {
        format!(
            "{name}: {summary}\n\n\
             This command comes from the {engine} engine, which is not available in this\n\
             session, so it cannot run here. `lab doctor` tells why the engine is missing.\n",
            name = self.name,
            summary = self.summary,
            engine = self.engine,
        )
    }

    async fn run(&self, invocation: Invocation<'_>) -> i32 {
        let message = format!(
            "{}: the {} engine is not available in this session",
            self.name, self.engine
        );
        // The pane may be gone already; nothing else to tell anyone then.
        let _ = invocation.stderr.line(message).await;
        ENGINE_UNAVAILABLE_STATUS
    }
}
