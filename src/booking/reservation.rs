//! A held slot: confirming it (settled by reading back when the answer is ambiguous) and
//! releasing it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

use super::journal::{EntryId, Outcome, Step};
use super::journaled::Entry;
use super::write::{ReadBack, classify_write, settle};
use super::{Booking, BookingError};
use super::{NotAllowed, Released};
use crate::types::{Appointment, AppointmentCreate};

/// A reservation: Hero holds the slot until [`Reservation::reserved_until`]. Confirm it with
/// [`Reservation::confirm`]; an unconfirmed hold is released by Hero when it ends.
///
/// Clones share what the reservation knows: while a confirmation sent through one clone is under
/// way or got no answer, [`Reservation::release`] of every clone refuses; once a release began,
/// `confirm` of every clone refuses.
///
/// A reservation outlives its process through [`Reservation::record`] (serde) and
/// [`Booking::resume`]: what it knows travels with it. With a journal
/// ([`Booking::with_journal`]) it also has an entry there, settled when it is booked, lapses or
/// is released, which [`Booking::recover`] settles after a crash.
#[derive(Clone)]
pub struct Reservation {
    booking: Booking,
    id: String,
    reserved_until: Option<DateTime<Utc>>,
    request: AppointmentCreate,
    /// Its journal entry, when the booking has a journal.
    entry: Option<Entry>,
    /// What this process knows about the hold's confirmations and release, shared by clones.
    state: Arc<Mutex<HoldState>>,
}

/// A [`Reservation`] as data, to keep across a restart: [`Reservation::record`] writes it,
/// [`Booking::resume`] reads it. It carries the reservation body (the patient id and the
/// reason): store it as you store patient data. Its `Debug` shows the appointment id only.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReservationRecord {
    /// The reservation's appointment id.
    pub appointment_id: String,
    /// When Hero releases the hold, if it said.
    pub reserved_until: Option<DateTime<Utc>>,
    /// The request that made it.
    pub request: AppointmentCreate,
    /// Its journal entry, if it was made with a journal.
    pub entry: Option<EntryId>,
    /// A confirmation of it got no answer (or its call was dropped) and may still book it:
    /// the resumed reservation refuses to release it, as the original did.
    pub confirmation_may_land: bool,
    /// A release of it began: the resumed reservation refuses to confirm it.
    pub releasing: bool,
}

impl std::fmt::Debug for ReservationRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReservationRecord")
            .field("appointment_id", &self.appointment_id)
            .field("reserved_until", &self.reserved_until)
            .field("entry", &self.entry)
            .field("confirmation_may_land", &self.confirmation_may_land)
            .field("releasing", &self.releasing)
            .finish_non_exhaustive()
    }
}

/// What a reservation is rebuilt from (a record, or a journal entry).
pub(super) struct Resumed {
    pub(super) id: String,
    pub(super) reserved_until: Option<DateTime<Utc>>,
    pub(super) request: AppointmentCreate,
    pub(super) entry: Option<Entry>,
    pub(super) may_land: bool,
    pub(super) releasing: bool,
}

/// Confirmations under way or unsettled, and whether a release began: `release` refuses while a
/// confirmation may land, and `confirm` refuses once a release began.
#[derive(Debug, Default)]
struct HoldState {
    /// `confirm` calls under way now.
    confirming: u32,
    /// A confirmation got no usable answer, or its call was dropped before it knew: it may
    /// still book the slot. Never cleared (a later answer does not prove it will not land).
    may_land: bool,
    /// `release` began: a cancel may be in flight.
    releasing: bool,
}

/// A `confirm` under way. Dropped without [`Confirming::settled`] (an unknown outcome, or the
/// caller's own timeout dropping the call), it leaves "may land" behind.
struct Confirming<'a> {
    state: &'a Mutex<HoldState>,
    settled: bool,
}

impl Drop for Confirming<'_> {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.confirming = state.confirming.saturating_sub(1);
        if !self.settled {
            state.may_land = true;
        }
    }
}

impl std::fmt::Debug for Reservation {
    /// The appointment id and hold, never the request: it carries the patient id and the
    /// free-text reason.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation")
            .field("id", &self.id)
            .field("reserved_until", &self.reserved_until)
            .field("entry", &self.entry.as_ref().map(|e| e.id))
            .field("state", &*self.lock())
            .finish_non_exhaustive()
    }
}

