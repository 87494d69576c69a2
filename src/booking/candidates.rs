//! Booking the first free slot of several: Hero's slot list lags the practice's clinical system
//! by up to 15 minutes, and staff book slots directly there, so a listed slot that is already
//! gone is a normal outcome. The strategy moves on only when a slot was *definitely* not booked.

use std::num::NonZeroUsize;

use super::{Booking, BookingError, check_ids, reservation_request};
use crate::Id;
use crate::types::{Appointment, Slot};

/// How [`Booking::book_first`] walks its candidates: at most `max_attempts` of them, in order,
/// optionally under a booking key ([`Booking::book_with_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstFree {
    max_attempts: NonZeroUsize,
    key: Option<String>,
}

impl FirstFree {
    /// Tries at most `max_attempts` candidates. A bound keeps a stale list from turning into a
    /// long string of refused reserves (each one a request Hero rate-limits).
    pub fn new(max_attempts: NonZeroUsize) -> Self {
        FirstFree { max_attempts, key: None }
    }

    /// Books under your key for this booking: with a journal, the key books once, whichever
    /// candidate it lands on.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl Default for FirstFree {
    /// At most 3 candidates.
    fn default() -> Self {
        FirstFree::new(NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN))
    }
}

impl Booking {
    /// Books the first of `candidates` that is still free: reserve and confirm it, and if Hero
    /// says it is taken ([`BookingError::SlotUnavailable`], at the reserve, or at the
    /// confirmation when staff booked the held slot in the clinical system) move on to the next,
    /// up to `how`'s bound.
    ///
    /// It moves on only after a definite "not booked". Any other outcome ends it at once and is
    /// returned as it is: above all [`BookingError::OutcomeUnknown`] (the slot may be booked:
    /// booking another could book the patient twice), but also a rate limit, a refusal or a
    /// journal's refusal. With a journal, each attempt is an entry of its own, settled as not
    /// booked before the next begins.
    ///
    /// # Errors
    ///
    /// [`BookingError::NoCandidateFree`] when every slot tried was taken (or there were none), or
    /// the first error that was not a taken slot, as [`Booking::book`] returns it. A candidate
    /// without its ids or times is [`BookingError::IncompleteSlot`] before anything is sent.
    pub async fn book_first(&self, candidates: &[Slot], patient_id: Option<&Id>, how: &FirstFree) -> Result<Appointment, BookingError> {
        let tried = &candidates[..candidates.len().min(how.max_attempts.get())];
        // Every candidate is checked before the first request: a bad one later in the list
        // would otherwise surface only after holds were made.
        let requests = tried
            .iter()
            .map(|slot| {
                let request = reservation_request(slot, patient_id)?;
                check_ids(&request)?;
                Ok(request)
            })
            .collect::<Result<Vec<_>, BookingError>>()?;
        for request in requests {
            match self.reserve_and_confirm(request, how.key.as_deref()).await {
                Err(BookingError::SlotUnavailable) => {}
                other => return other,
            }
        }
        Err(BookingError::NoCandidateFree { tried: tried.len(), offered: candidates.len() })
    }
}
