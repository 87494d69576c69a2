//! A bundle that differs from our reconstruction in several independent places: one run of
//! `update-spec` names them all, writes nothing, and, once each is decided, writes the document
//! and keeps the decisions so that `check`'s rebuild agrees.

use std::path::{Path, PathBuf};
use std::time::Duration;

use xtask::XtaskError;
use xtask::commands::{self, Repo, UpdateOptions};
use xtask::decisions::{ACCEPTED_PATH, Resolution};
use xtask::source::Source;
use yaml_serde::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A repository with the committed `openapi/` only (no `src/`: nothing counts as used).
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("openapi")).unwrap();
    for file in ["openapi/upstream.yaml", "openapi/overlay.yaml", "openapi/hero-public-api.yaml"] {
        std::fs::copy(root().join(file), dir.path().join(file)).unwrap();
    }
    dir
}

/// Upstream with five independent differences from what the overlay expects.
fn bundle_with_five_differences() -> String {
    let mut doc: Value = yaml_serde::from_str(&std::fs::read_to_string(root().join("openapi/upstream.yaml")).unwrap()).unwrap();
    let paths = doc["paths"].as_mapping_mut().unwrap();
    // 1, 2: two operations gone, at every method and naming.
    paths["/v1/invoicing/coupons"].as_mapping_mut().unwrap().shift_remove("get");
    paths["/v1/forms"].as_mapping_mut().unwrap().shift_remove("get");
    // 3: Update an Admin is no longer PATCH, and both PUT and POST could be it.
    let admin = paths["/v1/admins/{id}"].as_mapping_mut().unwrap();
    let update = admin.shift_remove("patch").unwrap();
    admin.insert("put".into(), update.clone());
    admin.insert("post".into(), update);
    // 4: Get an Appointment answers an inline, reshaped appointment while `Appointment` stays a
    // component (another operation uses it): the pinned name is taken.
    let answer = &mut paths["/v1/appointments/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    *answer = yaml_serde::from_str(
        "{type: object, properties: {id: {type: string, pattern: '^\\d+$'}, starts_at: {type: string}, clinician: {type: string}}}",
    )
    .unwrap();
    // 5: Link Status answers plain text: the pin on its JSON answer has nothing to name.
    let status = &mut paths["/v1/links/status"]["get"]["responses"]["200"]["content"];
    *status = yaml_serde::from_str("{text/plain: {schema: {type: string}}}").unwrap();
    yaml_serde::to_string(&doc).unwrap()
}

fn options(bundle: &Path, accept: &[&str]) -> UpdateOptions {
    UpdateOptions {
        from: Source::File(bundle.to_path_buf()),
        report: Some(bundle.with_extension("md")),
        timeout: Duration::from_secs(10),
        accept: accept.iter().map(|a| Resolution::parse(a).unwrap()).collect(),
    }
}

#[test]
fn a_bundle_with_five_differences_gets_one_report_naming_all_five_and_writes_nothing() {
    let dir = repository();
    let bundle = dir.path().join("bundle.yaml");
    std::fs::write(&bundle, bundle_with_five_differences()).unwrap();
    let before = std::fs::read_to_string(dir.path().join("openapi/hero-public-api.yaml")).unwrap();
    let repo = Repo::new(Some(dir.path().to_path_buf()));

    let Err(XtaskError::Undecided(list)) = commands::update_spec(&repo, &options(&bundle, &[])) else { panic!("must refuse") };
    assert_eq!(list.len(), 5, "{list:#?}");
    for needle in [
        "removed: GET /v1/invoicing/coupons",
        "removed: GET /v1/forms ",
        "ambiguous: PATCH /v1/admins/{id} is not in the bundle, and POST /v1/admins/{id} or PUT /v1/admins/{id} could be it",
        "schema pin Appointment (at `GET /v1/appointments/{id} -> 200`) leads to an inline schema, and another schema is already called Appointment",
        "schema pin LinkStatus (at `GET /v1/links/status -> 200`)",
    ] {
        assert!(list.iter().any(|d| d.contains(needle)), "{needle}: {list:#?}");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("openapi/hero-public-api.yaml")).unwrap(), before, "nothing written");
    let report = std::fs::read_to_string(bundle.with_extension("md")).unwrap();
    assert!(report.contains("5 undecided"), "{report}");
    assert!(report.contains("Accept: `--accept 'follow=PATCH /v1/admins/{id} -> POST /v1/admins/{id}'`"), "{report}");
    assert!(report.contains("`--accept 'rename-schema=Appointment -> <OtherName>'`"), "{report}");
}

#[test]
fn once_each_difference_is_decided_the_document_is_written_and_the_decisions_kept() {
    let dir = repository();
    let bundle = dir.path().join("bundle.yaml");
    std::fs::write(&bundle, bundle_with_five_differences()).unwrap();
    let repo = Repo::new(Some(dir.path().to_path_buf()));
    let accept = [
        "drop-removed",
        "follow=PATCH /v1/admins/{id} -> PUT /v1/admins/{id}",
        "rename-schema=Appointment -> AppointmentSummary",
        "drop-schema-pin=LinkStatus",
    ];
    commands::update_spec(&repo, &options(&bundle, &accept)).unwrap();
    let written = std::fs::read_to_string(dir.path().join("openapi/hero-public-api.yaml")).unwrap();
    assert!(
        written.contains("/v1/admins/{id}:\n    put:") || written.contains("    put:\n      operationId: updateAdmin"),
        "followed to PUT"
    );
    assert!(written.contains("    AppointmentSummary:"), "the bundle's component made room");
    assert!(!written.contains("/v1/invoicing/coupons:\n    get:"), "dropped");
    let kept = std::fs::read_to_string(dir.path().join(ACCEPTED_PATH)).unwrap();
    for line in
        ["drop-removed=GET /v1/invoicing/coupons", "drop-removed=GET /v1/forms", "follow=PATCH /v1/admins/{id} -> PUT /v1/admins/{id}"]
    {
        assert!(kept.contains(line), "kept by name: {kept}");
    }
    assert!(!kept.contains("accept: drop-removed\n"), "a blanket decision is kept as the removals it decided: {kept}");
    let report = std::fs::read_to_string(bundle.with_extension("md")).unwrap();
    assert!(report.contains("0 undecided") && report.contains("removed (accepted): GET /v1/forms"), "{report}");
    assert!(report.contains("method `list_coupons()` is no longer generated"), "{report}");
    assert!(report.contains("type `ListFormsFormType` is no longer generated"), "the removed operation's types: {report}");
    assert!(!report.contains("type `Appointment` is no longer"), "the pin kept its name: {report}");

    // `apply` rebuilds the same document from upstream + overlay + the kept decisions.
    commands::apply(&repo).unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("openapi/hero-public-api.yaml")).unwrap(), written);
}
