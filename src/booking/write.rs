//! Requests that change state (reserve, confirm, cancel, reschedule, edit): how a failure is
//! classified by whether it may have taken effect, and how an ambiguous one is settled by
//! reading the appointment back. One mechanism for every write, so confirm, cancel and
//! reschedule cannot drift apart.

use std::future::Future;

use super::BookingError;
use super::error::{EXPIRED_CODES, SLOT_UNAVAILABLE_CODES, has_code};
use crate::Client;
use crate::error::describe_issues;
use crate::types::Appointment;

/// What reading the appointment back says about the write being settled.
#[derive(Debug)]
pub(crate) enum ReadBack {
    /// It took effect: the appointment as it is now.
    Done(Box<Appointment>),
    /// Not (yet). Not "it failed": a server usually finishes a request after the client hung up.
    NotYet,
    /// It never can; the error to answer with (a confirmation whose hold lapsed).
    Never(BookingError),
}

/// A judge for writes whose effect shows on the appointment (`cancelled_at`, the new start).
pub(crate) fn done_when(done: impl Fn(&Appointment) -> bool) -> impl Fn(Result<Appointment, crate::Error>) -> Result<ReadBack, String> {
    move |read| match read {
        Ok(appointment) if done(&appointment) => Ok(ReadBack::Done(Box::new(appointment))),
        Ok(_) => Ok(ReadBack::NotYet),
        Err(error) => Err(error.to_string()),
    }
}

/// After an ambiguous write (`reason`): read the appointment back and let `judge` decide. If it
/// is not done yet, `send` the same request once more (confirming the same hold, cancelling the
/// same appointment or moving it to the same slot cannot take effect twice) and read back again.
/// What is still unsettled is [`BookingError::OutcomeUnknown`], never "nothing happened".
pub(crate) async fn settle<S, Fut>(
    client: &Client,
    operation: &'static str,
    id: &str,
    reason: String,
    judge: impl Fn(Result<Appointment, crate::Error>) -> Result<ReadBack, String>,
    send: S,
) -> Result<Appointment, BookingError>
where
    S: Fn() -> Fut,
    Fut: Future<Output = Result<Appointment, BookingError>>,
{
    let unknown = |reason: String| unknown(operation, id, reason);
    let read_back = || read_back(client, id, &judge);
    match read_back().await {
        Ok(ReadBack::Done(appointment)) => return Ok(*appointment),
        Ok(ReadBack::Never(error)) => return Err(error),
        Ok(ReadBack::NotYet) => {}
        Err(why) => return Err(unknown(format!("{reason}; reading it back failed too: {why}"))),
    }
    let again = match send().await {
        Ok(appointment) => return Ok(appointment),
        // An answer that ends the matter needs no second read.
        Err(error @ BookingError::ReservationExpired { .. }) => return Err(error),
        Err(BookingError::OutcomeUnknown { reason, .. }) => reason,
        // Refused outright: perhaps because the first one took effect; the read-back decides.
        Err(error) => error.to_string(),
    };
    match read_back().await {
        Ok(ReadBack::Done(appointment)) => Ok(*appointment),
        Ok(ReadBack::Never(error)) => Err(error),
        Ok(ReadBack::NotYet) => Err(unknown(format!(
            "{reason}; sending it again failed too ({again}), and it does not read as done: the first request may still be committing"
        ))),
        Err(why) => Err(unknown(format!("{reason}; sending it again failed too ({again}), and reading it back failed: {why}"))),
    }
}

/// After an ambiguous write that must not be sent twice (a reschedule: a second request in
/// flight could land after a later move): read the appointment back once and let `judge`
/// decide. Not done is [`BookingError::OutcomeUnknown`].
pub(crate) async fn settle_by_reading(
    client: &Client,
    operation: &'static str,
    id: &str,
    reason: String,
    judge: impl Fn(Result<Appointment, crate::Error>) -> Result<ReadBack, String>,
) -> Result<Appointment, BookingError> {
    match read_back(client, id, &judge).await {
        Ok(ReadBack::Done(appointment)) => Ok(*appointment),
        Ok(ReadBack::Never(error)) => Err(error),
        Ok(ReadBack::NotYet) => Err(unknown(operation, id, format!("{reason}; it does not read as done yet: the request may still land"))),
        Err(why) => Err(unknown(operation, id, format!("{reason}; reading it back failed too: {why}"))),
    }
}

