//! Webhook verification: every way a delivery can be wrong is refused with its own error, both
//! signature encodings are accepted, parsing happens only after verification, and arbitrary
//! input never panics (proptest).

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use hero_health::webhooks::{EventType, SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, WebhookError, sign, verify};
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue};
use sha2::Sha256;

const KEY: &str = "whsec-correct-horse";
const BODY: &[u8] = br#"{"object":"Appointment","id":"4567","practice_group_id":"123","event":"appointment.confirmed"}"#;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn raw_signature(timestamp: &str, body: &[u8], key: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

fn headers(timestamp: &str, signature: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
    h.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
    h
}

fn verifier() -> Verifier {
    Verifier::new(KEY).expect("a usable key")
}

#[test]
fn a_valid_delivery_is_verified_then_parsed() {
    let event = verifier().verify_at(BODY, &sign(BODY, KEY, now()), now()).unwrap();
    assert_eq!(event.event, EventType::AppointmentConfirmed);
    assert_eq!((event.object.as_str(), event.id.as_str(), event.practice_group_id.as_str()), ("Appointment", "4567", "123"));
}

#[test]
fn both_signature_encodings_and_timestamp_forms_are_accepted() {
    let ts = now().timestamp().to_string();
    let raw = raw_signature(&ts, BODY, KEY);
    for signature in [
        hex::encode(&raw),
        hex::encode_upper(&raw),
        format!("sha256={}", hex::encode(&raw)),
        base64::engine::general_purpose::STANDARD.encode(&raw),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw),
    ] {
        assert!(verifier().verify_at(BODY, &headers(&ts, &signature), now()).is_ok(), "{signature}");
    }
    for ts in [now().timestamp_millis().to_string(), now().to_rfc3339()] {
        let signature = hex::encode(raw_signature(&ts, BODY, KEY));
        assert!(verifier().verify_at(BODY, &headers(&ts, &signature), now()).is_ok(), "{ts}");
    }
}

#[test]
fn a_tampered_body_or_timestamp_or_wrong_key_is_a_mismatch() {
    let good = sign(BODY, KEY, now());
    let tampered = br#"{"object":"Appointment","id":"4568","practice_group_id":"123","event":"appointment.confirmed"}"#;
    assert_eq!(verifier().verify_at(tampered, &good, now()), Err(WebhookError::SignatureMismatch));
    // Re-serialised JSON (a space added) is a different body: verify raw bytes.
    let spaced = br#"{"object": "Appointment","id":"4567","practice_group_id":"123","event":"appointment.confirmed"}"#;
    assert_eq!(verifier().verify_at(spaced, &good, now()), Err(WebhookError::SignatureMismatch));
    let mut moved = good.clone();
    moved.insert(TIMESTAMP_HEADER, HeaderValue::from((now() - Duration::seconds(10)).timestamp()));
    assert_eq!(verifier().verify_at(BODY, &moved, now()), Err(WebhookError::SignatureMismatch));
    assert_eq!(Verifier::new("whsec-wrong").unwrap().verify_at(BODY, &good, now()), Err(WebhookError::SignatureMismatch));
}

#[test]
fn stale_and_future_deliveries_are_refused() {
    let old = sign(BODY, KEY, now() - Duration::seconds(301));
    assert!(matches!(
        verifier().verify_at(BODY, &old, now()),
        Err(WebhookError::OutsideTolerance { seconds: 301, direction: "before", tolerance: 300, .. })
    ));
    let future = sign(BODY, KEY, now() + Duration::seconds(400));
    assert!(matches!(verifier().verify_at(BODY, &future, now()), Err(WebhookError::OutsideTolerance { direction: "after", .. })));
    let lenient = verifier().with_tolerance(std::time::Duration::from_secs(600)).unwrap();
    assert!(lenient.verify_at(BODY, &old, now()).is_ok());
}

#[test]
fn a_fraction_of_a_second_past_the_tolerance_is_outside_it() {
    let delivery = sign(BODY, KEY, now());
    let late = now() + Duration::milliseconds(300_500);
    assert!(matches!(
        verifier().verify_at(BODY, &delivery, late),
        Err(WebhookError::OutsideTolerance { seconds: 301, direction: "before", tolerance: 300, .. })
    ));
    let early = now() - Duration::milliseconds(300_990);
    assert!(matches!(verifier().verify_at(BODY, &delivery, early), Err(WebhookError::OutsideTolerance { direction: "after", .. })));
    assert!(verifier().verify_at(BODY, &delivery, now() + Duration::seconds(300)).is_ok(), "the edge itself is inside");
}

#[test]
fn a_replayed_delivery_is_refused_with_replay_protection() {
    let verifier = verifier().with_replay_protection();
    let delivery = sign(BODY, KEY, now());
    assert!(verifier.verify_at(BODY, &delivery, now()).is_ok());
    assert_eq!(verifier.verify_at(BODY, &delivery, now() + Duration::seconds(5)), Err(WebhookError::Replayed));
    // Another delivery (new timestamp) is fine; after the window the old one is stale anyway.
    assert!(verifier.verify_at(BODY, &sign(BODY, KEY, now() + Duration::seconds(1)), now() + Duration::seconds(6)).is_ok());
    assert!(matches!(verifier.verify_at(BODY, &delivery, now() + Duration::seconds(900)), Err(WebhookError::OutsideTolerance { .. })));
}

