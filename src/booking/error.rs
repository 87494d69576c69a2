//! What can go wrong while booking, classified by what the caller should do next.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::journal::JournalError;
use crate::error::describe_issues;
use crate::types::ValidationError;

/// Validation codes Hero's booking endpoints answer with (inside a 400 `ValidationError`) when
/// the slot was taken or the hold lapsed. Hero's reference does not list them: these are the
/// codes the crate's mock server uses, kept in one place so a correction is one edit.
pub(crate) const SLOT_UNAVAILABLE_CODES: &[&str] = &["slot_unavailable", "slot_taken", "not_available"];
pub(crate) const EXPIRED_CODES: &[&str] = &["reservation_expired", "expired"];

/// A booking step failed. Each message says what to do next; none contains patient data or
/// the API key.
///
/// `#[non_exhaustive]`, as is each variant with named fields: a `match` needs a `_` arm and a
/// field pattern ends with `..` (`RateLimited { retry_after, .. }`), so a new variant or field is
/// not a breaking change (README, "Matching errors").
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BookingError {
    /// Another reservation holds the slot, or it was booked. Nothing was reserved by this
    /// request. The holder can be a reservation of yours whose answer was lost
    /// ([`BookingError::OutcomeUnknown`] from `reserve`): that hold lapses at its
    /// `reserved_until`.
    #[error(
        "the slot is no longer available: another reservation holds it or it was booked (possibly your own earlier reserve whose answer was lost); list slots again and pick another"
    )]
    SlotUnavailable,
    /// The hold lapsed before confirmation, so Hero released the slot.
    #[error(
        "reservation {appointment_id} expired{} and the slot was released; reserve a slot again",
        .reserved_until.map(|t| format!(" at {t}")).unwrap_or_default()
    )]
    #[non_exhaustive]
    ReservationExpired {
        /// The reservation's appointment id.
        appointment_id: String,
        /// When the hold ended, if known.
        reserved_until: Option<DateTime<Utc>>,
    },
    /// A request that changes state may or may not have taken effect (timeout, dropped
    /// connection, 5xx), and checking did not settle it.
    #[error("{}", outcome_unknown_message(.operation, .appointment_id.as_deref(), .reason))]
    #[non_exhaustive]
    OutcomeUnknown {
        /// `reserve` or `confirm`.
        operation: &'static str,
        /// The appointment concerned, when known (a lost reserve answer has none).
        appointment_id: Option<String>,
        /// What went wrong, without any body.
        reason: String,
        /// The answer's `x-request-id`, when there was an answer (for Hero support).
        request_id: Option<String>,
        /// A cancel or reschedule as data, to settle later (also after a restart):
        /// [`crate::booking::Booking::settle_write`]. `None` for a reserve or confirm (those
        /// settle through the reservation and the journal).
        unsettled: Option<Box<super::UnsettledWrite>>,
    },
    /// Hero refused the request. Fix the request before sending it again.
    #[error("Hero rejected the request (HTTP {status}){}; fix the request (it will fail the same way if re-sent unchanged)", issues_suffix(.issues))]
    #[non_exhaustive]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Hero's validation issues, as `path: code (expected …)`; empty if there was no body.
        issues: Vec<String>,
        /// The answer's `x-request-id` (for Hero support).
        request_id: Option<String>,
    },
    /// Over the agreed rate limit: Hero refused before doing anything, so sending the same
    /// request again after the wait is safe.
    #[error("rate limited by Hero (HTTP 429); nothing was done: wait {} and try again", .retry_after.map(|d| format!("{} s", d.as_secs())).unwrap_or_else(|| "a moment".into()))]
    #[non_exhaustive]
    RateLimited {
        /// How long Hero asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
        /// The answer's `x-request-id`.
        request_id: Option<String>,
    },
    /// The slot lacks a field a reservation needs.
    #[error("the slot has no {field}; pass a slot returned by `slots()` (or fill in {field})")]
    #[non_exhaustive]
    IncompleteSlot {
        /// The missing field.
        field: &'static str,
    },
    /// The request was not sent: a value is invalid (checked client-side).
    #[error("the request was not sent: {reason}; fix that field")]
    #[non_exhaustive]
    InvalidInput {
        /// Which field, and why (never the value).
        reason: String,
    },
    /// Refused before sending anything: the appointment says about itself that this cannot be
    /// done (see [`NotAllowed`] for why, and whether overriding the policy would help).
    #[error("{action} of appointment {appointment_id} refused, nothing was sent: {why}")]
    #[non_exhaustive]
    NotAllowed {
        /// `cancel`, `reschedule` or `release`.
        action: &'static str,
        /// The appointment concerned.
        appointment_id: String,
        /// Why.
        why: NotAllowed,
    },
    /// The request never got an answer, or the answer was unusable, and nothing was changed (or
    /// the call only reads). Safe to try again when [`BookingError::is_retryable`] says so: not
    /// for an answer that does not decode or is over the size limit, which Hero would send the
    /// same way again.
    #[error("could not complete the request to Hero ({reason}); nothing was booked or changed{}", retry_hint(source))]
    #[non_exhaustive]
    Transport {
        /// What went wrong, without any body.
        reason: String,
        /// The call's error, which keeps its own cause (down to the io error), without URLs.
        #[source]
        source: Box<crate::Error>,
    },
    /// [`crate::booking::Booking::book_first`] found none of the slots it tried free: each was
    /// taken (Hero's slot list lags the practice's clinical system, where staff also book).
    /// Nothing was booked.
    #[error(
        "none of the {tried} slot(s) tried (of {offered} offered) was still free: Hero's slot list lags the practice's clinical system by up to 15 minutes, and staff book there directly; list slots again and offer fresh ones"
    )]
    #[non_exhaustive]
    NoCandidateFree {
        /// How many candidates were tried (the bound, or fewer if fewer were offered).
        tried: usize,
        /// How many were offered.
        offered: usize,
    },
    /// The booking journal refused the step ([`JournalError::Unsettled`]: the patient has an
    /// unsettled booking; [`JournalError::AlreadyBooked`]: the key booked already) or could not
    /// be written. Each says what was sent and what to do.
    #[error(transparent)]
    Journal(JournalError),
}

