//! Liberal in what the client accepts: answers Hero's published document
//! (`openapi/upstream.yaml`, verbatim as Hero publishes it) allows decode into the generated
//! types, nothing is lost on the way (written back, the decoded answer is what was sent), and
//! each `Lenient` field parsed exactly when its value is one of the stronger type.
//!
//! What is generated: every success answer upstream describes, 48 per operation on a fixed seed,
//! with absent optional fields, nulls where nullable, arbitrary strings where no format is
//! published, and integers, `15.0` and fractions where a number is. Not generated: properties
//! the schema does not list (the generated types drop them), numbers beyond ±2·10⁶, error
//! bodies and webhook payloads.
//!
//! The answers are generated from upstream's schemas, not from ours: our document is what
//! decodes them, so generating from it would test it against itself. Where upstream is silent
//! about a part of an answer (`{}`, a bare `type: object`) the generator follows our overlay's
//! inference for that part (marked `x-hero-inferred`); operations whose whole answer upstream
//! leaves silent are listed, not generated (Hero's document does not describe them).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use hero_health::LenientOption as _;
use hero_health::mock::{Fault, FaultKind, MockHero, decode_answer};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};

const UPSTREAM: &str = include_str!("../../openapi/upstream.yaml");
const EFFECTIVE: &str = include_str!("../../openapi/hero-public-api.yaml");

/// How many answers each operation gets.
const CASES: u32 = 48;

fn document(text: &str) -> Value {
    yaml_serde::from_str(text).unwrap()
}

/// `schema` with local `$ref`s followed.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else { break };
        let pointer = reference.trim_start_matches('#');
        schema = doc.pointer(pointer).unwrap_or(&Value::Null);
    }
    schema
}

/// `allOf` folded into one schema (properties and required lists joined), refs followed.
fn merged(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    let Some(parts) = schema.get("allOf").and_then(Value::as_array) else { return schema.clone() };
    let mut out = schema.as_object().cloned().unwrap_or_default();
    out.remove("allOf");
    for part in parts {
        let Value::Object(part) = merged(doc, part) else { continue };
        for (key, value) in part {
            match (key.as_str(), out.get_mut(&key)) {
                ("properties", Some(Value::Object(mine))) => mine.extend(value.as_object().cloned().unwrap_or_default()),
                ("required", Some(Value::Array(mine))) => mine.extend(value.as_array().cloned().unwrap_or_default()),
                (_, Some(_)) => {}
                (_, None) => {
                    out.insert(key, value);
                }
            }
        }
    }
    Value::Object(out)
}

/// A schema that says nothing about the shape of a value: `{}` or a bare `type: object`.
fn silent(schema: &Value) -> bool {
    let Some(map) = schema.as_object() else { return true };
    let shaping = ["properties", "items", "allOf", "oneOf", "anyOf", "enum", "additionalProperties"];
    !shaping.iter().any(|k| map.contains_key(*k)) && matches!(map.get("type").and_then(Value::as_str), None | Some("object"))
}

fn arbitrary_string() -> BoxedStrategy<String> {
    prop_oneof![
        // What Hero's docs mock answers, and what real servers send for "not set" or in another
        // format than the one we infer.
        Just("string".to_owned()),
        Just(String::new()),
        Just("2026-12-01".to_owned()),
        Just("2026-12-01T09:30:00".to_owned()),
        Just("1764581400".to_owned()),
        proptest::collection::vec(any::<char>(), 0..16).prop_map(String::from_iter),
    ]
    .boxed()
}

fn date_time() -> BoxedStrategy<String> {
    (0_i64..4_102_444_800, -12_i32..14, any::<bool>())
        .prop_map(|(secs, hours, zulu)| {
            let at = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            if zulu {
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            } else {
                at.with_timezone(&chrono::FixedOffset::east_opt(hours * 3600).unwrap()).to_rfc3339()
            }
        })
        .boxed()
}

fn number(integer: bool, minimum: Option<f64>) -> BoxedStrategy<Value> {
    let low = minimum.map_or(-1_000_000, |m| m.ceil() as i64);
    let whole = (low..low + 2_000_000).prop_map(Value::from);
    // `15.0`: a whole number written as a float (JSON Schema counts it an integer too).
    let float_whole = (low..low + 2_000_000).prop_map(|n| json!(n as f64));
    if integer {
        return prop_oneof![whole, float_whole].boxed();
    }
    prop_oneof![whole, float_whole, (low as f64..low as f64 + 2e6).prop_map(|f| json!(f)),].boxed()
}

