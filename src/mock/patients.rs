//! The mock's patients and messages: a PDS spine to trace against, the practice's registered
//! patients, and messages whose delivery and write-to-record move on the mock's clock.
//!
//! What it models, from Hero's pages (each a guess where Hero does not say, as marked):
//! - `registerPatientPds` traces on the spine: a match answers the Hero patient id (created the
//!   first time, the same id after), a miss is 404 ("No patient found", as the reference lists),
//!   and a patient flagged for it answers `{message, login_url}` (verification required).
//! - A message is `sent`, then `delivered` (after [`DELIVERY_DELAY`]); an NHS App message is
//!   `opened` when the patient opens it ([`MockHero::open_message`](super::MockHero::open_message)),
//!   or, unopened after [`NHS_APP_FALLBACK_AFTER`] with a fallback set, `fallback_sent`
//!   ("NHS App messages fall back to email or SMS when unopened after 1 hour").
//! - Write-to-record is asynchronous: it ends [`WriteToRecord`]'s way after its delay, and fails
//!   for a patient with no linked EHR record; each end is announced as
//!   `write-to-record.succeeded` / `.failed` (object `Message`, the message id: inferred).
//! - The default SNOMED codes: SMS 279991000000102, email and NHS App 401271004.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::state::{Answer, Event};
use crate::nhs_number::NhsNumber;

/// How long after sending the mock counts a message as delivered.
pub const DELIVERY_DELAY: Duration = Duration::from_secs(5);
/// How long an NHS App message stays unopened before its fallback is sent (Hero: 1 hour).
pub const NHS_APP_FALLBACK_AFTER: Duration = Duration::from_secs(60 * 60);
/// How long write-to-record takes in the mock by default.
pub const DEFAULT_WRITE_TO_RECORD_DELAY: Duration = Duration::from_secs(2 * 60);
/// The SNOMED code Hero records an SMS under when none is given.
pub const SMS_SNOMED_CODE: &str = "279991000000102";
/// The SNOMED code Hero records an email or NHS App message under when none is given.
pub const EMAIL_AND_NHS_APP_SNOMED_CODE: &str = "401271004";

/// A patient on the mock's PDS spine. Its `Debug` shows no demographics.
#[derive(Clone)]
pub struct PdsPatient {
    nhs_number: NhsNumber,
    dob: NaiveDate,
    forename: String,
    surname: String,
    postcode: String,
    verification_required: bool,
    ehr_linked: bool,
}

impl std::fmt::Debug for PdsPatient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdsPatient")
            .field("nhs_number", &self.nhs_number)
            .field("verification_required", &self.verification_required)
            .field("ehr_linked", &self.ehr_linked)
            .finish_non_exhaustive()
    }
}

impl PdsPatient {
    /// A patient PDS knows, linked to the practice's EHR (write-to-record works for them).
    pub fn new(nhs_number: NhsNumber, dob: NaiveDate, forename: &str, surname: &str, postcode: &str) -> Self {
        PdsPatient {
            nhs_number,
            dob,
            forename: forename.to_owned(),
            surname: surname.to_owned(),
            postcode: postcode.to_owned(),
            verification_required: false,
            ehr_linked: true,
        }
    }

    /// A trace of this patient answers "verification required" (`{message, login_url}`).
    pub fn needing_verification(mut self) -> Self {
        self.verification_required = true;
        self
    }

    /// The patient has no linked EHR record: write-to-record for them fails.
    pub fn without_ehr_record(mut self) -> Self {
        self.ehr_linked = false;
        self
    }

    /// The NHS number.
    pub fn nhs_number(&self) -> &NhsNumber {
        &self.nhs_number
    }

    /// The date of birth.
    pub fn dob(&self) -> NaiveDate {
        self.dob
    }

    /// The forename.
    pub fn forename(&self) -> &str {
        &self.forename
    }

    /// The surname.
    pub fn surname(&self) -> &str {
        &self.surname
    }

    /// The postcode.
    pub fn postcode(&self) -> &str {
        &self.postcode
    }

