//! Finding a patient: trace them on PDS (the NHS Spine) and get their Hero patient id, which
//! Hero creates the first time ("creating the Hero record if needed").
//!
//! ```no_run
//! # async fn demo(client: hero_health::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use chrono::NaiveDate;
//! use hero_health::patients::{PdsTrace, Traced};
//!
//! let trace = PdsTrace::nhs_number("943 476 5919".parse()?, NaiveDate::from_ymd_opt(1980, 4, 1).unwrap());
//! match client.patients().trace(&trace).await? {
//!     Traced::Patient(id) => println!("Hero patient {id}"),
//!     Traced::VerificationRequired { login_url, .. } => println!("send the patient to {login_url}"),
//!     _ => {}
//! }
//! # Ok(()) }
//! ```

use std::fmt;

use chrono::NaiveDate;

use serde_json::{Value, json};

use crate::types::{PdsRegistration, PdsRegistrationResult};
use crate::{Client, Error, Id, NhsNumber};

/// Who to look for on PDS. `Debug` shows no demographics and only the NHS number's last digits.
#[derive(Clone)]
#[non_exhaustive]
pub enum PdsTrace {
    /// By NHS number and date of birth (the surer trace).
    NhsNumber {
        /// The NHS number, its check digit checked.
        nhs_number: NhsNumber,
        /// The date of birth.
        dob: NaiveDate,
    },
    /// By forename, surname, date of birth and postcode.
    Demographics {
        /// The forename.
        forename: String,
        /// The surname.
        surname: String,
        /// The date of birth.
        dob: NaiveDate,
        /// The postcode.
        postcode: String,
    },
}

impl fmt::Debug for PdsTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PdsTrace::NhsNumber { nhs_number, .. } => {
                f.debug_struct("PdsTrace::NhsNumber").field("nhs_number", nhs_number).finish_non_exhaustive()
            }
            PdsTrace::Demographics { .. } => f.debug_struct("PdsTrace::Demographics").finish_non_exhaustive(),
        }
    }
}

impl PdsTrace {
    /// A trace by NHS number and date of birth.
    pub fn nhs_number(nhs_number: NhsNumber, dob: NaiveDate) -> Self {
        PdsTrace::NhsNumber { nhs_number, dob }
    }

    /// A trace by forename, surname, date of birth and postcode.
    pub fn demographics(forename: impl Into<String>, surname: impl Into<String>, dob: NaiveDate, postcode: impl Into<String>) -> Self {
        PdsTrace::Demographics { forename: forename.into(), surname: surname.into(), dob, postcode: postcode.into() }
    }

    /// The request body, as JSON. The document types the NHS-number trace's `dob` as a
    /// date-time and the demographic one's as a date (its example): a date of birth is sent as
    /// that day, at midnight UTC where a date-time is asked for (`1980-04-01T00:00:00Z`), as
    /// Hero's sample. Built as JSON and read into `PdsRegistration` (whose name is pinned) so
    /// that it does not depend on what a bundle calls the two shapes inside it.
    fn body(&self) -> Value {
        match self {
            PdsTrace::NhsNumber { nhs_number, dob } => json!({
                "nhs_number": nhs_number.as_str(),
                "dob": format!("{}T00:00:00Z", dob.format("%Y-%m-%d")),
            }),
            PdsTrace::Demographics { forename, surname, dob, postcode } => json!({
                "forename": forename,
                "surname": surname,
                "dob": dob.format("%Y-%m-%d").to_string(),
                "postcode": postcode,
            }),
        }
    }
}

/// What a trace found. `Debug` does not show the login URL (it may carry a token for the
/// patient).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Traced {
    /// The patient's Hero id (existing, or created from PDS).
    Patient(Id),
    /// The patient must verify their identity first: send them to `login_url`, then trace again.
    VerificationRequired {
        /// Where the patient verifies.
        login_url: String,
        /// Hero's message.
        message: String,
    },
}

impl fmt::Debug for Traced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Traced::Patient(id) => f.debug_tuple("Patient").field(id).finish(),
            Traced::VerificationRequired { .. } => f.debug_struct("VerificationRequired").finish_non_exhaustive(),
        }
    }
}

/// A trace or a patient read failed. Messages never contain demographics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatientError {
    /// No patient on PDS matches: nothing was created.
    #[error(
        "no patient on PDS matches this trace, and nothing was created: check the NHS number and date of birth against the patient's record, or trace by name, date of birth and postcode"
    )]
    NotOnPds,
    /// The call failed. A trace is safe to send again: tracing the same patient answers the
    /// same Hero id (Hero creates the record only "if needed").
    #[error(transparent)]
    Api(Box<Error>),
}

impl From<Error> for PatientError {
    fn from(error: Error) -> Self {
        PatientError::Api(Box::new(error))
    }
}

/// The patient helpers of a [`Client`] (from [`Client::patients`]). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Patients {
    client: Client,
}

impl Client {
    /// Tracing patients on PDS, and reading them.
    pub fn patients(&self) -> Patients {
        Patients { client: self.clone() }
    }
}

impl Patients {
    /// Traces the patient on PDS and answers their Hero id, created the first time
    /// (`registerPatientPds`).
    ///
    /// # Errors
    ///
    /// [`PatientError::NotOnPds`] when no patient matches (404), or [`PatientError::Api`].
    pub async fn trace(&self, trace: &PdsTrace) -> Result<Traced, PatientError> {
        let body: PdsRegistration = serde_json::from_value(trace.body()).map_err(|_| Error::InvalidRequest {
            reason: "the trace does not fit the document's PdsRegistration (a blank name or postcode?)".into(),
        })?;
        let answer: PdsRegistrationResult = match self.client.register_patient_pds().body(body).send().await {
            Ok(answer) => answer.into_inner(),
            Err(Error::NotFound { .. }) => return Err(PatientError::NotOnPds),
            Err(error) => return Err(error.into()),
        };
        // Read by field name, whatever a bundle calls the two shapes of the answer.
        let answer = serde_json::to_value(&answer).unwrap_or_default();
        let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
        match (text("patient_id"), text("login_url")) {
            (Some(id), _) => Ok(Traced::Patient(Id::received(id))),
            (None, Some(login_url)) => Ok(Traced::VerificationRequired { login_url, message: text("message").unwrap_or_default() }),
            (None, None) => Err(Error::Decode {
                context: crate::ErrorContext::default(),
                reason: "the answer has neither patient_id nor login_url".into(),
            }
            .into()),
        }
    }

    /// The patient `id` (`getPatient`).
    ///
    /// # Errors
    ///
    /// [`PatientError::Api`] (a 404 for an id the practice does not have).
    pub async fn get(&self, id: &Id) -> Result<crate::types::Patient, PatientError> {
        Ok(self.client.get_patient().id(id.clone()).send().await?.into_inner())
    }
}