/// Answers `schema` (of `upstream`) allows. `ours` is our document's schema at the same place,
/// followed where upstream is silent.
fn answers(upstream: &Value, schema: &Value, effective: &Value, ours: Option<&Value>, depth: usize) -> BoxedStrategy<Value> {
    let schema = merged(upstream, schema);
    let ours = ours.map(|o| merged(effective, o));
    if silent(&schema) {
        return match ours {
            Some(ours) if !silent(&ours) => answers(effective, &ours, effective, Some(&ours), depth),
            _ if schema.get("type").and_then(Value::as_str) == Some("object") => Just(json!({})).boxed(),
            _ => prop_oneof![Just(Value::Null), arbitrary_string().prop_map(Value::from), any::<bool>().prop_map(Value::from)].boxed(),
        };
    }
    let strategy = shaped(upstream, &schema, effective, ours.as_ref(), depth);
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        prop_oneof![1 => Just(Value::Null), 4 => strategy].boxed()
    } else {
        strategy
    }
}

fn shaped(upstream: &Value, schema: &Value, effective: &Value, ours: Option<&Value>, depth: usize) -> BoxedStrategy<Value> {
    if depth > 8 {
        return Just(Value::Null).boxed();
    }
    for union in ["oneOf", "anyOf"] {
        if let Some(branches) = schema.get(union).and_then(Value::as_array) {
            let theirs = ours.and_then(|o| o.get(union)).and_then(Value::as_array);
            let options: Vec<BoxedStrategy<Value>> = branches
                .iter()
                .enumerate()
                .map(|(i, b)| answers(upstream, b, effective, theirs.and_then(|t| t.get(i)), depth + 1))
                .collect();
            return proptest::strategy::Union::new(options).boxed();
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return proptest::sample::select(values.clone()).boxed();
    }
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or(if schema.get("items").is_some() { "array" } else { "object" });
    match ty {
        "string" => match (schema.get("format").and_then(Value::as_str), schema.get("pattern").and_then(Value::as_str)) {
            (Some("date-time"), _) => date_time().prop_map(Value::from).boxed(),
            (Some("date"), _) => date_time().prop_map(|t| Value::from(&t[..10])).boxed(),
            (_, Some(r"^\d+$")) => (0_u64..10_000_000).prop_map(|n| Value::from(n.to_string())).boxed(),
            _ => arbitrary_string().prop_map(Value::from).boxed(),
        },
        "integer" | "number" => number(ty == "integer", schema.get("minimum").and_then(Value::as_f64)),
        "boolean" => any::<bool>().prop_map(Value::from).boxed(),
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(json!({}));
            let theirs = ours.and_then(|o| o.get("items"));
            proptest::collection::vec(answers(upstream, &items, effective, theirs, depth + 1), 0..3).prop_map(Value::Array).boxed()
        }
        _ => {
            let required: BTreeSet<&str> =
                schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            let properties = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = properties
                .iter()
                .map(|(name, property)| {
                    let theirs = ours.and_then(|o| o.pointer(&format!("/properties/{name}")));
                    let value = answers(upstream, property, effective, theirs, depth + 1);
                    let named = {
                        let name = name.clone();
                        value.prop_map(move |v| Some((name.clone(), v)))
                    };
                    if required.contains(name.as_str()) {
                        named.boxed()
                    } else {
                        // An optional field is absent about a third of the time.
                        prop_oneof![1 => Just(None), 2 => named].boxed()
                    }
                })
                .collect();
            fields.prop_map(|fields| Value::Object(fields.into_iter().flatten().collect::<Map<_, _>>())).boxed()
        }
    }
}

