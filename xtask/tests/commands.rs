//! `cargo xtask update-spec`, `check` and `surface` end to end: the real binary against a local
//! HTTP server on 127.0.0.1 serving fixtures (good, broken, slow and cut-off answers) and a
//! throwaway repository. Every failure must be a one-line error and leave `openapi/` untouched.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use xtask::codegen;
use xtask::effective::load;
use xtask::normalise::render;

const RULES_31: &str = include_str!("fixtures/rules-3.1.yaml");
const V1: &str = include_str!("fixtures/api-v1.yaml");
const V2: &str = include_str!("fixtures/api-v2.yaml");

/// A document that normalising cannot save: progenitor has no cookie parameters.
const UNFIXABLE: &str = "openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /v1/things:
    get:
      operationId: listThings
      parameters:
      - {name: session, in: cookie, schema: {type: string}}
      responses:
        '200': {description: ok}
";

/// Serves the fixtures; returns the base URL. Threads live until the test process ends.
fn fixture_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    base
}

fn answer(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let json_v2 = serde_json::to_string_pretty(&yaml_serde::from_str::<serde_json::Value>(V2).unwrap()).unwrap();
    let (status, content_type, body): (&str, &str, String) = match path.as_str() {
        "/v31.yaml" => ("200 OK", "application/yaml", RULES_31.into()),
        "/v2.json" => ("200 OK", "application/json", json_v2),
        "/broken.yaml" => ("200 OK", "application/yaml", "openapi: 3.0.3\npaths: [unclosed\n  - {\n".into()),
        "/page.html" => ("200 OK", "text/html", "<!DOCTYPE html>\n<html><body>Sign in</body></html>".into()),
        "/not-openapi.yaml" => ("200 OK", "application/yaml", "title: a YAML file\nitems: [1, 2]\n".into()),
        "/no-operations.yaml" => ("200 OK", "application/yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n".into()),
        "/unfixable.yaml" => ("200 OK", "application/yaml", UNFIXABLE.into()),
        "/empty.yaml" => ("200 OK", "application/yaml", String::new()),
        "/error" => ("500 Internal Server Error", "text/plain", "boom".into()),
        "/stall" => {
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        "/endless" => {
            // A body that never ends (bounded at 64 MiB here, and by the client hanging up).
            let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-type: application/yaml\r\nconnection: close\r\n\r\nopenapi: 3.0.3\n");
            let chunk = format!("# {}\n", "x".repeat(64 * 1024));
            for _ in 0..1024 {
                if stream.write_all(chunk.as_bytes()).is_err() {
                    return;
                }
            }
            return;
        }
        "/announced-huge" => {
            let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-type: application/yaml\r\ncontent-length: 50000000\r\n\r\nopenapi: 3.0.3\n");
            return;
        }
        "/truncated" => {
            // Announce the whole document, send a third of it, hang up.
            let cut = &RULES_31[..RULES_31.len() / 3];
            let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-type: application/yaml\r\ncontent-length: {}\r\n\r\n{cut}", RULES_31.len());
            return;
        }
        _ => ("404 Not Found", "text/plain", "not here".into()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A throwaway repository: the v1 document committed, and a `src/` that calls `get_appointment`.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("openapi")).unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join(codegen::SPEC_PATH), V1).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "fn f(c: &Client) { c.get_appointment(); }\n").unwrap();
        Repo { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn spec(&self) -> String {
        std::fs::read_to_string(self.path().join(codegen::SPEC_PATH)).unwrap()
    }
    /// Names in `openapi/`: a leftover temporary file would show here.
    fn openapi_dir(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join("openapi"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
    fn xtask(&self, args: &[&str]) -> Output {
        xtask(Some(self.path()), args)
    }
}

fn xtask(root: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.env_remove("HERO_XTASK_ROOT");
    if let Some(root) = root {
        command.arg("--root").arg(root);
    }
    command.args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `update-spec --from <from>`, expects a one-line error containing `expected`, and checks
/// that `openapi/` holds exactly what it held before.
fn fails_cleanly(from: &str, expected: &str) {
    let repo = Repo::new();
    let output = repo.xtask(&["update-spec", "--from", from, "--timeout", "2"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{from}: {err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{from}: one error line expected: {err}");
    assert!(errors[0].contains(expected), "{from}: expected `{expected}` in: {}", errors[0]);
    assert!(err.trim_end().ends_with(errors[0]), "{from}: the error is the last thing printed, on one line: {err}");
    assert_eq!(repo.spec(), V1, "{from}: openapi/ must be untouched");
    assert_eq!(repo.openapi_dir(), ["hero-public-api.yaml"], "{from}: no temporary file left behind");
}

#[test]
fn a_31_document_is_normalised_checked_and_written() {
    let base = fixture_server();
    let repo = Repo::new();
    let report = repo.path().join("drift.md");
    let output = repo.xtask(&["update-spec", "--from", &format!("{base}/v31.yaml"), "--report", report.to_str().unwrap()]);
    let (out, err) = (stdout(&output), stderr(&output));
    assert!(output.status.success(), "{err}");
    assert!(err.contains("downloading http://127.0.0.1:"), "progress line: {err}");
    assert!(err.contains("warning: [type-array] #/components/schemas/Problem/properties/detail"), "{err}");
    assert!(err.contains("warning: [error-shape] createAppointment: merged 2 error body shapes"), "{err}");
    assert!(out.contains("Next: `cargo insta review`"), "{out}");
    let written = repo.spec();
    assert_eq!(written, render(&load(RULES_31, "fixture").unwrap().document), "the normalised text is what is written");
    assert!(load(&written, "written").unwrap().changes.is_empty(), "what is written is already normalised");
    let report = std::fs::read_to_string(report).unwrap();
    assert!(report.starts_with("# Hero Health API update: 1.0.0 → 2.0.0"), "{report}");
    assert!(report.contains("## Normalisation (56 change(s))"), "{report}");
    assert!(report.contains("- **removed** `getAppointment`") || report.contains("- **changed** `getAppointment`"), "{report}");
    assert_eq!(repo.openapi_dir(), ["hero-public-api.yaml", "upstream.yaml"]);
    let upstream = std::fs::read_to_string(repo.path().join("openapi/upstream.yaml")).unwrap();
    assert_eq!(upstream, RULES_31, "upstream.yaml is the download, verbatim");
}

#[test]
fn a_30_json_document_reports_breaking_changes_and_a_rerun_changes_nothing() {
    let base = fixture_server();
    let repo = Repo::new();
    let from = format!("{base}/v2.json");
    let output = repo.xtask(&["update-spec", "--from", &from]);
    let out = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(out.contains("**1 breaking for the hand-written layer**"), "{out}");
    assert!(out.contains("- **changed** `getAppointment` (GET /v1/appointments/{id}) — called as `.get_appointment()`"), "{out}");
    let first = repo.spec();

    let again = repo.xtask(&["update-spec", "--from", &from]);
    assert!(again.status.success());
    assert!(stdout(&again).contains("already up to date"), "{}", stdout(&again));
    assert!(stdout(&again).contains("No operation changed."));
    assert_eq!(repo.spec(), first);
}

#[test]
fn an_endless_or_oversized_download_is_refused_at_the_limit() {
    let base = fixture_server();
    fails_cleanly(&format!("{base}/endless"), "is larger than 4 MiB");
    fails_cleanly(&format!("{base}/announced-huge"), "is larger than 4 MiB");
}

#[test]
fn a_local_file_works_and_a_missing_one_is_a_clear_error() {
    let repo = Repo::new();
    let file = repo.path().join("bundle.yaml");
    std::fs::write(&file, V2).unwrap();
    let output = repo.xtask(&["update-spec", "--from", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(repo.spec().contains("version: 2.0.0"));

    fails_cleanly("/no/such/bundle.yaml", "cannot read /no/such/bundle.yaml");
}

#[test]
fn http_errors_leave_the_repository_untouched() {
    let base = fixture_server();
    fails_cleanly(&format!("{base}/gone.yaml"), "answered HTTP 404 Not Found; the bundle may have moved");
    fails_cleanly(&format!("{base}/error"), "answered HTTP 500 Internal Server Error; a server-side problem: try again later");
}

#[test]
fn wrong_content_leaves_the_repository_untouched() {
    let base = fixture_server();
    fails_cleanly(&format!("{base}/page.html"), "is an HTML page, not an OpenAPI document");
    fails_cleanly(&format!("{base}/broken.yaml"), "is not valid YAML or JSON");
    fails_cleanly(&format!("{base}/not-openapi.yaml"), "it is not an OpenAPI document (no `openapi: 3.x` version field)");
    fails_cleanly(&format!("{base}/empty.yaml"), "is empty");
    fails_cleanly(&format!("{base}/no-operations.yaml"), "describes no operation");
}

#[test]
fn a_cut_off_download_leaves_the_repository_untouched() {
    let base = fixture_server();
    let total = RULES_31.len();
    fails_cleanly(&format!("{base}/truncated"), &format!("was cut off after {} bytes of {total}", total / 3));
}

#[test]
fn a_stalled_server_times_out() {
    let base = fixture_server();
    let repo = Repo::new();
    let output = repo.xtask(&["update-spec", "--from", &format!("{base}/stall"), "--timeout", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no complete answer from") && stderr(&output).contains("within 1 s; try again, raise --timeout"),
        "{}",
        stderr(&output)
    );
    assert_eq!(repo.spec(), V1);
}

#[test]
fn an_unreachable_host_says_so() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    fails_cleanly(&format!("http://127.0.0.1:{port}/openapi.yaml"), "cannot reach 127.0.0.1");
}

#[test]
fn a_document_normalising_cannot_save_names_the_operation() {
    let base = fixture_server();
    let repo = Repo::new();
    let output = repo.xtask(&["update-spec", "--from", &format!("{base}/unfixable.yaml")]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(err.contains("even normalised, cannot be generated from; nothing was written"), "{err}");
    assert!(err.contains("listThings: cookie parameter `session` is not supported by progenitor"), "{err}");
    assert_eq!(repo.spec(), V1);
}

/// Writes an insta snapshot file the way `tests/generated_surface.rs` would.
fn write_snapshot(repo: &Repo, name: &str, body: &str) {
    let path: PathBuf = repo.path().join(format!("tests/snapshots/generated_surface__{name}.snap"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("---\nsource: tests/generated_surface.rs\nexpression: X\n---\n{body}\n")).unwrap();
}

#[test]
fn check_fails_with_a_diff_when_the_document_is_not_normalised() {
    // The v1 fixture as written: comments, flow style, no header, and plain-string booking ids
    // the `hero-id` convention types as `Id`.
    let repo = Repo::new();
    let output = repo.xtask(&["check"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(out.contains("FAILED: openapi/hero-public-api.yaml is not normalised (7 rule change(s))"), "{out}");
    assert!(out.contains("+# Hero Health Public API, normalised for progenitor"), "a diff: {out}");
    assert!(out.contains("FAILED: cannot read") && out.contains("generated_surface__surface.snap"), "{out}");
}

#[test]
fn check_fails_with_a_diff_when_a_snapshot_is_stale() {
    let repo = Repo::new();
    let v2 = render(&load(V2, "v2").unwrap().document);
    std::fs::write(repo.path().join(codegen::SPEC_PATH), &v2).unwrap();
    let current = codegen::generate(&codegen::parse(&v2).unwrap()).unwrap();
    let old = codegen::generate(&codegen::parse(V1).unwrap()).unwrap();
    write_snapshot(&repo, "surface", &old.surface);
    write_snapshot(&repo, "codegen", &xtask::pretty::code(&current.code).unwrap());
    let output = repo.xtask(&["check"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("ok: openapi/hero-public-api.yaml is normalised"), "{out}");
    assert!(out.contains("FAILED: tests/snapshots/generated_surface__surface.snap is out of date"), "{out}");
    assert!(out.contains("+GET /v1/locations -> list_locations ->"), "the diff names the new operation: {out}");
    assert!(out.contains("ok: tests/snapshots/generated_surface__codegen.snap is current"), "{out}");
    assert!(stderr(&output).contains("error: cargo xtask check found 1 problem(s)"));

    write_snapshot(&repo, "surface", &current.surface);
    let fixed = repo.xtask(&["check"]);
    assert!(fixed.status.success(), "{}", stdout(&fixed));
}

#[test]
fn the_committed_repository_passes_check_and_surface_matches_its_snapshot() {
    let output = xtask(None, &["check"]);
    assert!(output.status.success(), "{}", stdout(&output));
    let surface = xtask(None, &["surface"]);
    assert!(surface.status.success());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let snapshot = std::fs::read_to_string(root.join("tests/snapshots/generated_surface__surface.snap")).unwrap();
    assert!(snapshot.trim_end().ends_with(stdout(&surface).trim_end()), "surface prints the snapshot's listing");
    assert_eq!(stdout(&surface).lines().count(), 69);
    assert!(
        stdout(&output).contains("ok: openapi/hero-public-api.yaml is what openapi/upstream.yaml + openapi/overlay.yaml give"),
        "{}",
        stdout(&output)
    );
}

/// With an overlay: an operation the overlay pins that is nowhere in the bundle is a difference
/// to decide, reported with its `--accept`, and nothing on disk changes; `check` and `apply`
/// keep the effective document in step.
#[test]
fn a_vanished_pin_stops_update_spec_and_apply_rebuilds_after_an_overlay_edit() {
    let repo = Repo::new();
    let overlay = "overlay: 1.0.0
info: {title: t, version: '1'}
actions:
- target: $.paths['/v1/appointments/{id}'].get
  description: 'pin: get_appointment()'
  x-hero-kind: pin
  update: {operationId: getAppointment}
";
    std::fs::write(repo.path().join("openapi/overlay.yaml"), overlay).unwrap();
    let moved = repo.path().join("moved.yaml");
    std::fs::write(&moved, V1.replace("/v1/appointments/{id}:", "/v2/appointments/{id}:")).unwrap();
    let output = repo.xtask(&["update-spec", "--from", moved.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("removed: GET /v1/appointments/{id} is not in the bundle"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(stdout(&output).contains("Accept: `--accept 'drop-removed=GET /v1/appointments/{id}'`"), "{}", stdout(&output));
    assert_eq!(repo.spec(), V1);
    assert_eq!(repo.openapi_dir(), ["hero-public-api.yaml", "overlay.yaml"]);

    // The published document as upstream: the pin holds, check agrees, and an overlay edit
    // makes check fail until `apply` rebuilds the effective document.
    let same = repo.path().join("v1.yaml");
    std::fs::write(&same, V1).unwrap();
    assert!(repo.xtask(&["update-spec", "--from", same.to_str().unwrap()]).status.success());
    let renamed = overlay.replace("operationId: getAppointment", "operationId: fetchAppointment");
    std::fs::write(repo.path().join("openapi/overlay.yaml"), renamed).unwrap();
    let check = repo.xtask(&["check"]);
    assert!(
        stdout(&check).contains("FAILED: openapi/hero-public-api.yaml is not what openapi/upstream.yaml + openapi/overlay.yaml give"),
        "{}",
        stdout(&check)
    );
    assert!(stdout(&check).contains("fix: cargo xtask apply"));
    let apply = repo.xtask(&["apply"]);
    assert!(apply.status.success(), "{}", stderr(&apply));
    assert!(repo.spec().contains("operationId: fetchAppointment"));
    assert!(
        stdout(&repo.xtask(&["check"]))
            .contains("ok: openapi/hero-public-api.yaml is what openapi/upstream.yaml + openapi/overlay.yaml give")
    );
}
