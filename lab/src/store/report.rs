//! Progress summaries for instructors (`lab progress`).

use rusqlite::params;
use serde::Serialize;

use super::{ProgressStore, StoreError, query_error};

/// One learner's progress in one scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgressRow {
    pub user: String,
    pub scenario: String,
    pub points: u32,
    /// Questions answered correctly.
    pub questions_answered: u32,
    /// Every submitted answer, right or wrong.
    pub attempts: u32,
    pub wrong_attempts: u32,
    pub tasks_done: u32,
    pub hints_revealed: u32,
    pub commands_run: u32,
    /// Milliseconds since the Unix epoch of the last recorded action.
    pub last_activity_ms: i64,
}

/// Restricts a report to one user and/or one scenario.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub user: Option<String>,
    pub scenario: Option<String>,
}

/// Per (user, scenario): every table's contribution, summed in one pass.
const REPORT_SQL: &str = "
WITH pairs AS (
    SELECT user, scenario, at_ms FROM attempts
    UNION ALL SELECT user, scenario, at_ms FROM hints
    UNION ALL SELECT user, scenario, at_ms FROM tasks_done
    UNION ALL SELECT user, scenario, at_ms FROM commands
),
first_correct AS (
    SELECT user, scenario, question, MIN(id) AS id FROM attempts WHERE correct = 1
    GROUP BY user, scenario, question
)
SELECT p.user, p.scenario,
    (SELECT COALESCE(SUM(a.points), 0) FROM attempts a JOIN first_correct f ON a.id = f.id
        WHERE a.user = p.user AND a.scenario = p.scenario),
    (SELECT COUNT(*) FROM first_correct f WHERE f.user = p.user AND f.scenario = p.scenario),
    (SELECT COUNT(*) FROM attempts a WHERE a.user = p.user AND a.scenario = p.scenario),
    (SELECT COUNT(*) FROM attempts a WHERE a.user = p.user AND a.scenario = p.scenario
        AND a.correct = 0),
    (SELECT COUNT(*) FROM tasks_done t WHERE t.user = p.user AND t.scenario = p.scenario),
    (SELECT COALESCE(SUM(h.revealed), 0) FROM hints h WHERE h.user = p.user
        AND h.scenario = p.scenario),
    (SELECT COUNT(*) FROM commands c WHERE c.user = p.user AND c.scenario = p.scenario),
    MAX(p.at_ms)
FROM pairs p
WHERE (?1 IS NULL OR p.user = ?1) AND (?2 IS NULL OR p.scenario = ?2)
GROUP BY p.user, p.scenario
ORDER BY p.user, p.scenario";

impl ProgressStore {
    /// One row per learner and scenario with any recorded activity.
    pub fn report(&self, filter: &ReportFilter) -> Result<Vec<ProgressRow>, StoreError> {
        let read = query_error("summarise progress");
        let mut statement = self.connection().prepare(REPORT_SQL).map_err(read)?;
        let rows = statement
            .query_map(params![filter.user, filter.scenario], |row| {
                Ok(ProgressRow {
                    user: row.get(0)?,
                    scenario: row.get(1)?,
                    points: row.get(2)?,
                    questions_answered: row.get(3)?,
                    attempts: row.get(4)?,
                    wrong_attempts: row.get(5)?,
                    tasks_done: row.get(6)?,
                    hints_revealed: row.get(7)?,
                    commands_run: row.get(8)?,
                    last_activity_ms: row.get(9)?,
                })
            })
            .map_err(read)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(read)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::store::{Attempt, HintScope};

    #[test]
    fn report_sums_each_learner_and_filters() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProgressStore::open_in(dir.path()).unwrap();
        for (user, correct, points) in [("ada", false, 0), ("ada", true, 2), ("bob", true, 2)] {
            store
                .record_attempt(&Attempt {
                    user: user.into(),
                    scenario: "s".into(),
                    task: "t".into(),
                    question: "q".into(),
                    answer: "a".into(),
                    correct,
                    points,
                    at: SystemTime::now(),
                })
                .unwrap();
        }
        store
            .record_hints("ada", "s", HintScope::Task("t"), 1)
            .unwrap();
        store
            .record_command("bob", "s", "docker ps", 0, SystemTime::now())
            .unwrap();

        let all = store.report(&ReportFilter::default()).unwrap();
        assert_eq!(all.len(), 2);
        let ada = &all[0];
        assert_eq!(
            (
                ada.points,
                ada.attempts,
                ada.wrong_attempts,
                ada.hints_revealed
            ),
            (2, 2, 1, 1)
        );
        let only_bob = store
            .report(&ReportFilter {
                user: Some("bob".into()),
                scenario: None,
            })
            .unwrap();
        assert_eq!(only_bob.len(), 1);
        assert_eq!(only_bob[0].commands_run, 1);
    }
}
