//! `cargo xtask probe` against the crate's mock server: what it calls (reads only), what it
//! finds when the mock's answers deviate from the document (each kind of difference: [`deviate`],
//! through the mock's public `with_answer_rewrite`), that its proposed overlay makes a second run
//! clean, and that no value from the answers reaches its files or its output.

use std::path::{Path, PathBuf};
use std::process::Command;

use hero_health::mock::{MockHero, MockHeroBuilder};
use serde_json::{Map, Value};
use xtask::probe::compare::Difference;

/// A mock whose answers differ from the document once in each way a real server can: an
/// undocumented status (`GET /v1/me` answers 202), a field the document does not describe, a
/// required field missing and an unlisted enum value (the appointment types), a non-numeric id
/// (the locations), a null the document does not allow (the practitioners' `first_name`), a type
/// it does not say and a date-time that does not parse (the slots). The booking flow does not
/// work on it.
fn deviant() -> MockHeroBuilder {
    MockHero::builder().with_answer_rewrite(deviate)
}

/// The kinds of difference, one per operation, as the tests below expect them.
fn deviate(operation: &str, status: &mut u16, body: &mut Option<Value>) {
    let items = |body: &mut Option<Value>, each: &dyn Fn(&mut Map<String, Value>)| {
        for item in body.as_mut().and_then(|b| b.get_mut("data")).and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(item) = item.as_object_mut() {
                each(item);
            }
        }
    };
    match operation {
        "listAppointmentTypes" => items(body, &|t| {
            t.insert("sector".into(), "private_plus".into());
            t.insert("colour".into(), "blue".into());
            t.remove("name");
        }),
        "listLocations" => items(body, &|l| {
            let id = l.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
            l.insert("id".into(), format!("LOC-{id}").into());
        }),
        "listPractitioners" => items(body, &|p| {
            p.insert("first_name".into(), Value::Null);
        }),
        "listSlots" => {
            items(body, &|s| {
                s.insert("start_time".into(), "tomorrow at nine".into());
            });
            if let Some(count) = body.as_mut().and_then(|b| b.get_mut("count")) {
                *count = Value::String(count.to_string());
            }
        }
        "getPracticeGroup" => *status = 202,
        _ => {}
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn document() -> PathBuf {
    root().join("openapi/hero-public-api.yaml")
}

/// Runs the xtask binary's `probe` against `hero`; its stdout, stderr and output files.
fn probe(hero: &MockHero, document: &Path, dir: &Path) -> (String, String, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["probe", "--document", document.to_str().unwrap(), "--report", "report.md", "--overlay", "overlay.yaml"])
        .env("HERO_XTASK_ROOT", dir)
        .env("HERO_BASE_URL", hero.url())
        .env("HERO_API_KEY", hero.api_key())
        .env("HERO_PRACTICE_GROUP_ID", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned());
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    (stdout, stderr, read("report.md"), read("overlay.yaml"))
}