/// Whether `decoded` (the typed answer written back) is `sent`: every field sent is there with
/// its value; a `null` or absent optional field may be left out or take its default; a number is
/// the same number; a date-time the same instant (the strict `DateTime` fields write their own
/// format).
fn same(sent: &Value, decoded: &Value) -> Result<(), String> {
    match (sent, decoded) {
        (Value::Object(sent), Value::Object(decoded)) => {
            for (key, value) in sent {
                match decoded.get(key) {
                    Some(other) => same(value, other).map_err(|e| format!("{key}.{e}"))?,
                    // `null`, `{}` or `[]` for an optional field: the same as absent.
                    None if value.is_null() || value == &json!({}) || value == &json!([]) => {}
                    None => return Err(format!("{key}: dropped")),
                }
            }
            for (key, value) in decoded {
                let default = matches!(value, Value::Null | Value::Bool(false)) || value == &json!([]) || value == &json!({});
                if !sent.contains_key(key) && !default {
                    return Err(format!("{key}: appeared as {value}"));
                }
            }
            Ok(())
        }
        (Value::Array(sent), Value::Array(decoded)) if sent.len() == decoded.len() => {
            sent.iter().zip(decoded).enumerate().try_for_each(|(i, (s, d))| same(s, d).map_err(|e| format!("[{i}].{e}")))
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => Ok(()),
        (Value::String(a), Value::String(b)) if a == b => Ok(()),
        (Value::String(a), Value::String(b))
            if chrono::DateTime::parse_from_rfc3339(a)
                .ok()
                .zip(chrono::DateTime::parse_from_rfc3339(b).ok())
                .is_some_and(|(x, y)| x == y) =>
        {
            Ok(())
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!(": sent {a}, decoded {b}")),
    }
}

/// How many `Lenient` fields of `value` should fall back: walking our document, each place the
/// conventions marked (`x-hero-published`) whose value is not one of the stronger type. So the
/// test checks the typed side too: a value that conforms must parse, one that does not must not.
fn expected_fallbacks(effective: &Value, schema: &Value, value: &Value, required: bool) -> usize {
    let schema = merged(effective, schema);
    if schema.get("x-hero-published").is_some() {
        let conforms = match (schema.get("format").and_then(Value::as_str), value) {
            (_, Value::Null) => !required,
            (Some("date-time"), Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
            (Some("date"), Value::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10,
            (Some("uint64"), Value::Number(n)) => {
                n.as_u64().is_some() || n.as_f64().is_some_and(|f| f.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&f))
            }
            _ => false,
        };
        return usize::from(!conforms);
    }
    match value {
        Value::Object(fields) => {
            let needed: BTreeSet<&str> =
                schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            fields
                .iter()
                .filter_map(|(name, v)| {
                    let property = schema.pointer(&format!("/properties/{name}"))?;
                    Some(expected_fallbacks(effective, property, v, needed.contains(name.as_str())))
                })
                .sum()
        }
        Value::Array(items) => {
            schema.get("items").map_or(0, |item| items.iter().map(|v| expected_fallbacks(effective, item, v, true)).sum())
        }
        _ => 0,
    }
}

/// `(operationId as the SDK names it, upstream's success schema, ours)` for every operation.
fn operations(upstream: &Value, effective: &Value) -> Vec<(String, Value, Option<Value>)> {
    let mut out = Vec::new();
    for (path, item) in upstream["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation.get("responses").and_then(Value::as_object) else { continue };
            let Some(schema) = responses
                .iter()
                .find(|(code, _)| code.starts_with('2'))
                .and_then(|(_, r)| resolve(upstream, r).pointer("/content/application~1json/schema"))
            else {
                continue;
            };
            let ours = &effective["paths"][path][method];
            let id = ours["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} is in our document")).to_owned();
            let ours_schema = ours
                .get("responses")
                .and_then(Value::as_object)
                .and_then(|r| r.iter().find(|(code, _)| code.starts_with('2')))
                .and_then(|(_, r)| resolve(effective, r).pointer("/content/application~1json/schema"))
                .cloned();
            out.push((id, schema.clone(), ours_schema));
        }
    }
    out
}

/// Collects the `hero_health::lenient` events a closure causes.
fn lenient_events<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).with_ansi(false).with_writer(move || writer.clone()).finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (out, text.lines().filter(|l| l.contains("hero_health::lenient")).collect::<Vec<_>>().join("\n"))
}