    fn matches(&self, trace: &Value) -> bool {
        let text = |name: &str| trace.get(name).and_then(Value::as_str).unwrap_or_default();
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        // A date of birth is a date: `1980-04-01` and `1980-04-01T00:00:00Z` are the same day.
        let dob = text("dob").get(..10).and_then(|d| d.parse::<NaiveDate>().ok());
        if dob != Some(self.dob) {
            return false;
        }
        match trace.get("nhs_number").and_then(Value::as_str) {
            // As written, less the spaces and hyphens between groups: `943x476x5919` is no match.
            Some(number) => number.chars().filter(|c| !matches!(c, ' ' | '-')).collect::<String>() == self.nhs_number.as_str(),
            None => {
                same(text("forename"), &self.forename)
                    && same(text("surname"), &self.surname)
                    && squeeze(text("postcode")) == squeeze(&self.postcode)
            }
        }
    }
}

/// How the mock's write-to-record ends (default: it succeeds after
/// [`DEFAULT_WRITE_TO_RECORD_DELAY`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteToRecord {
    /// Saved to the record after the delay.
    Succeeds {
        /// How long it takes.
        after: Duration,
    },
    /// Fails after the delay (as it does at Hero for a patient with no linked EHR record).
    Fails {
        /// How long it takes.
        after: Duration,
    },
}

impl Default for WriteToRecord {
    fn default() -> Self {
        WriteToRecord::Succeeds { after: DEFAULT_WRITE_TO_RECORD_DELAY }
    }
}

/// A patient registered with the practice in Hero.
#[derive(Debug, Clone)]
struct Registered {
    spine: PdsPatient,
}

#[derive(Debug, Clone)]
struct SentMessage {
    /// The practice group that sent it (`None`: the mock's main one), whose webhooks hear of it.
    practice_group_id: Option<String>,
    patient_id: String,
    message_type: String,
    fallback: Option<String>,
    text: String,
    sent_at: DateTime<Utc>,
    opened_at: Option<DateTime<Utc>>,
    write_to_record: Option<WriteOutcome>,
    snomed_code: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct WriteOutcome {
    succeeds: bool,
    /// How long the write takes once approved.
    takes: chrono::Duration,
    /// When an admin approved it (at sending, for an automatic write the key may make).
    approved_at: Option<DateTime<Utc>>,
    announced: bool,
}

impl WriteOutcome {
    /// When it ends: the delay after approval; never, while not approved.
    fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.approved_at.map(|at| crate::time::later(at, self.takes))
    }
}

/// The mock's patients and messages.
#[derive(Debug)]
pub(crate) struct Desk {
    spine: Vec<PdsPatient>,
    /// Each practice group's registered patients, by id (`None`: the mock's main group).
    patients: BTreeMap<u64, (Option<String>, Registered)>,
    next_patient: u64,
    messages: BTreeMap<u64, SentMessage>,
    next_message: u64,
    write_to_record: WriteToRecord,
    /// Whether the key may write to the record without an admin's approval.
    auto_write_allowed: bool,
}

/// The NHS Digital test numbers the mock's spine starts with (valid check digits, never issued
/// to a real patient).
/// NHS number, date of birth (year, month, day), forename, surname, postcode.
type Seed = (&'static str, (i32, u32, u32), &'static str, &'static str, &'static str);

const SEEDED: [Seed; 3] = [
    ("9434765919", (1980, 4, 1), "Ada", "Lovelace", "LS1 4AP"),
    ("4010232137", (1975, 11, 23), "Mary", "Seacole", "SE1 7EH"),
    ("9449306060", (1990, 6, 15), "Alan", "Turing", "M13 9PL"),
];

impl Desk {
    pub(crate) fn new(extra: &[PdsPatient], write_to_record: WriteToRecord, auto_write_allowed: bool) -> Self {
        let mut spine: Vec<PdsPatient> = SEEDED
            .iter()
            .filter_map(|(number, (y, m, d), forename, surname, postcode)| {
                Some(PdsPatient::new(NhsNumber::new(number).ok()?, NaiveDate::from_ymd_opt(*y, *m, *d)?, forename, surname, postcode))
            })
            .collect();
        spine.extend(extra.iter().cloned());
        // Hero's own request samples use patient "1": the first spine patient is registered as it.
        let patients = spine.first().map(|p| (1, (None, Registered { spine: p.clone() }))).into_iter().collect();
        Desk { spine, patients, next_patient: 2, messages: BTreeMap::new(), next_message: 1, write_to_record, auto_write_allowed }
    }

