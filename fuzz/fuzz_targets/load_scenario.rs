//! Any bytes given as a scenario file: loading must not panic or hang, and a
//! file the validator passes must also deserialize (the validator and serde
//! agree on what a valid scenario is).

#![no_main]

use lab_scenario::EmbeddedContent;
use lab_scenario::model::Scenario;
use lab_scenario::validate::validate_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let validation = validate_text("fuzz.yaml", text, &EmbeddedContent);
    if validation.diagnostics.is_empty() {
        if let Err(error) = serde_yaml_ng::from_str::<Scenario>(text) {
            panic!("validator passed a file serde rejects: {error}");
        }
    }
    let _ = lab_scenario::load_text("fuzz.yaml", text, &EmbeddedContent);
});