#[test]
fn every_answer_the_published_document_allows_decodes_and_loses_nothing() {
    let (upstream, effective) = (document(UPSTREAM), document(EFFECTIVE));
    let mut generated = 0;
    let mut silent_answers = Vec::new();
    let all_events = std::cell::RefCell::new(String::new());
    {
        for (index, (operation, schema, ours)) in operations(&upstream, &effective).into_iter().enumerate() {
            if silent(&merged(&upstream, &schema)) {
                silent_answers.push(operation);
                continue;
            }
            let strategy = answers(&upstream, &schema, &effective, ours.as_ref(), 0);
            let mut seed = [7_u8; 32];
            seed[0] = index as u8;
            let mut runner = TestRunner::new_with_rng(
                Config { cases: CASES, failure_persistence: None, ..Config::default() },
                TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
            );
            let ours = ours.clone().unwrap_or(json!({}));
            runner
                .run(&strategy, |answer| {
                    let body = serde_json::to_vec(&answer).unwrap();
                    let (decoded, fallbacks) = lenient_events(|| decode_answer(&operation, &body));
                    let decoded = decoded.map_err(|e| TestCaseError::fail(format!("{operation}: {e}")))?;
                    same(&answer, &decoded).map_err(|e| TestCaseError::fail(format!("{operation}: {e}")))?;
                    let fell_back = fallbacks.lines().count();
                    let expected = expected_fallbacks(&effective, &ours, &answer, true);
                    prop_assert_eq!(fell_back, expected, "{}: fallbacks\n{}", operation, fallbacks);
                    all_events.borrow_mut().push_str(&(fallbacks + "\n"));
                    Ok(())
                })
                .unwrap_or_else(|failure| panic!("{failure}"));
            generated += 1;
        }
    }
    let events = all_events.into_inner();
    eprintln!("{generated} operations, {CASES} answers each; upstream leaves silent: {silent_answers:?}");
    // The operations whose answer upstream does not describe at all (the reference never shows
    // it): our inferred envelope decides, and this test cannot speak for Hero there. A change
    // in either number is a change in what Hero publishes: look at it.
    assert_eq!((generated, silent_answers.len()), (43, 13), "{silent_answers:?}");
    // Not vacuous: the format-less `created_at` of the three answers that no longer decoded
    // before, and counts sent as fractions, fell back to their raw values and said so.
    for field in ["SentMessage.created_at", "Note.created_at", "Webhook.created_at", "FormResponse.id"] {
        assert!(
            events.contains(&format!("field=\"{field}\"")) || events.contains(&format!("field={field}")),
            "no fallback of {field}:\n{events}"
        );
    }
}

#[test]
fn a_fallback_is_logged_by_field_and_kind_never_by_value() {
    let body = br#"{"id": "1", "url": "https://partner.example/hooks", "event_type": "appointment.confirmed", "created_at": "Jane Smith 9434765919", "updated_at": "x"}"#;
    let (decoded, events) = lenient_events(|| decode_answer("createWebhook", body));
    let decoded = decoded.unwrap();
    assert_eq!(decoded["created_at"], "Jane Smith 9434765919", "kept as sent");
    assert!(events.contains("Webhook.created_at") && events.contains("a string of 21 character(s)"), "{events}");
    assert!(!events.contains("Jane") && !events.contains("9434765919"), "{events}");
    let webhook: hero_health::types::Webhook = serde_json::from_slice(body).unwrap();
    assert!(webhook.created_at.get().is_err());
    assert_eq!(webhook.created_at.raw(), "Jane Smith 9434765919");
}

/// What Hero's docs mock answers for a schema (Prism's static examples): each schema's
/// `example`, else a placeholder by type: `"string"`, `0`, `true`, the first enum value,
/// one item per list, every property of an object.
fn docs_mock_example(doc: &Value, schema: &Value, depth: usize) -> Value {
    let schema = merged(doc, schema);
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if depth > 8 {
        return Value::Null;
    }
    if let Some(first) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(|b| b.get(0)) {
        return docs_mock_example(doc, first, depth + 1);
    }
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => json!("2019-08-24T14:15:22Z"),
            Some("date") => json!("2019-08-24"),
            _ => json!("string"),
        },
        Some("integer" | "number") => json!(0),
        Some("boolean") => json!(true),
        Some("array") => json!([docs_mock_example(doc, schema.get("items").unwrap_or(&json!({})), depth + 1)]),
        _ => Value::Object(
            schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(name, property)| (name.clone(), docs_mock_example(doc, property, depth + 1)))
                .collect(),
        ),
    }
}

