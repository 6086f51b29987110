//! [`StoreRecorder`]: every line the lab shell runs goes into the progress
//! store, where `command_ran` checks look for it.

use std::time::SystemTime;

use lab_shell::CommandRecorder;

use crate::store::{SharedStore, lock};

/// Records a learner's command lines for one scenario.
pub struct StoreRecorder {
    store: SharedStore,
    user: String,
    scenario: String,
}

impl StoreRecorder {
    pub fn new(store: SharedStore, user: impl Into<String>, scenario: impl Into<String>) -> Self {
        StoreRecorder {
            store,
            user: user.into(),
            scenario: scenario.into(),
        }
    }
}

impl CommandRecorder for StoreRecorder {
    fn record(&self, line: &str, exit_status: i32, at: SystemTime) {
        let recorded = lock(&self.store).and_then(|store| {
            store.record_command(&self.user, &self.scenario, line, exit_status, at)
        });
        if let Err(error) = recorded {
            // The shell cannot show this without mixing it into the output;
            // the check that needs the line will say it was not found.
            tracing::warn!(%error, user = %self.user, "failed to record a command line");
        }
    }
}