/// Why [`BookingError::NotAllowed`] refused a cancel, reschedule or release before sending it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotAllowed {
    /// It is already cancelled (`cancelled_at` is set).
    #[error("it is already cancelled")]
    AlreadyCancelled,
    /// Hero says it cannot be cancelled (`can_be_cancelled` is false).
    #[error("Hero marks it as not cancellable (can_be_cancelled is false); `Cancellation::overriding_policy()` sends it anyway")]
    NotCancellable,
    /// Hero says it cannot be rescheduled (`can_be_rescheduled` is false).
    #[error(
        "Hero marks it as not reschedulable (can_be_rescheduled is false); cancel it and book the new slot instead, or `Reschedule::ignoring_flags()`"
    )]
    NotReschedulable,
    /// It starts within the practice's cancellation window (`cancellation_policy_hours`).
    #[error(
        "it starts at {starts_at}, within the practice's {hours} h cancellation window; `Cancellation::overriding_policy()` cancels anyway (suppress_cancellation_policy)"
    )]
    #[non_exhaustive]
    InsidePolicyWindow {
        /// The window, in hours before the start.
        hours: u64,
        /// When the appointment starts.
        starts_at: DateTime<Utc>,
    },
    /// An earlier reschedule of it from this process is under way or got no answer, and may
    /// still land: moving it again now could be undone by that late request.
    #[error(
        "an earlier reschedule of it is under way or got no answer, and may still land (until {may_land_until}); read it with `appointment(id)`: once it shows the earlier move (or after that time) it can be moved again"
    )]
    #[non_exhaustive]
    EarlierMoveUnsettled {
        /// Until when the earlier request is taken to possibly still land.
        may_land_until: DateTime<Utc>,
    },
    /// It is booked (confirmed), not only held: releasing it would cancel the patient's
    /// appointment without telling them.
    #[error("it is booked, not only held; cancel it with `Booking::cancel` (the practice's policy applies and the patient is told)")]
    Booked,
    /// A confirmation of this hold is under way, or got no answer, and may still book it.
    #[error(
        "a confirmation of it is under way or got no answer, and may still book it; confirm it again to settle that, or release it after its reserved_until (Hero frees it then anyway)"
    )]
    ConfirmationMayLand,
    /// The reservation is being released, or was: a confirmation now could book a slot whose
    /// cancel is in flight.
    #[error("it is being released or was released; reserve a slot again")]
    Released,
    /// It is a reservation, not a confirmed appointment: release or edit it instead.
    #[error("it is only reserved, not confirmed; use `Reservation::release()` or `edit_appointment()`")]
    NotConfirmed,
}