/// The examples as Hero's docs mock answers them, through the embedded mock answering them
/// verbatim: every operation's answer decodes, and the three operations that no longer did
/// (`sendMessage`, `createNote`, `createWebhook`) work through the typed client.
#[tokio::test]
async fn hero_docs_mock_examples_answered_verbatim_decode() {
    let (upstream, effective) = (document(UPSTREAM), document(EFFECTIVE));
    let hero = MockHero::start().await.unwrap();
    let mut checked = 0;
    for (operation, schema, _) in operations(&upstream, &effective) {
        if silent(&merged(&upstream, &schema)) {
            continue;
        }
        let example = docs_mock_example(&upstream, &schema, 0).to_string();
        hero.inject(Fault::on(&operation, FaultKind::Answer { status: 200, body: example.clone() })).unwrap();
        // A request the document allows: the mock validates like Hero.
        let response = crate::support::valid_request(&hero, &operation).send().await.unwrap();
        assert_eq!(response.status(), 200, "{operation}");
        let body = response.bytes().await.unwrap();
        assert_eq!(body, example.as_bytes(), "{operation}: answered verbatim");
        let decoded = decode_answer(&operation, &body).unwrap_or_else(|e| panic!("{operation}: {e}"));
        same(&serde_json::from_slice(&body).unwrap(), &decoded).unwrap_or_else(|e| panic!("{operation}: {e}"));
        checked += 1;
    }
    assert_eq!(checked, 43);

    let client = hero.client();
    for operation in ["sendMessage", "createNote", "createWebhook"] {
        let (_, schema, _) = operations(&upstream, &effective).into_iter().find(|(id, ..)| id == operation).unwrap();
        let body = docs_mock_example(&upstream, &schema, 0).to_string();
        hero.inject(Fault::on(operation, FaultKind::Answer { status: 200, body })).unwrap();
    }
    use hero_health::types::{MessageSend, NoteCreate, WebhookCreate, WebhookEventType};
    let message = MessageSend::builder().patient_id("1").message_type("sms").message_string("Your results are ready");
    let sent = client.send_message().body(message).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent.created_at.raw(), "string", "the docs mock's placeholder is kept");
    assert!(sent.created_at.get().is_err());
    let note = client.create_note().body(NoteCreate::builder().description("called back".to_owned())).send().await;
    assert_eq!(note.unwrap_or_else(|e| panic!("{e}")).created_at.parsed(), None);
    let webhook = WebhookCreate::builder().url("https://partner.example/hooks").event_type(WebhookEventType::AppointmentConfirmed);
    let created = client.create_webhook().body(webhook).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.created_at.raw(), "string");
}

/// Required only where Hero says so, or where we say we guess: a property our document requires
/// and Hero's does not must sit in a schema our overlay marks `x-hero-inferred` (shown in the
/// docs). These are they: the `{data, count}` envelopes of lists whose answer the reference
/// never shows.
#[test]
fn required_only_where_hero_says_so_or_where_we_say_we_guess() {
    fn walk(upstream: &Value, theirs: &Value, effective: &Value, ours: &Value, at: &str, out: &mut BTreeSet<String>, depth: usize) {
        let (theirs, ours) = (merged(upstream, theirs), merged(effective, ours));
        if depth > 8 {
            return;
        }
        let required = |s: &Value| -> BTreeSet<String> {
            s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
        };
        let inferred = ours.get("x-hero-inferred").is_some();
        for name in required(&ours).difference(&required(&theirs)) {
            let property_inferred = ours.pointer(&format!("/properties/{name}/x-hero-inferred")).is_some();
            assert!(inferred || property_inferred, "{at}.{name} is required by us, optional for Hero, and not marked as our guess");
            out.insert(format!("{at}.{name}"));
        }
        for (name, property) in ours.get("properties").and_then(Value::as_object).into_iter().flatten() {
            if let Some(published) = theirs.pointer(&format!("/properties/{name}")) {
                walk(upstream, published, effective, property, &format!("{at}.{name}"), out, depth + 1);
            }
        }
        if let (Some(t), Some(o)) = (theirs.get("items"), ours.get("items")) {
            walk(upstream, t, effective, o, &format!("{at}[]"), out, depth + 1);
        }
    }
    let (upstream, effective) = (document(UPSTREAM), document(EFFECTIVE));
    let mut guessed = BTreeSet::new();
    for (operation, theirs, ours) in operations(&upstream, &effective) {
        walk(&upstream, &theirs, &effective, &ours.unwrap(), &operation, &mut guessed, 0);
    }
    let lists = ["listBatchMessageSends", "listPatientAttachments", "listPatients", "listPractitioners", "listSlots", "listSubscriptions"];
    let expected: BTreeSet<String> = lists.iter().flat_map(|op| [format!("{op}.count"), format!("{op}.data")]).collect();
    assert_eq!(guessed, expected);
}
