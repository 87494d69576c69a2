//! "Deviant" answers ([`super::MockHeroBuilder::with_deviations`]): the mock answers some reads
//! differently from the OpenAPI document, once in each way a real server can differ, so a probe
//! of the API (`cargo xtask probe`) can be shown to find every kind of difference.

use serde_json::Value;

use super::state::Answer;

/// The kinds of difference, one per operation, as the probe's tests expect them.
pub(crate) fn deviate(operation: &str, answer: &mut Answer) {
    let (status, body) = answer;
    let items = |body: &mut Option<Value>| -> Vec<serde_json::Map<String, Value>> {
        body.as_mut()
            .and_then(|b| b.get_mut("data"))
            .and_then(Value::as_array_mut)
            .map(|d| d.iter_mut().filter_map(|i| i.as_object_mut().map(std::mem::take)).collect())
            .unwrap_or_default()
    };
    let put_back = |body: &mut Option<Value>, items: Vec<serde_json::Map<String, Value>>| {
        if let Some(data) = body.as_mut().and_then(|b| b.get_mut("data")) {
            *data = Value::Array(items.into_iter().map(Value::Object).collect());
        }
    };
    match operation {
        // An enum value the document does not list, a field it does not describe, and a
        // required field missing.
        "listAppointmentTypes" => {
            let mut types = items(body);
            for t in &mut types {
                t.insert("sector".into(), "private_plus".into());
                t.insert("colour".into(), "blue".into());
                t.remove("name");
            }
            put_back(body, types);
        }
        // An id that is not a numeric string.
        "listLocations" => {
            let mut locations = items(body);
            for l in &mut locations {
                let id = l.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                l.insert("id".into(), format!("LOC-{id}").into());
            }
            put_back(body, locations);
        }
        // Null where the document does not allow it.
        "listPractitioners" => {
            let mut practitioners = items(body);
            for p in &mut practitioners {
                p.insert("first_name".into(), Value::Null);
            }
            put_back(body, practitioners);
        }
        // A type the document does not say, and a date-time that does not parse.
        "listSlots" => {
            let mut slots = items(body);
            for s in &mut slots {
                s.insert("start_time".into(), "tomorrow at nine".into());
            }
            put_back(body, slots);
            if let Some(count) = body.as_mut().and_then(|b| b.get_mut("count")) {
                *count = Value::String(count.to_string());
            }
        }
        // A status the document does not list.
        "getPracticeGroup" => *status = 202,
        _ => {}
    }
}