fn outcome_unknown_message(operation: &str, appointment_id: Option<&str>, reason: &str) -> String {
    match (operation, appointment_id) {
        ("reserve", _) => format!(
            "the reserve request got no usable answer ({reason}); a hold may exist on this slot until its reserved_until passes. \
             It was not re-sent: list slots to see whether it is still free before reserving again"
        ),
        ("confirm", Some(id)) => format!(
            "could not tell whether appointment {id} was confirmed ({reason}); confirm the same reservation again (that cannot book twice; \
             after `book()`, which does not return it, `Booking::recover()` with a journal does) or check `appointment(\"{id}\")` later, \
             and do not reserve another slot for this patient until it is settled"
        ),
        (_, Some(id)) => format!(
            "could not tell whether the {operation} of appointment {id} took effect ({reason}); check with `appointment(\"{id}\")` before trying again, never re-book blindly"
        ),
        (_, None) => format!("the {operation} request got no usable answer ({reason}); check before trying again"),
    }
}

fn issues_suffix(issues: &[String]) -> String {
    if issues.is_empty() { String::new() } else { format!(": {}", issues.join("; ")) }
}

/// Does the 400 body carry one of `codes`?
pub(crate) fn has_code(body: &ValidationError, codes: &[&str]) -> bool {
    body.message.iter().any(|issue| codes.contains(&issue.code.as_str()))
}

impl BookingError {
    /// The `x-request-id` of Hero's answer, when the error came with one: quote it to Hero
    /// support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            BookingError::Rejected { request_id, .. }
            | BookingError::OutcomeUnknown { request_id, .. }
            | BookingError::RateLimited { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// Whether sending the same request again later may succeed and cannot do harm: a rate
    /// limit, or a failure where nothing was done. Not [`BookingError::OutcomeUnknown`]: check
    /// first whether the first attempt took effect.
    pub fn is_retryable(&self) -> bool {
        match self {
            BookingError::RateLimited { .. } => true,
            // A connection that failed, a 5xx or a timeout, yes; an answer that does not decode
            // or is too large would come back the same: a retry loop would never end.
            BookingError::Transport { source, .. } => source.is_retryable(),
            _ => false,
        }
    }

    /// How long to wait before retrying, when Hero said (`Retry-After` of a 429).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            BookingError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn retry_hint(source: &crate::Error) -> &'static str {
    if source.is_retryable() { ", it is safe to try again" } else { "; trying again gets the same answer" }
}

impl From<crate::Error> for BookingError {
    /// For calls that only read: a value the caller passed that could not be sent is
    /// `InvalidInput` (sending it again fails the same way), a refusal is `Rejected`, a rate
    /// limit `RateLimited`, anything else `Transport`, retryable when the call's error is (not an
    /// answer that does not decode or is too large).
    fn from(error: crate::Error) -> Self {
        let request_id = error.request_id().map(str::to_owned);
        match (&error, error.status()) {
            (crate::Error::InvalidRequest { reason }, _) => BookingError::InvalidInput { reason: reason.clone() },
            (crate::Error::RateLimited { retry_after, .. }, _) => BookingError::RateLimited { retry_after: *retry_after, request_id },
            (_, Some(status)) if status.is_client_error() && !error.is_retryable() => BookingError::Rejected {
                status: status.as_u16(),
                issues: error.validation().map(describe_issues).unwrap_or_default(),
                request_id,
            },
            _ => BookingError::Transport { reason: error.to_string(), source: Box::new(error) },
        }
    }
}