/// Reserves, recording the intent first and the hold after when the booking has a journal
/// (`key`: the caller's booking key, which needs one).
pub(super) async fn reserve(booking: Booking, request: AppointmentCreate, key: Option<&str>) -> Result<Reservation, BookingError> {
    let entry = super::journaled::begin(&booking, &request, key).await?;
    match booking.client.create_appointment().body(request.clone()).send().await {
        Ok(answer) => {
            let answer = answer.into_inner();
            let id: String = answer.id.into();
            if let Some(entry) = &entry {
                let step = Step::Reserved { appointment_id: id.clone(), reserved_until: answer.reserved_until };
                if let Err(error) = entry.record(&step, booking.client.clock().now()).await {
                    // Nothing will confirm this hold (the journal does not know it, or another
                    // owner settled the entry as not booked): give the slot back now rather than
                    // keep it from other patients until it lapses. Best effort: if this fails
                    // too, it lapses, and nothing is booked either way.
                    if let Err(release) = booking.cancel_by_id(&id, true, true, true).await {
                        tracing::debug!(error = %release, "an unrecorded hold could not be released; it lapses");
                    }
                    return Err(error);
                }
            }
            Ok(Reservation { booking, id, reserved_until: answer.reserved_until, request, entry, state: Arc::default() })
        }
        // Never re-sent: the POST may have created a hold even if its answer was lost. That
        // hold's id is unknown, so it cannot be confirmed by anyone: not booked.
        Err(error) => {
            let error = classify_write(error, "reserve", None);
            if let Some(entry) = entry {
                entry.settle(Outcome::NotBooked { reason: error.to_string() }).await;
            }
            Err(error)
        }
    }
}