#[test]
fn missing_or_malformed_headers_are_refused() {
    let ts = now().timestamp().to_string();
    let sig = hex::encode(raw_signature(&ts, BODY, KEY));
    let mut only_sig = HeaderMap::new();
    only_sig.insert(SIGNATURE_HEADER, HeaderValue::from_str(&sig).unwrap());
    assert_eq!(verifier().verify_at(BODY, &only_sig, now()), Err(WebhookError::MissingHeader(TIMESTAMP_HEADER)));
    assert_eq!(verifier().verify_at(BODY, &HeaderMap::new(), now()), Err(WebhookError::MissingHeader(TIMESTAMP_HEADER)));
    assert_eq!(verifier().verify_at(BODY, &headers("yesterday", &sig), now()), Err(WebhookError::BadTimestamp));
    for bad in ["", "abc", &sig[..62], &format!("{sig}00"), "zz".repeat(32).as_str()] {
        assert_eq!(verifier().verify_at(BODY, &headers(&ts, bad), now()), Err(WebhookError::BadSignatureEncoding), "{bad}");
    }
}

#[test]
fn a_verified_but_foreign_payload_is_an_error_and_unknown_events_are_kept() {
    let not_an_event = br#"{"hello":"world"}"#;
    let error = verifier().verify_at(not_an_event, &sign(not_an_event, KEY, now()), now()).unwrap_err();
    assert!(matches!(error, WebhookError::InvalidPayload(_)));
    assert!(!error.to_string().contains("hello"), "no body in messages: {error}");
    let future_event = br#"{"object":"Invoice","id":"9","practice_group_id":"123","event":"invoice.paid"}"#;
    let event = verifier().verify_at(future_event, &sign(future_event, KEY, now()), now()).unwrap();
    assert_eq!(event.event, EventType::Unknown("invoice.paid".into()));
    assert_eq!(event.event.to_string(), "invoice.paid");
}

#[test]
fn every_documented_event_round_trips() {
    for name in [
        "appointment.confirmed",
        "appointment.cancelled",
        "appointment.rescheduled",
        "prescription.issued",
        "patient.medical-record-updated",
        "patient.added-to-sequence",
        "write-to-record.succeeded",
        "write-to-record.failed",
        "form-submission.created",
    ] {
        let event = EventType::from(name);
        assert!(!matches!(event, EventType::Unknown(_)), "{name}");
        assert_eq!(event.as_str(), name);
    }
}

#[test]
fn the_free_function_uses_the_real_clock_and_the_key_is_never_shown() {
    assert!(verify(BODY, &sign(BODY, KEY, Utc::now()), KEY).is_ok());
    assert!(!format!("{:?}", verifier()).contains(KEY));
}

/// A blank key would let anyone sign: every way of making a verifier refuses it, and a
/// delivery signed with the empty key is never accepted.
#[test]
fn a_blank_signing_key_is_refused() {
    for blank in ["", " ", "\n\t"] {
        assert_eq!(Verifier::new(blank).err(), Some(WebhookError::BlankSigningKey), "{blank:?}");
        let forged = sign(BODY, blank, Utc::now());
        assert_eq!(verify(BODY, &forged, blank), Err(WebhookError::BlankSigningKey));
    }
    assert!(WebhookError::BlankSigningKey.to_string().contains("signing_key"));
}

/// A huge tolerance would disable the replay window (and outlive the replay memory); zero
/// would refuse every delivery.
#[test]
fn an_absurd_tolerance_is_refused() {
    use std::time::Duration as Std;
    for tolerance in [Std::ZERO, Std::from_millis(500), Std::from_secs(3601), Std::from_secs(u64::MAX), Std::MAX] {
        assert!(
            matches!(verifier().with_tolerance(tolerance).err(), Some(WebhookError::ToleranceOutOfRange { max_secs: 3600, .. })),
            "{tolerance:?}"
        );
    }
    let widest = verifier().with_tolerance(hero_health::webhooks::MAX_TOLERANCE).unwrap();
    let old = sign(BODY, KEY, now() - Duration::seconds(3601));
    assert!(matches!(widest.verify_at(BODY, &old, now()), Err(WebhookError::OutsideTolerance { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, .. ProptestConfig::default() })]

    /// Arbitrary bodies, timestamps and signatures: an error or an event, never a panic, and
    /// never an accepted forgery.
    #[test]
    fn arbitrary_deliveries_never_panic_or_pass(body in proptest::collection::vec(any::<u8>(), 0..512), ts in "\\PC{0,24}", sig in "[ -~]{0,100}") {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&ts) { h.insert(TIMESTAMP_HEADER, v); }
        if let Ok(v) = HeaderValue::from_str(&sig) { h.insert(SIGNATURE_HEADER, v); }
        prop_assert!(verifier().verify_at(&body, &h, now()).is_err());
    }

    /// Signed arbitrary bodies verify, and parse only if they are events.
    #[test]
    fn signed_arbitrary_bodies_verify_and_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        match verifier().verify_at(&body, &sign(&body, KEY, now()), now()) {
            Ok(_) | Err(WebhookError::InvalidPayload(_)) => {}
            Err(other) => prop_assert!(false, "signed body refused: {other:?}"),
        }
    }
}