fn options(hero: &MockHero, document: PathBuf) -> xtask::probe::ProbeOptions {
    xtask::probe::ProbeOptions {
        document,
        base_url: hero.url(),
        api_key: hero.api_key().to_owned(),
        practice_group_id: "1".into(),
        max_requests: 60,
        page_size: 5,
        max_answer_bytes: xtask::probe::DEFAULT_MAX_ANSWER_BYTES,
        time_budget: xtask::probe::DEFAULT_TIME_BUDGET,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_probe_finds_each_kind_of_difference_and_its_overlay_makes_a_second_run_clean() {
    let hero = deviant().start().await.unwrap();
    let first = tokio::task::spawn_blocking({
        let options = options(&hero, document());
        move || xtask::probe::run(&options).unwrap()
    })
    .await
    .unwrap();

    let kinds: Vec<(&str, &str, &Difference)> =
        first.findings.iter().map(|f| (f.operation.as_str(), f.field.as_str(), &f.difference)).collect();
    let has = |operation: &str, wanted: &dyn Fn(&Difference) -> bool| kinds.iter().any(|(op, _, d)| *op == operation && wanted(d));
    assert!(has("getPracticeGroup", &|d| matches!(d, Difference::UndocumentedStatus { status: 202 })), "{kinds:#?}");
    // A name or value the document does not know is a token (it could be data), never its text.
    let colour = xtask::probe::compare::token("field", "colour");
    let private_plus = xtask::probe::compare::token("value", "private_plus");
    assert!(
        has("listAppointmentTypes", &|d| matches!(d, Difference::UnknownField { name, json_type: "string" } if *name == colour)),
        "{kinds:#?}"
    );
    assert!(has("listAppointmentTypes", &|d| matches!(d, Difference::MissingRequired { name } if name == "name")), "{kinds:#?}");
    assert!(has("listAppointmentTypes", &|d| matches!(d, Difference::EnumValue { value } if *value == private_plus)), "{kinds:#?}");
    assert!(has("listLocations", &|d| matches!(d, Difference::IdPattern)), "{kinds:#?}");
    assert!(has("listPractitioners", &|d| matches!(d, Difference::UnexpectedNull)), "{kinds:#?}");
    assert!(has("listSlots", &|d| matches!(d, Difference::TypeDiffers { observed: "string", .. })), "{kinds:#?}");
    assert!(has("listSlots", &|d| matches!(d, Difference::BadFormat { format } if format == "date-time")), "{kinds:#?}");
    assert_eq!(first.findings.len(), 8, "nothing else differs: {kinds:#?}");

    // Reads only: the mock saw GETs and nothing else, and reads by id used ids from lists.
    let requests = hero.requests();
    assert!(requests.iter().all(|r| r.method == "GET"), "{requests:#?}");
    assert!(first.probed.iter().any(|p| p.operation == "getPractitioner"), "a read by id, with an id from the list");
    assert!(first.skipped.iter().any(|(op, why)| op == "createAppointment" && why.contains("never sends a write")));

    // As a reviewer accepts the findings: the proposed actions go at the end of a copy of
    // openapi/overlay.yaml, `cargo xtask apply` rebuilds the effective document (and generates
    // from it), and a second run against the same server is clean.
    let yaml: yaml_serde::Value = yaml_serde::from_str(&std::fs::read_to_string(document()).unwrap()).unwrap();
    let proposed = xtask::probe::propose::overlay(&first.findings, &serde_json::to_value(&yaml).unwrap());
    let accepted = proposed.split_once("\nactions:\n").expect("the proposal lists actions").1;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("openapi")).unwrap();
    std::fs::copy(root().join("openapi/upstream.yaml"), dir.path().join("openapi/upstream.yaml")).unwrap();
    let overlay = std::fs::read_to_string(root().join("openapi/overlay.yaml")).unwrap();
    std::fs::write(dir.path().join("openapi/overlay.yaml"), format!("{}\n{accepted}", overlay.trim_end())).unwrap();
    let apply = Command::new(env!("CARGO_BIN_EXE_xtask")).arg("apply").env("HERO_XTASK_ROOT", dir.path()).output().unwrap();
    assert!(apply.status.success(), "{}", String::from_utf8_lossy(&apply.stderr));
    let path = dir.path().join("openapi/hero-public-api.yaml");
    let second = tokio::task::spawn_blocking({
        let options = options(&hero, path);
        move || xtask::probe::run(&options).unwrap()
    })
    .await
    .unwrap();
    // What is left is what the probe would not name: the maintainer describes it after looking.
    let left: Vec<&Difference> = second.findings.iter().map(|f| &f.difference).collect();
    assert_eq!(
        left,
        [&Difference::UnknownField { name: colour, json_type: "string" }, &Difference::EnumValue { value: private_plus }],
        "{:#?}",
        second.findings
    );
}

/// Every string the mock answered that is not a word of the document itself (field names,
/// enum values, type names): names, dates, ids, free text.
fn answered_values(hero_url: &str, api_key: &str, paths: &[&str]) -> Vec<String> {
    let answers = fetch_answers(hero_url, api_key, paths);
    let document = std::fs::read_to_string(document()).unwrap();
    let mut values = Vec::new();
    fn walk(value: &Value, into: &mut Vec<String>) {
        match value {
            Value::String(s) => into.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| walk(v, into)),
            Value::Object(map) => map.values().for_each(|v| walk(v, into)),
            _ => {}
        }
    }
    for body in answers {
        walk(&body, &mut values);
    }
    values.retain(|v| v.len() >= 3 && !document.contains(v.as_str()));
    values.sort();
    values.dedup();
    values
}