    /// The spine's patients (the seeded ones first).
    pub(crate) fn spine(&self) -> &[PdsPatient] {
        &self.spine
    }

    /// Patient `id` of practice group `group`: another group's patient is not found, as at Hero.
    fn patient(&self, id: &str, group: &Option<String>) -> Option<&Registered> {
        let (owner, patient) = id.parse::<u64>().ok().and_then(|id| self.patients.get(&id))?;
        (owner == group).then_some(patient)
    }

    pub(crate) fn register_pds(&mut self, body: &[u8], group: Option<String>) -> Answer {
        let Ok(trace) = serde_json::from_slice::<Value>(body) else { return (400, None) };
        let Some(found) = self.spine.iter().find(|p| p.matches(&trace)).cloned() else {
            return (404, Some(json!({"statusCode": 404, "message": "No patient found"})));
        };
        if found.verification_required {
            return (
                200,
                Some(json!({
                    "message": "The patient must verify their identity before they can be registered",
                    "login_url": "https://login.mock.herohealth.invalid/verify",
                })),
            );
        }
        let existing =
            self.patients.iter().find(|(_, (owner, r))| *owner == group && r.spine.nhs_number == found.nhs_number).map(|(id, _)| *id);
        let id = existing.unwrap_or_else(|| {
            let id = self.next_patient;
            self.next_patient += 1;
            self.patients.insert(id, (group, Registered { spine: found }));
            id
        });
        (200, Some(json!({"patient_id": id.to_string()})))
    }

