//! The drift report between two fixture versions of a small API, with a hand-written layer that
//! calls three of its operations: a golden file of the Markdown, plus the facts it rests on.

use xtask::codegen;
use xtask::drift::{compare, outlines};
use xtask::effective::load;
use xtask::normalise::render;
use xtask::report::{self, ReportInput, used_by_src};

const V1: &str = include_str!("fixtures/api-v1.yaml");
const V2: &str = include_str!("fixtures/api-v2.yaml");

fn spec(text: &str) -> openapiv3::OpenAPI {
    codegen::parse(&render(&load(text, "fixture").unwrap().document)).unwrap()
}

/// A stand-in `src/` that calls three operations (one of them removed in v2, two changed).
fn hand_written_layer() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("nested")).unwrap();
    std::fs::write(dir.path().join("lib.rs"), "fn a(c: &Client) { c.get_appointment().id(\"1\"); }\n").unwrap();
    std::fs::write(dir.path().join("nested/booking.rs"), "fn b(c: &Client) { c.book_appointment(); c.cancel_appointment(); }\n").unwrap();
    dir
}

#[test]
fn golden_report_between_two_versions() {
    let (old, new) = (spec(V1), spec(V2));
    let old_generated = codegen::generate(&old).unwrap();
    let surface = old_generated.surface.clone();
    let src = hand_written_layer();
    let used = used_by_src(src.path(), &surface, &outlines(&old));
    let drift = compare(&old, &new);
    let new_generated = codegen::generate(&new).unwrap();
    let text = report::render(&ReportInput {
        versions: ("1.0.0", "2.0.0"),
        source: "fixtures/api-v2.yaml",
        drift: &drift,
        used: &used,
        changes: &[],
        overlay: "",
        differences: &[],
        generated: Some((&old_generated, &new_generated)),
    });
    insta::assert_snapshot!("report_v1_to_v2", text);
}

#[test]
fn the_report_finds_each_kind_of_change() {
    let drift = compare(&spec(V1), &spec(V2));
    let ids = |v: &[xtask::drift::Outline]| v.iter().map(|o| o.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&drift.added), ["listLocations"]);
    assert_eq!(ids(&drift.removed), ["cancelAppointment"]);
    let changed: Vec<&str> = drift.changed.iter().map(|c| c.outline.id.as_str()).collect();
    assert_eq!(changed, ["bookAppointment", "createAppointment", "getAppointment", "listSlots"], "listPractitioners did not change");
    let all: Vec<&String> = drift.changed.iter().flat_map(|c| &c.details).collect();
    for expected in [
        "moved: POST /v1/appointments/{id}/book → PUT /v1/appointments/{id}/confirm",
        "parameter added: query `page_size` (integer(uint64), optional)",
        "parameter changed: query `practitioner_id`: string (Id), optional → string (Id), required",
        "request field added: `appointment_type_id` (string (Id), required)",
        "request field `patient_id`: type string (Id) → integer(uint64)",
        "response field removed: `notes` (string)",
        "response field `start_time`: optional → required",
        "response field `status`: enum values added cancelled_by_patient; removed cancelled",
        "statuses: 200, 400 → 201, 400",
    ] {
        assert!(all.iter().any(|d| *d == expected), "missing `{expected}` in {all:#?}");
    }
}

#[test]
fn the_same_document_has_no_drift() {
    assert!(compare(&spec(V2), &spec(V2)).is_empty());
}

#[test]
fn only_operations_the_layer_calls_are_breaking() {
    let old = spec(V1);
    let old_generated = codegen::generate(&old).unwrap();
    let surface = old_generated.surface.clone();
    let src = hand_written_layer();
    let used = used_by_src(src.path(), &surface, &outlines(&old));
    let used: Vec<(&str, &str)> = used.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        used,
        [("bookAppointment", "book_appointment"), ("cancelAppointment", "cancel_appointment"), ("getAppointment", "get_appointment")]
    );
}
