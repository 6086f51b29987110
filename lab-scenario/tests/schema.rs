//! The committed JSON Schema equals the one generated from the types, and
//! the validator's field lists equal the schema's properties.
//!
//! Run with `BLESS=1` to rewrite `scenarios/scenario.schema.json`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lab_scenario::schema::json_schema_text;
use lab_scenario::validate::fields::{self, Field};
use serde_json::Value;

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/scenario.schema.json")
}

#[test]
fn committed_schema_is_in_sync_with_the_types() {
    let generated = json_schema_text();
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(schema_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(schema_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "scenarios/scenario.schema.json is out of date; run \
         `BLESS=1 cargo test -p lab-scenario --test schema` and commit it"
    );
}

fn definition(name: &str) -> Value {
    let schema = lab_scenario::json_schema();
    if name == "Scenario" {
        return schema;
    }
    schema["$defs"][name].clone()
}

fn properties(object: &Value) -> BTreeSet<String> {
    object["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn required(object: &Value) -> BTreeSet<String> {
    let list = object["required"].as_array().cloned().unwrap_or_default();
    list.iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn names(fields: &[Field], required_only: bool) -> BTreeSet<String> {
    fields
        .iter()
        .filter(|f| f.required || !required_only)
        .map(|f| f.name.to_owned())
        .collect()
}

#[test]
fn validator_fields_match_the_schema_of_each_struct() {
    let structs: &[(&str, &[Field])] = &[
        ("Scenario", fields::SCENARIO),
        ("ClusterSetup", fields::CLUSTER),
        ("Task", fields::TASK),
        ("Question", fields::QUESTION),
        ("TextAnswer", fields::TEXT_ANSWER),
        ("TextAnswers", fields::TEXT_ANSWERS),
        ("NumberAnswer", fields::NUMBER_ANSWER),
        ("ChoiceAnswer", fields::CHOICE_ANSWER),
    ];
    for (name, fields) in structs {
        let object = definition(name);
        assert_eq!(
            properties(&object),
            names(fields, false),
            "fields of {name}"
        );
        assert_eq!(
            required(&object),
            names(fields, true),
            "required fields of {name}"
        );
    }
}

/// For an enum written as a one-key map: the keys of its variants.
fn variant_keys(name: &str) -> BTreeSet<String> {
    let variants = definition(name)["oneOf"].as_array().cloned().unwrap();
    variants.iter().flat_map(properties).collect()
}

#[test]
fn validator_knows_every_lesson_source_and_answer_rule() {
    assert_eq!(variant_keys("Lesson"), names(fields::LESSON, false));
    assert_eq!(
        variant_keys("AnswerRule"),
        names(fields::ANSWER_RULE, false)
    );
}

/// For an internally tagged enum: each tag value with its other fields.
fn tagged_variants(name: &str, tag: &str) -> Vec<(String, BTreeSet<String>, BTreeSet<String>)> {
    let variants = definition(name)["oneOf"].as_array().cloned().unwrap();
    variants
        .iter()
        .map(|variant| {
            let value = variant["properties"][tag]["const"]
                .as_str()
                .unwrap()
                .to_owned();
            let mut props = properties(variant);
            let mut req = required(variant);
            props.remove(tag);
            req.remove(tag);
            (value, props, req)
        })
        .collect()
}

fn check_tagged(name: &str, tag: &str, known: &[(&str, &[Field])]) {
    let schema = tagged_variants(name, tag);
    assert_eq!(schema.len(), known.len(), "variants of {name}");
    for (value, props, req) in schema {
        let fields = known.iter().find(|(k, _)| *k == value).map(|(_, f)| *f);
        let fields = fields.unwrap_or_else(|| panic!("validator lacks {tag} `{value}`"));
        assert_eq!(props, names(fields, false), "fields of {tag} `{value}`");
        assert_eq!(
            req,
            names(fields, true),
            "required fields of {tag} `{value}`"
        );
    }
}

#[test]
fn validator_knows_every_check_kind_and_live_source_with_their_fields() {
    check_tagged("CheckSpec", "kind", fields::CHECK_KINDS);
    check_tagged("LiveValueSpec", "source", fields::LIVE_SOURCES);
}