    pub(crate) fn get_patient(&self, id: &str, group: &Option<String>) -> Answer {
        let Some(patient) = self.patient(id, group) else {
            return (404, Some(json!({"statusCode": 404, "message": "Not Found"})));
        };
        let spine = &patient.spine;
        let dob = spine.dob.and_hms_opt(0, 0, 0).map(|t| t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        (
            200,
            Some(json!({
                "id": id,
                "dob": dob,
                "first_name": spine.forename,
                "last_name": spine.surname,
                "nhs_number": spine.nhs_number.as_str(),
                "postcode": spine.postcode,
                "data_source": "pds",
                "status": "unarchived",
            })),
        )
    }

    pub(crate) fn send_message(&mut self, body: &[u8], acting_for: Option<String>, now: DateTime<Utc>) -> Answer {
        let Ok(request) = serde_json::from_slice::<Value>(body) else { return (400, None) };
        let text = |name: &str| request.get(name).and_then(Value::as_str).map(str::to_owned);
        let patient_id = text("patient_id").unwrap_or_default();
        let Some(patient) = self.patient(&patient_id, &acting_for) else {
            return super::state::invalid("invalid_patient", "the id of a patient of the practice", &["patient_id"]);
        };
        let message_type = text("message_type").unwrap_or_default();
        let write = request.get("write_to_record").and_then(Value::as_bool).unwrap_or(false);
        let snomed_code = write.then(|| {
            text("snomed_code")
                .unwrap_or_else(|| if message_type == "sms" { SMS_SNOMED_CODE } else { EMAIL_AND_NHS_APP_SNOMED_CODE }.to_owned())
        });
        let (succeeds, after) = match self.write_to_record {
            WriteToRecord::Succeeds { after } => (patient.spine.ehr_linked, after),
            WriteToRecord::Fails { after } => (false, after),
        };
        // "Write the message to the EHR after approval"; `auto_write_to_record` skips the
        // approval when the key allows it.
        let automatic = request.get("auto_write_to_record").and_then(Value::as_bool).unwrap_or(false) && self.auto_write_allowed;
        let id = self.next_message;
        self.next_message += 1;
        let message = SentMessage {
            practice_group_id: acting_for,
            patient_id,
            message_type,
            fallback: text("fallback_message_type"),
            text: text("message_string").unwrap_or_default(),
            sent_at: now,
            opened_at: None,
            write_to_record: write.then(|| WriteOutcome {
                succeeds,
                takes: crate::time::delta(after),
                approved_at: automatic.then_some(now),
                announced: false,
            }),
            snomed_code,
        };
        let answer = json!({
            "message_id": id.to_string(),
            "content": message.text,
            "created_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "write_to_record": write,
            "snomed_code": message.snomed_code,
        });
        self.messages.insert(id, message);
        (200, Some(strip_nulls(answer)))
    }

    pub(crate) fn get_message(&self, id: &str, group: &Option<String>, now: DateTime<Utc>) -> Answer {
        let message = id.parse::<u64>().ok().and_then(|id| self.messages.get(&id)).filter(|m| m.practice_group_id == *group);
        let Some(message) = message else {
            return (404, Some(json!({"statusCode": 404, "message": "Not Found"})));
        };
        let record = message.write_to_record.map(|w| match (w.ends_at().is_some_and(|at| at <= now), w.succeeds) {
            (false, _) => "pending",
            (true, true) => "succeeded",
            (true, false) => "failed",
        });
        let answer = json!({
            "id": id,
            "patient": {"id": message.patient_id},
            "message_type": message.message_type,
            "fallback_message_type": message.fallback,
            "status": status(message, now),
            "created_at": message.sent_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "write_to_record": message.write_to_record.is_some(),
            "write_to_record_status": record,
            "snomed_code": message.snomed_code,
        });
        (200, Some(strip_nulls(answer)))
    }

    /// The patient opens NHS App message `id` (or reads any other): whether there is one.
    pub(crate) fn open(&mut self, id: &str, now: DateTime<Utc>) -> bool {
        match id.parse::<u64>().ok().and_then(|id| self.messages.get_mut(&id)) {
            Some(message) => {
                message.opened_at.get_or_insert(now);
                true
            }
            None => false,
        }
    }

    /// An admin approves writing message `id` to the record: it ends after its delay. Whether
    /// there is such a message waiting for approval.
    pub(crate) fn approve(&mut self, id: &str, now: DateTime<Utc>) -> bool {
        let write = id.parse::<u64>().ok().and_then(|id| self.messages.get_mut(&id)).and_then(|m| m.write_to_record.as_mut());
        match write {
            Some(write) if write.approved_at.is_none() => {
                write.approved_at = Some(now);
                true
            }
            _ => false,
        }
    }

    /// The write-to-record outcomes that are due by `now` and not yet announced.
    pub(crate) fn due_events(&mut self, now: DateTime<Utc>) -> Vec<Event> {
        let mut events = Vec::new();
        for (id, message) in &mut self.messages {
            if let Some(write) = &mut message.write_to_record
                && !write.announced
                && write.ends_at().is_some_and(|at| at <= now)
            {
                write.announced = true;
                let name = if write.succeeds { "write-to-record.succeeded" } else { "write-to-record.failed" };
                events.push(Event { practice_group_id: message.practice_group_id.clone(), name, object: "Message", id: id.to_string() });
            }
        }
        events
    }
}

/// Where a message's delivery stands at `now`.
fn status(message: &SentMessage, now: DateTime<Utc>) -> &'static str {
    let since = now - message.sent_at;
    let delivered = since >= crate::time::delta(DELIVERY_DELAY);
    if message.message_type == "nhs_app" {
        let fallback_at =
            message.fallback.as_ref().map(|_| crate::time::later(message.sent_at, crate::time::delta(NHS_APP_FALLBACK_AFTER)));
        // Opened before any fallback went; opening it later does not undo the fallback.
        if message.opened_at.is_some_and(|opened| fallback_at.is_none_or(|fallback| opened < fallback)) {
            return "opened";
        }
        if fallback_at.is_some_and(|fallback| now >= fallback) {
            return "fallback_sent";
        }
    }
    if delivered { "delivered" } else { "sent" }
}

/// Drops the `null` members, as Hero leaves out what a resource does not have.
fn strip_nulls(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !v.is_null());
    }
    value
}
