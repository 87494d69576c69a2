//! Snapshots of what build.rs generates, so a change to the OpenAPI document or to progenitor is a
//! reviewable diff: the one-page surface first, then the full code (which is also what compiles).
//! Review with `cargo insta review`; CI (CI=true) fails on any unreviewed change.

use std::sync::LazyLock;

use hero_health_codegen::pretty;

const SURFACE: &str = include_str!(concat!(env!("OUT_DIR"), "/surface.txt"));
/// build.rs writes the code compact; the snapshot (and these tests) read it formatted.
static CODE: LazyLock<String> = LazyLock::new(|| pretty::code(include_str!(concat!(env!("OUT_DIR"), "/codegen.rs"))).unwrap());

#[test]
fn surface_lists_every_operation() {
    insta::assert_snapshot!("surface", SURFACE);
}

#[test]
fn generated_code() {
    insta::assert_snapshot!("codegen", CODE.as_str());
}

#[test]
fn surface_has_one_sorted_line_per_operation() {
    let lines: Vec<&str> = SURFACE.lines().collect();
    assert_eq!(
        lines.len(),
        69,
        "61 reference operations + 2 from seed 001 + 3 found later (cancel, attachment link, booking-link update) + Book Appointment, Delete a Webhook and Reschedule an Appointment (inferred)"
    );
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
    for line in &lines {
        let parts: Vec<&str> = line.split(" -> ").collect();
        assert_eq!(parts.len(), 3, "METHOD /path -> fn -> Type: {line}");
        let (method, path) = parts[0].split_once(' ').unwrap();
        assert!(["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method), "{line}");
        assert!(path.starts_with("/v"), "{line}");
        let success = parts[2].split(" ! ").next().unwrap();
        assert!(
            success.starts_with("hero_health::types::") || success == "()" || success == "ByteStream",
            "success type must be a named type: {line}"
        );
    }
}

/// The generator crate, run here on the committed document, writes exactly what build.rs wrote:
/// the xtask (which runs the same crate) accepts what the build accepts.
#[test]
fn the_crate_document_generates_what_build_rs_wrote() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(hero_health_codegen::SPEC_PATH);
    let generated = hero_health_codegen::generate_file(&path).unwrap();
    assert_eq!(generated.surface, SURFACE, "same surface as build.rs");
    assert_eq!(generated.code, include_str!(concat!(env!("OUT_DIR"), "/codegen.rs")), "same code as build.rs");
}

/// Every `x-hero-inferred` reason of the document is visible in the generated docs, so users
/// see what Hero's reference has never confirmed where they call it. (Undocumented public items
/// are a compile error: `src/generated.rs` warns on `missing_docs` and CI denies warnings.)
#[test]
fn every_inference_is_visible_in_the_docs() {
    let document: serde_json::Value = yaml_serde::from_str(include_str!("../openapi/hero-public-api.yaml")).unwrap();
    let mut reasons = Vec::new();
    collect_inferred(&document, &mut reasons);
    assert!(reasons.len() > 100, "the document marks its inferences ({})", reasons.len());
    let docs: String = CODE.lines().filter_map(|l| l.trim_start().strip_prefix("///")).collect::<Vec<_>>().join("\n");
    let missing: Vec<&String> =
        reasons.iter().filter(|r| !docs.contains(&format!("never confirmed this): {}", r.lines().next().unwrap_or_default()))).collect();
    assert!(missing.is_empty(), "{} of {} inferences have no note in the docs: {missing:#?}", missing.len(), reasons.len());
}

fn collect_inferred(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(reason) = map.get("x-hero-inferred") {
                into.push(reason.as_str().map_or_else(|| reason.to_string(), str::to_owned));
            }
            map.values().for_each(|v| collect_inferred(v, into));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_inferred(v, into)),
        _ => {}
    }
}

/// The README's list of deliberate renames is what the surface and the document have (a rename
/// is pinned in the overlay, and the xtask records Hero's name; this keeps the list honest), and
/// it lists every operation the document records as renamed.
#[test]
fn the_readme_rename_list_matches_the_surface_and_the_document() {
    let readme = include_str!("../README.md");
    let section = readme.split("## Method names").nth(1).and_then(|s| s.split("\n## ").next()).expect("README has a Method names section");
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `") && l.contains("()`")).collect();
    let document: serde_json::Value = yaml_serde::from_str(include_str!("../openapi/hero-public-api.yaml")).unwrap();
    let mut renamed: Vec<(String, String)> = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(upstream) = op.get("x-hero-upstream-operation-id").and_then(|v| v.as_str()) {
                renamed.push((format!("{} {path}", method.to_uppercase()), upstream.to_owned()));
            }
        }
    }
    assert_eq!(rows.len(), renamed.len(), "the README lists each renamed operation once: {rows:#?} {renamed:#?}");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(|c| c.trim().trim_matches('`')).collect();
        let (route, upstream, id, method) = (cells[1], cells[2], cells[3], cells[4].trim_end_matches("()"));
        assert!(SURFACE.contains(&format!("{route} -> {method} -> ")), "README says `{route}` is `{method}()`; the surface says otherwise");
        let (verb, path) = route.split_once(' ').unwrap();
        let op = &document["paths"][path][verb.to_lowercase()];
        assert_eq!(op["operationId"], id, "README's operationId of {route}");
        assert_eq!(op["x-hero-upstream-operation-id"], upstream, "README's upstream operationId of {route}");
    }
}