/// The answers themselves, fetched with a plain client for the test's own comparison.
fn fetch_answers(base: &str, key: &str, paths: &[&str]) -> Vec<Value> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut out = Vec::new();
        for path in paths {
            let answer =
                client.get(format!("{base}{path}")).header("x-api-key", key).header("x-practice-group-id", "1").send().await.unwrap();
            out.push(answer.json().await.unwrap_or(Value::Null));
        }
        out
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn no_value_from_the_answers_reaches_the_report_the_overlay_or_the_output() {
    // A start the test picks: the slots' times (patient-adjacent values the check must cover)
    // begin with its year, whatever the year the test runs in.
    let start: chrono::DateTime<chrono::Utc> = "2031-06-03T07:00:00Z".parse().unwrap();
    let hero = deviant().with_start(start).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (url, key) = (hero.url(), hero.api_key().to_owned());
    let values = tokio::task::spawn_blocking(move || {
        answered_values(
            &url,
            &key,
            &[
                "/v1/appointment_types",
                "/v1/locations",
                "/v1/practitioners",
                "/v1/practitioners/11",
                "/v1/slots?page_index=0&page_size=5",
                "/v1/me",
                "/v1/admins",
            ],
        )
    })
    .await
    .unwrap();
    for expected in ["Okafor", "Riverside Surgery", "GP consultation", "LOC-1", "tomorrow at nine", "blue", "2031-06-03"] {
        assert!(values.iter().any(|v| v.starts_with(expected)), "the check covers `{expected}`: {values:?}");
    }

    let (stdout, stderr, report, overlay) = {
        let document = document();
        let path = dir.path().to_path_buf();
        let hero = &hero;
        tokio::task::block_in_place(|| probe(hero, &document, &path))
    };

    assert!(report.contains("difference(s) from the document") && overlay.contains("actions:"), "{report}\n{overlay}");
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr), ("report", &report), ("overlay", &overlay)] {
        for value in &values {
            assert!(!text.contains(value.as_str()), "{name} holds a value from an answer ({} characters)", value.len());
        }
        assert!(!text.contains(hero.api_key()), "{name} holds the API key");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_credentials_stop_the_probe_with_a_summary() {
    let hero = MockHero::start().await.unwrap();
    let mut options = options(&hero, document());
    options.api_key = "wrong-key".into();
    let error = tokio::task::spawn_blocking(move || xtask::probe::run(&options).unwrap_err()).await.unwrap().to_string();
    assert!(error.contains("credentials were refused (HTTP 401") && error.contains("Nothing else was called"), "{error}");
    assert_eq!(hero.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_request_budget_is_kept() {
    let hero = MockHero::start().await.unwrap();
    let mut options = options(&hero, document());
    options.max_requests = 3;
    let run = tokio::task::spawn_blocking(move || xtask::probe::run(&options).unwrap()).await.unwrap();
    assert_eq!(hero.requests().len(), 3);
    assert_eq!(run.requests, 3);
    assert!(run.skipped.iter().any(|(_, why)| why.contains("--max-requests budget (3)")));
}

/// The options' Debug (what a `dbg!` or an error report would print) holds no API key.
#[tokio::test]
async fn the_options_debug_holds_no_api_key() {
    let hero = MockHero::start().await.unwrap();
    let options = options(&hero, PathBuf::from("openapi/hero-public-api.yaml"));
    let debug = format!("{options:?}");
    assert!(!debug.contains(hero.api_key()) && debug.contains("[redacted]"), "{debug}");
}

/// An answer as a hostile world writes one: a map keyed by NHS numbers, a new field whose name
/// carries a Markdown heading and a link, a surname where an enum value goes.
fn hostile_types() -> String {
    serde_json::json!({ "data": [{
        "id": "12", "name": "GP", "duration": 10, "sector": "Okafor",
        "9434765919": "x",
        "colour\n\n# Injected heading\n[a link](https://evil.example)": "y",
    }]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn names_keys_and_values_from_answers_never_reach_the_files_and_markdown_cannot_be_injected() {
    use hero_health::mock::{Fault, FaultKind};
    let hero = MockHero::start().await.unwrap();
    hero.inject(Fault::on("listAppointmentTypes", FaultKind::Answer { status: 200, body: hostile_types() })).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (stdout, stderr, report, overlay) = {
        let (document, path, hero) = (document(), dir.path().to_path_buf(), &hero);
        tokio::task::block_in_place(|| probe(hero, &document, &path))
    };
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr), ("report", &report), ("overlay", &overlay)] {
        for planted in ["9434765919", "Okafor", "Injected", "evil.example", "colour"] {
            assert!(!text.contains(planted), "{name} holds {planted:?} from an answer");
        }
    }
    assert!(report.contains("‹field ") && report.contains("‹value "), "reported by token: {report}");
    assert!(report.lines().filter(|l| l.starts_with('#')).all(|l| l.starts_with("# Hero Health API probe") || l.starts_with("## ")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_answer_is_not_read_and_a_long_wait_stops_at_the_time_budget() {
    use hero_health::mock::{Fault, FaultKind};
    let hero = MockHero::start().await.unwrap();
    // 8 MiB where the limit is 1 MiB (the figure for 1 GB is in the closing note: it is never
    // held in memory either way).
    let huge = format!(r#"{{"data": [], "padding": "{}"}}"#, "x".repeat(8 << 20));
    hero.inject(Fault::on("listAppointmentTypes", FaultKind::Answer { status: 200, body: huge })).unwrap();
    hero.inject(Fault::on("listLocations", FaultKind::RateLimited { retry_after_secs: 60 })).unwrap();
    let mut options = options(&hero, document());
    options.max_answer_bytes = 1 << 20;
    options.time_budget = std::time::Duration::from_secs(20);
    let run = tokio::task::spawn_blocking(move || xtask::probe::run(&options).unwrap()).await.unwrap();
    let outcome = |operation: &str| run.probed.iter().find(|p| p.operation == operation).map(|p| p.outcome.clone());
    assert!(outcome("listAppointmentTypes").unwrap().contains("--max-answer-bytes"), "{:#?}", run.probed);
    assert!(outcome("listLocations").unwrap().contains("past the time budget"), "{:#?}", run.probed);
}
