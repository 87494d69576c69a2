//! Answers decode even when Hero adds enum values or fields, and Hero's docs mock placeholders
//! (`"id": "string"`, first enum values, sample dates) decode too. What we send stays checked.

use hero_health::types::{Patient, PatientStatus, Sex, WebhookEventType};

fn patient(status: &str, sex: &str) -> String {
    format!(
        r#"{{"id":"string","status":"{status}","sex":"{sex}","data_source":"hero","restricted":false,
        "first_name":"string","dob":"2019-08-24T14:15:22Z","brand_new_field":{{"nested":[1,2,3]}}}}"#
    )
}

#[test]
fn an_unknown_enum_value_is_kept_not_fatal() {
    let decoded: Patient = serde_json::from_str(&patient("on_holiday", "Prefers not to say")).unwrap();
    assert_eq!(decoded.status, PatientStatus::Unknown("on_holiday".into()));
    assert_eq!(decoded.sex, Some(Sex::Unknown("Prefers not to say".into())));
    assert_eq!(decoded.status.to_string(), "on_holiday");
}

#[test]
fn known_values_stay_typed_and_round_trip_with_their_wire_names() {
    let decoded: Patient = serde_json::from_str(&patient("archived", "Not known")).unwrap();
    assert_eq!(decoded.status, PatientStatus::Archived);
    assert_eq!(decoded.sex, Some(Sex::NotKnown));
    let json = serde_json::to_value(&decoded).unwrap();
    assert_eq!(json["sex"], "Not known");
    assert_eq!(json["status"], "archived");
    assert_eq!(serde_json::to_value(Sex::Unknown("X".into())).unwrap(), "X");
}

#[test]
fn unexpected_fields_and_docs_mock_placeholders_decode() {
    let decoded: Patient = serde_json::from_str(&patient("archived", "Male")).unwrap();
    assert_eq!(decoded.id.as_str(), "string", "the docs mock's placeholder id is accepted on receipt");
    assert!(decoded.dob.is_some());
    let event: WebhookEventType = serde_json::from_str("\"invoice.paid\"").unwrap();
    assert_eq!(event, WebhookEventType::Unknown("invoice.paid".into()));
}

#[test]
fn what_we_send_is_still_checked() {
    assert!("on_holiday".parse::<PatientStatus>().is_err(), "FromStr stays strict");
    assert!(PatientStatus::try_from("archived").is_ok());
    assert!(hero_health::Id::new("string").is_err(), "ids we send must be numeric");
}

/// Constrained strings (length, pattern) are checked on what is sent, never on what is
/// received: an answer carrying a value outside the constraint still decodes.
#[test]
fn constrained_strings_are_checked_when_sent_not_when_received() {
    use hero_health::types::PatientRegistrationNhsNumber;
    let received: PatientRegistrationNhsNumber = serde_json::from_str(r#""""#).unwrap();
    assert_eq!(received.as_str(), "");
    assert!("".parse::<PatientRegistrationNhsNumber>().is_err(), "sending an empty value is still refused");
    assert!("9434765919".parse::<PatientRegistrationNhsNumber>().is_ok());
}