impl Reservation {
    pub(super) fn resumed(booking: Booking, from: Resumed) -> Self {
        let state = HoldState { confirming: 0, may_land: from.may_land, releasing: from.releasing };
        Reservation {
            booking,
            id: from.id,
            reserved_until: from.reserved_until,
            request: from.request,
            entry: from.entry,
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// The reservation as data, to resume in a later process ([`Booking::resume`]): taken
    /// now, with what is known now (a confirmation under way counts as one that may land).
    pub fn record(&self) -> ReservationRecord {
        let state = self.lock();
        ReservationRecord {
            appointment_id: self.id.clone(),
            reserved_until: self.reserved_until,
            request: self.request.clone(),
            entry: self.entry.as_ref().map(|e| e.id),
            confirmation_may_land: state.may_land || state.confirming > 0,
            releasing: state.releasing,
        }
    }

    /// Its journal entry, when it was made with a journal.
    pub fn journal_entry(&self) -> Option<EntryId> {
        self.entry.as_ref().map(|e| e.id)
    }

    /// The appointment id of the reservation.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// When Hero releases the hold, if it said.
    pub fn reserved_until(&self) -> Option<DateTime<Utc>> {
        self.reserved_until
    }

    /// Time left on the hold by the client's clock ([`crate::Client::clock`]; zero once
    /// passed); `None` if unknown.
    pub fn time_left(&self) -> Option<Duration> {
        let now = self.booking.client.clock().now();
        self.reserved_until.map(|until| (until - now).to_std().unwrap_or(Duration::ZERO))
    }

    /// The request that made the reservation.
    pub fn request(&self) -> &AppointmentCreate {
        &self.request
    }

    /// Confirms (books) the reservation.
    ///
    /// - If the hold ends within the skew margin by the client's clock
    ///   ([`crate::Client::clock`]), no request is sent: [`BookingError::ReservationExpired`].
    /// - If the confirmation fails ambiguously (timeout, dropped connection, 408/5xx), the
    ///   appointment is read back and `booking_confirmed_at` decides: booked is `Ok`. If it is
    ///   still only reserved, the confirmation is sent once more (confirming the same
    ///   reservation twice cannot book twice) and read back again. What is still unsettled then
    ///   is [`BookingError::OutcomeUnknown`], never "nothing happened": the first confirmation
    ///   may still be committing on Hero's side.
    ///
    /// Takes `&self`, so after an error the same reservation can be checked or confirmed again.
    /// While it runs, and after an unknown outcome (or when the call is dropped before it knew),
    /// [`Reservation::release`] refuses.
    ///
    /// # Errors
    ///
    /// [`BookingError::NotAllowed`] ([`NotAllowed::Released`]: a release of it began),
    /// [`BookingError::ReservationExpired`] (nothing sent when the hold is about to end),
    /// [`BookingError::OutcomeUnknown`] when neither the answer nor reading back settles it,
    /// [`BookingError::Rejected`], [`BookingError::RateLimited`] or [`BookingError::Transport`].
    pub async fn confirm(&self) -> Result<Appointment, BookingError> {
        let mut confirming = {
            let mut state = self.lock();
            if state.releasing {
                return Err(BookingError::NotAllowed { action: "confirm", appointment_id: self.id.clone(), why: NotAllowed::Released });
            }
            state.confirming += 1;
            Confirming { state: &self.state, settled: false }
        };
        let result = self.confirm_now().await;
        // Booked, or refused for good: nothing of this call can still land.
        confirming.settled = !matches!(result, Err(BookingError::OutcomeUnknown { .. }));
        if let Some(entry) = &self.entry {
            match &result {
                Ok(_) => entry.settle(Outcome::Booked { appointment_id: self.id.clone() }).await,
                Err(BookingError::ReservationExpired { .. }) => {
                    entry.settle(Outcome::NotBooked { reason: "the hold lapsed unconfirmed".to_owned() }).await;
                }
                // Unknown: stays unsettled. Refused or unreachable: the hold is still there to
                // confirm again or release, and the entry settles then (or at recovery).
                Err(_) => {}
            }
        }
        result
    }

    /// Records in the journal, if it has an entry, that a confirmation or release is about to
    /// be sent, which also checks that this process may still act on it (another owner may have
    /// recovered it after its lease ended): `Err`, and nothing is sent, when it may not.
    async fn journal_step(&self, step: fn(String, Option<DateTime<Utc>>) -> Step) -> Result<(), BookingError> {
        match &self.entry {
            Some(entry) => entry.record(&step(self.id.clone(), self.reserved_until), self.booking.client.clock().now()).await,
            None => Ok(()),
        }
    }

    /// After [`Booking::book`]'s confirmation failed: the reservation is dropped there, so an
    /// entry no confirmation of which can land is settled now (not booked; the hold lapses)
    /// rather than blocking the patient until recovery.
    pub(super) async fn abandon(&self) {
        let may_land = {
            let state = self.lock();
            state.may_land || state.confirming > 0
        };
        if let Some(entry) = &self.entry
            && !may_land
        {
            entry
                .settle(Outcome::NotBooked { reason: "the confirmation was refused or never reached Hero; the hold lapses".to_owned() })
                .await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, HoldState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn confirm_now(&self) -> Result<Appointment, BookingError> {
        if let Some(until) = self.reserved_until
            && crate::time::earlier(until, crate::time::delta(self.booking.skew_margin)) <= self.booking.client.clock().now()
        {
            // An earlier confirmation may still land: "expired" would be a guess, and a wrong
            // one lets the patient be booked again. Only the appointment can say.
            if self.lock().may_land {
                return self.read_near_lapse().await;
            }
            return Err(self.expired());
        }
        match self.send_confirm().await {
            Err(BookingError::OutcomeUnknown { reason, .. }) => {
                let clock = self.booking.client.clock();
                settle(
                    &self.booking.client,
                    "confirm",
                    &self.id,
                    reason,
                    |read| confirmed(read, clock.now(), crate::time::delta(self.booking.skew_margin), || self.expired()),
                    || self.send_confirm(),
                )
                .await
            }
            other => other,
        }
    }

    /// The hold ends within the skew margin and an earlier confirmation may land: booked is
    /// `Ok`; gone, cancelled, or past its end by more than the margin (no confirmation can land
    /// then) is expired; anything else is still unknown. Nothing is sent.
    async fn read_near_lapse(&self) -> Result<Appointment, BookingError> {
        let margin = crate::time::delta(self.booking.skew_margin);
        let unknown = |reason: String| BookingError::OutcomeUnknown {
            operation: "confirm",
            appointment_id: Some(self.id.clone()),
            reason,
            request_id: None,
            unsettled: None,
        };
        match self.booking.client.get_appointment().id(self.id.as_str()).send().await {
            Ok(now) => {
                let now = now.into_inner();
                if now.booking_confirmed_at.is_some() {
                    Ok(now)
                } else if now.cancelled_at.is_some() || now.reserved_until.is_some_and(|u| u + margin <= self.booking.client.clock().now())
                {
                    Err(self.expired())
                } else {
                    Err(unknown("the hold ends within the clock-skew margin and an earlier confirmation may still land".to_owned()))
                }
            }
            Err(error) if error.status().is_some_and(|s| s.as_u16() == 404) => Err(self.expired()),
            Err(error) => Err(unknown(format!("an earlier confirmation may still land, and reading it back failed: {error}"))),
        }
    }

    /// One confirmation request, recorded in the journal first, its failure classified (a
    /// lapsed hold keeps its `reserved_until`).
    async fn send_confirm(&self) -> Result<Appointment, BookingError> {
        self.journal_step(|appointment_id, reserved_until| Step::Confirming { appointment_id, reserved_until }).await?;
        match self.booking.client.book_appointment().id(self.id.as_str()).send().await {
            Ok(appointment) => Ok(appointment.into_inner()),
            Err(error) => Err(match classify_write(error, "confirm", Some(&self.id)) {
                BookingError::ReservationExpired { .. } => self.expired(),
                other => other,
            }),
        }
    }

    /// Gives the hold up now, so the slot is free for anyone (Hero would otherwise keep it until
    /// [`Reservation::reserved_until`]).
    ///
    /// The appointment is read first, and only a hold is cancelled:
    /// - booked (confirmed, perhaps by a confirmation whose answer was lost) is refused,
    ///   [`NotAllowed::Booked`]: cancel a booking with [`crate::booking::Booking::cancel`],
    ///   which tells the patient and honours the practice's policy;
    /// - a hold with a confirmation of this reservation under way (from any clone) or
    ///   unanswered is refused, [`NotAllowed::ConfirmationMayLand`]: that confirmation may book
    ///   it a moment later. Past its `reserved_until` and the skew margin it cannot, and the hold
    ///   is [`Released::AlreadyGone`];
    /// - gone (404), cancelled or past its `reserved_until` is [`Released::AlreadyGone`], and
    ///   nothing is sent.
    ///
    /// Once a release began, `confirm` of any clone refuses ([`NotAllowed::Released`]). A hold
    /// is then cancelled without mail and outside any cancellation policy (a hold is the
    /// partner's own). An ambiguous answer is settled by reading back; a read-back that shows it
    /// booked stops there ([`NotAllowed::Booked`]), and the cancel is never sent again. A
    /// confirmation from another process between the read and the cancel is not known here.
    ///
    /// # Errors
    ///
    /// [`BookingError::NotAllowed`] (nothing sent), [`BookingError::Rejected`],
    /// [`BookingError::OutcomeUnknown`], [`BookingError::RateLimited`] or
    /// [`BookingError::Transport`].
    pub async fn release(self) -> Result<Released, BookingError> {
        let result = self.release_now().await;
        if let Some(entry) = &self.entry {
            match &result {
                Ok(_) => entry.settle(Outcome::NotBooked { reason: "released".to_owned() }).await,
                Err(BookingError::NotAllowed { why: NotAllowed::Booked, .. }) => {
                    entry.settle(Outcome::Booked { appointment_id: self.id.clone() }).await;
                }
                Err(_) => {}
            }
        }
        result
    }

    async fn release_now(&self) -> Result<Released, BookingError> {
        let refuse = |why| BookingError::NotAllowed { action: "release", appointment_id: self.id.clone(), why };
        // Decided under the lock: no confirmation of this process can start once it says go.
        let may_land = {
            let mut state = self.lock();
            let may_land = state.confirming > 0 || state.may_land;
            state.releasing |= !may_land;
            may_land
        };
        let now = match self.booking.client.get_appointment().id(self.id.as_str()).send().await {
            Ok(now) => now.into_inner(),
            Err(error) if error.status().is_some_and(|s| s.as_u16() == 404) => return Ok(Released::AlreadyGone),
            Err(error) => return Err(error.into()),
        };
        if now.cancelled_at.is_some() {
            return Ok(Released::AlreadyGone);
        }
        if now.booking_confirmed_at.is_some() {
            return Err(refuse(NotAllowed::Booked));
        }
        // Lapsed by the client's clock; while a confirmation may land, only once the skew margin
        // has passed too (Hero's clock may be behind, and the confirmation would still book).
        let margin = if may_land { crate::time::delta(self.booking.skew_margin) } else { chrono::Duration::zero() };
        if now.reserved_until.is_some_and(|until| until + margin <= self.booking.client.clock().now()) {
            return Ok(Released::AlreadyGone);
        }
        if may_land {
            return Err(refuse(NotAllowed::ConfirmationMayLand));
        }
        self.journal_step(|appointment_id, reserved_until| Step::Releasing { appointment_id, reserved_until }).await?;
        match self.booking.cancel_by_id(&self.id, true, true, true).await {
            Ok(appointment) => Ok(Released::Freed(Box::new(appointment))),
            // Hero no longer has it (lapsed, or released meanwhile): the slot is free.
            Err(BookingError::Rejected { status: 404, .. } | BookingError::ReservationExpired { .. }) => Ok(Released::AlreadyGone),
            Err(error) => Err(error),
        }
    }

    fn expired(&self) -> BookingError {
        BookingError::ReservationExpired { appointment_id: self.id.clone(), reserved_until: self.reserved_until }
    }
}

/// What a reservation read back says about its confirmation: booked, lapsed (or gone: Hero
/// answers 404 for a released hold), or still only reserved. "Still reserved" is not "failed":
/// a server usually finishes a request after the client hung up. `now` is the client's clock
/// when the answer was read; a hold counts as lapsed only `margin` after its end (Hero's clock
/// may be behind, and the confirmation just sent would still book it).
fn confirmed(
    read: Result<Appointment, crate::Error>,
    now: DateTime<Utc>,
    margin: chrono::Duration,
    expired: impl Fn() -> BookingError,
) -> Result<ReadBack, String> {
    match read {
        Ok(appointment) if appointment.booking_confirmed_at.is_some() => Ok(ReadBack::Done(Box::new(appointment))),
        Ok(appointment) if appointment.reserved_until.is_some_and(|until| until + margin <= now) => Ok(ReadBack::Never(expired())),
        Ok(_) => Ok(ReadBack::NotYet),
        Err(error) if error.status().is_some_and(|s| s.as_u16() == 404) => Ok(ReadBack::Never(expired())),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reservation(confirmed_at: Option<DateTime<Utc>>, reserved_until: DateTime<Utc>) -> Appointment {
        serde_json::from_value(serde_json::json!({
            "id": "5001", "practitioner_id": "11", "location_id": "1", "appointment_type_id": "1",
            "start_time": reserved_until + chrono::Duration::days(1), "booking_confirmed_at": confirmed_at, "reserved_until": reserved_until,
        }))
        .unwrap()
    }

    #[test]
    fn a_read_back_confirmation_is_booked_lapsed_or_not_yet() {
        let now: DateTime<Utc> = "2026-03-29T00:59:30Z".parse().unwrap();
        let expired = || BookingError::ReservationExpired { appointment_id: "5001".into(), reserved_until: None };
        let later = now + chrono::Duration::minutes(5);
        let margin = chrono::Duration::seconds(5);
        assert!(matches!(confirmed(Ok(reservation(Some(now), later)), now, margin, expired), Ok(ReadBack::Done(_))));
        // Booked wins over a hold that has since ended.
        let ended = now - chrono::Duration::minutes(5);
        assert!(matches!(confirmed(Ok(reservation(Some(now), ended)), now, margin, expired), Ok(ReadBack::Done(_))));
        assert!(matches!(confirmed(Ok(reservation(None, later)), now, margin, expired), Ok(ReadBack::NotYet)));
        // Ended a second ago by our clock: Hero's may be behind, and the confirmation just sent
        // may still book it. Past the margin it cannot.
        let just = now - chrono::Duration::seconds(1);
        assert!(matches!(confirmed(Ok(reservation(None, just)), now, margin, expired), Ok(ReadBack::NotYet)));
        assert!(matches!(
            confirmed(Ok(reservation(None, now - chrono::Duration::seconds(6))), now, margin, expired),
            Ok(ReadBack::Never(BookingError::ReservationExpired { .. }))
        ));
    }
}
