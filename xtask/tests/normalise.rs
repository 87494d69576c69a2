//! The normaliser on a 3.1 fixture that gives every rule something to do: a golden file of the
//! output and of the warnings, and proof that the output passes build.rs's preflight and
//! generates with progenitor (while the input does not).

use std::collections::BTreeSet;

use xtask::codegen;
use xtask::effective::load;
use xtask::normalise::{NormaliseError, Rule, normalise, render};

const RULES_31: &str = include_str!("fixtures/rules-3.1.yaml");
const API_V1: &str = include_str!("fixtures/api-v1.yaml");

fn normalised(text: &str) -> (String, Vec<String>, BTreeSet<Rule>) {
    let n = load(text, "fixture").expect("fixture loads");
    let warnings = n.changes.iter().map(ToString::to_string).collect();
    let rules = n.changes.iter().map(|c| c.rule).collect();
    (render(&n.document), warnings, rules)
}

#[test]
fn golden_output_of_the_31_fixture() {
    let (text, warnings, _) = normalised(RULES_31);
    insta::assert_snapshot!("rules_31_normalised", text);
    insta::assert_snapshot!("rules_31_warnings", warnings.join("\n"));
}

#[test]
fn the_31_fixture_exercises_every_rule() {
    let (_, _, rules) = normalised(RULES_31);
    let missing: Vec<&str> = Rule::ALL.iter().filter(|r| !rules.contains(r)).map(|r| r.name()).collect();
    assert!(missing.is_empty(), "rules the fixture does not exercise: {missing:?}");
}

#[test]
fn the_raw_fixture_is_rejected_and_the_normalised_one_generates() {
    // Without normalising, build.rs's own checks refuse it (3.1 version and keywords).
    let raw = codegen::parse(RULES_31).expect_err("3.1 is refused as it is").to_string();
    assert!(raw.contains("3.1.0") && raw.contains("type"), "{raw}");

    let (text, _, _) = normalised(RULES_31);
    let spec = codegen::parse(&text).unwrap_or_else(|e| panic!("normalised output does not parse: {e}"));
    let generated = codegen::generate(&spec).unwrap_or_else(|e| panic!("normalised output does not generate: {e}"));
    // The merged oneOf components became the operation's single success and error types.
    assert!(
        generated.surface.contains(
            "POST /v1/appointments -> create_appointment -> hero_health::types::CreateAppointmentResponse ! hero_health::types::ProblemOrConflict"
        ),
        "{}",
        generated.surface
    );
    assert!(generated.surface.contains("GET /v1/slots -> get_v1_slots ->"), "{}", generated.surface);
    assert!(generated.surface.contains("DELETE /v1/appointments/{id} -> get_appointment_2 ->"), "{}", generated.surface);
    let code = &generated.code;
    assert!(code.contains("pub enum CreateAppointmentResponse"), "oneOf → enum");
    assert!(!code.contains("deny_unknown_fields"), "responses must tolerate new fields");
}

#[test]
fn normalising_is_deterministic_and_idempotent() {
    let (once, _, _) = normalised(RULES_31);
    let (again, _, _) = normalised(RULES_31);
    assert_eq!(once, again, "same input, same bytes");
    let n = load(&once, "normalised").unwrap();
    assert!(n.changes.is_empty(), "a normalised document needs no change: {:?}", n.changes);
    assert_eq!(render(&n.document), once);
}

#[test]
fn a_clean_30_document_only_changes_layout_and_the_sdk_conventions() {
    let n = load(API_V1, "v1").unwrap();
    // Its booking ids are plain strings: `hero-id` types them `Id` (and adds the component); its
    // `{id}` path declares the id once for both operations (`path-parameters`).
    let rules: std::collections::BTreeSet<&str> = n.changes.iter().map(|c| c.rule.name()).collect();
    assert_eq!(rules.into_iter().collect::<Vec<_>>(), ["hero-id", "id-pattern", "path-parameters"], "{:?}", n.changes);
}

#[test]
fn vendor_extensions_and_webhooks_are_kept() {
    let (text, _, _) = normalised(RULES_31);
    assert!(text.contains("x-fixture: vendor extensions are kept"));
    assert!(text.contains("x-webhooks:\n  appointmentBooked:"));
}

#[test]
fn documents_that_are_not_openapi_3_are_refused_with_a_reason() {
    let cases: [(&str, NormaliseError); 4] = [
        ("swagger: '2.0'\npaths: {}\n", NormaliseError::NoVersion { swagger: true }),
        ("title: just some YAML\n", NormaliseError::NoVersion { swagger: false }),
        ("openapi: 4.0.0\npaths: {}\n", NormaliseError::UnsupportedVersion("4.0.0".into())),
        ("- a list\n", NormaliseError::NotAMapping),
    ];
    for (text, expected) in cases {
        let value: yaml_serde::Value = yaml_serde::from_str(text).unwrap();
        assert_eq!(normalise(value).err(), Some(expected.clone()), "{text}");
        assert!(load(text, "x").err().unwrap().to_string().contains("pass Hero's OpenAPI bundle"), "{text}");
    }
    assert!(NormaliseError::NoVersion { swagger: true }.to_string().contains("Swagger 2.0"));
}

#[test]
fn rule_names_are_unique() {
    let names: BTreeSet<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(names.len(), Rule::ALL.len());
}