/// A delivery signed by the tests' own HMAC (not the crate's `sign`), hex, in Unix seconds.
fn signed_by(key: &str, body: &[u8]) -> HeaderMap {
    let timestamp = now().timestamp().to_string();
    headers(&timestamp, &hex::encode(raw_signature(&timestamp, body, key)))
}

fn at_now(verifier: Verifier) -> Verifier {
    verifier.with_clock(hero_health::clock::TestClock::starting_at(now()))
}

#[test]
fn during_a_rollover_both_keys_verify_and_the_old_is_refused_once_retired() {
    let verifier = at_now(Verifier::new("whsec-old").unwrap());
    verifier.add_key("2026-12", "whsec-new").unwrap();
    assert_eq!(verifier.key_names(), ["default", "2026-12"]);
    let old = verifier.verify_delivery(BODY, &signed_by("whsec-old", BODY)).unwrap();
    let new = verifier.verify_delivery(BODY, &signed_by("whsec-new", BODY)).unwrap();
    assert_eq!((old.key_name.as_str(), new.key_name.as_str()), ("default", "2026-12"), "which key verified is reported");
    assert_eq!(old.event, new.event);
    assert_eq!(verifier.verify_delivery(BODY, &signed_by("whsec-other", BODY)), Err(WebhookError::SignatureMismatch));
    assert!(verifier.retire_key("default"));
    assert!(!verifier.retire_key("default"), "already retired");
    assert_eq!(verifier.verify_delivery(BODY, &signed_by("whsec-old", BODY)), Err(WebhookError::SignatureMismatch));
    assert_eq!(verifier.verify(BODY, &signed_by("whsec-new", BODY)).unwrap().id, "4567");
    // A verifier whose last key is retired refuses everything.
    assert!(verifier.retire_key("2026-12"));
    assert_eq!(verifier.verify(BODY, &signed_by("whsec-new", BODY)), Err(WebhookError::SignatureMismatch));
}

#[test]
fn keys_are_named_once_never_blank_and_never_shown() {
    let verifier = Verifier::with_keys([("a", "whsec-a"), ("b", "whsec-b")]).unwrap();
    assert_eq!(verifier.add_key("a", "whsec-c"), Err(WebhookError::KeyNameTaken("a".into())));
    assert_eq!(verifier.add_key("c", "  "), Err(WebhookError::BlankSigningKey));
    assert!(matches!(Verifier::with_keys([("a", "whsec-a"), ("a", "whsec-b")]), Err(WebhookError::KeyNameTaken(_))));
    assert!(matches!(Verifier::with_keys(Vec::<(String, String)>::new()), Err(WebhookError::BlankSigningKey)));
    let shown = format!("{verifier:?}");
    assert!(shown.contains("\"a\"") && !shown.contains("whsec-a") && !shown.contains("whsec-b"), "{shown}");
}

#[test]
fn a_practice_s_key_verifies_only_that_practice_s_deliveries() {
    let verifier = at_now(Verifier::with_keys([("shared", "whsec-shared")]).unwrap());
    verifier.add_practice_key("123", "riverside", "whsec-riverside").unwrap();
    verifier.add_practice_key("456", "hillview", "whsec-hillview").unwrap();
    let riverside = verifier.verify_delivery(BODY, &signed_by("whsec-riverside", BODY)).unwrap();
    assert_eq!((riverside.key_name.as_str(), riverside.event.practice_group_id.as_str()), ("riverside", "123"));
    // Hillview's key over a delivery that names Riverside: the signature is right, the practice is not.
    let error = verifier.verify_delivery(BODY, &signed_by("whsec-hillview", BODY)).unwrap_err();
    assert!(
        matches!(&error, WebhookError::WrongPracticeGroup { key, expected, actual, .. } if key == "hillview" && expected == "456" && actual == "123"),
        "{error:?}"
    );
    assert!(error.to_string().contains("refuse"), "{error}");
    // An unbound key verifies any practice's delivery.
    assert_eq!(verifier.verify_delivery(BODY, &signed_by("whsec-shared", BODY)).unwrap().key_name, "shared");
}

#[test]
fn one_secret_held_for_two_practices_verifies_each_practice_s_delivery() {
    let verifier = at_now(Verifier::with_keys([("unused", "whsec-unused")]).unwrap());
    verifier.add_practice_key("456", "hillview", "whsec-same").unwrap();
    verifier.add_practice_key("123", "riverside", "whsec-same").unwrap();
    assert_eq!(verifier.verify_delivery(BODY, &signed_by("whsec-same", BODY)).unwrap().key_name, "riverside");
}