/// A read: the crate's error is enough (the judge decides what a 404 means).
async fn read_back(
    client: &Client,
    id: &str,
    judge: &impl Fn(Result<Appointment, crate::Error>) -> Result<ReadBack, String>,
) -> Result<ReadBack, String> {
    judge(client.get_appointment().id(id).send().await.map(crate::ResponseValue::into_inner))
}

fn unknown(operation: &'static str, id: &str, reason: String) -> BookingError {
    BookingError::OutcomeUnknown { operation, appointment_id: Some(id.to_owned()), reason, request_id: None, unsettled: None }
}

/// Classifies the failure of a request that changes state by whether it may have taken effect.
///
/// It builds on the crate's one classification of progenitor's error ([`crate::Error`]) and
/// places every variant itself, with no catch-all: a variant added later must be decided here,
/// never fall into "outcome unknown" (or "safe to retry") unseen.
pub(crate) fn classify_write(error: crate::Error, operation: &'static str, id: Option<&str>) -> BookingError {
    use crate::Error as E;
    let request_id = error.request_id().map(str::to_owned);
    let status = error.status().map(|s| s.as_u16());
    let unknown = |reason: String| BookingError::OutcomeUnknown {
        operation,
        appointment_id: id.map(str::to_owned),
        reason,
        request_id: request_id.clone(),
        unsettled: None,
    };
    match &error {
        E::InvalidRequest { reason } => BookingError::InvalidInput { reason: reason.clone() },
        E::BadRequest { validation: Some(body), .. } if has_code(body, SLOT_UNAVAILABLE_CODES) => BookingError::SlotUnavailable,
        E::BadRequest { validation: Some(body), .. } if has_code(body, EXPIRED_CODES) => {
            BookingError::ReservationExpired { appointment_id: id.unwrap_or_default().to_owned(), reserved_until: None }
        }
        E::BadRequest { validation, .. } => {
            BookingError::Rejected { status: 400, issues: validation.as_ref().map(describe_issues).unwrap_or_default(), request_id }
        }
        E::Conflict { .. } => BookingError::SlotUnavailable,
        // Refused before doing anything: safe to send again after the wait.
        E::RateLimited { retry_after, .. } => BookingError::RateLimited { retry_after: *retry_after, request_id },
        // Refused: Hero did not act on it (a redirect was not followed).
        E::Unauthorized { .. } | E::Forbidden { .. } | E::NotFound { .. } | E::UnexpectedStatus { .. } | E::Redirected { .. } => {
            BookingError::Rejected { status: status.unwrap_or(300), issues: Vec::new(), request_id }
        }
        // Never connected: the request cannot have reached Hero.
        E::Transport { reason, source: Some(source), .. } if source.is_connect() => {
            BookingError::Transport { reason: reason.clone(), source: Box::new(error) }
        }
        // Sent, and no usable answer: it may have taken effect.
        E::Transport { reason, .. } => unknown(reason.clone()),
        E::Server { .. } => unknown(format!("HTTP {}", status.unwrap_or(500))),
        E::Timeout { .. } => unknown(status.map_or_else(|| "timed out".to_owned(), |s| format!("HTTP {s}"))),
        E::Decode { reason, .. } => unknown(format!("the answer could not be decoded ({reason})")),
        E::ResponseTooLarge { limit, .. } => unknown(format!("the answer was over the {limit}-byte limit")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_when_asks_only_the_appointment() {
        let appointment: Appointment = serde_json::from_value(serde_json::json!({
            "id": "5001", "practitioner_id": "11", "location_id": "1", "appointment_type_id": "1",
            "cancelled_at": "2026-11-22T10:00:00Z", "start_time": null,
        }))
        .unwrap();
        let cancelled = done_when(|a: &Appointment| a.cancelled_at.is_some());
        assert!(matches!(cancelled(Ok(appointment.clone())), Ok(ReadBack::Done(_))));
        let moved = done_when(|a: &Appointment| a.start_time.is_some());
        assert!(matches!(moved(Ok(appointment)), Ok(ReadBack::NotYet)));
    }
}
