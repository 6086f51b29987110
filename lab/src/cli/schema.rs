//! `lab scenario schema`: the JSON Schema of scenario files.

use std::process::ExitCode;

pub fn execute() -> ExitCode {
    print!("{}", lab_scenario::schema::json_schema_text());
    ExitCode::SUCCESS
}
