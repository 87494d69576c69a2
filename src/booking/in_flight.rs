//! Moves that got no answer and may still land.
//!
//! A reschedule whose answer was lost may be committed by Hero seconds later. If the app moves
//! the appointment again meanwhile, the late request lands afterwards and undoes the later move,
//! while the last `Ok` the app saw says otherwise. So an unanswered move is remembered here, for
//! the process (every [`crate::Client`] of it: the request in flight belongs to the process,
//! not to one handle) from the moment it is sent, and a later move of the same appointment is
//! refused until the earlier one is answered, reads as landed, or [`UNSETTLED_MOVE_WINDOW`] has
//! passed.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use chrono::{DateTime, Utc};

/// How long a reschedule that got no answer is taken to possibly still land, from when it was
/// sent (by the client's clock). Hero does not say how long it may take to commit a request
/// whose client hung up; five minutes is far beyond any gateway timeout (an inference, not
/// Hero's figure).
pub const UNSETTLED_MOVE_WINDOW: std::time::Duration = std::time::Duration::from_secs(300);

/// Which appointment: the server (base URL), the practice group, the appointment id.
type Key = (String, String, String);

/// Where an unanswered move was going, and when it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Move {
    pub(crate) practitioner_id: String,
    pub(crate) start_time: DateTime<Utc>,
    pub(crate) sent_at: DateTime<Utc>,
}

impl Move {
    /// Whether `appointment` shows this move landed.
    pub(crate) fn landed(&self, appointment: &crate::types::Appointment) -> bool {
        appointment.start_time == Some(self.start_time) && appointment.practitioner_id.as_str() == self.practitioner_id
    }

    /// Until when it may still land.
    pub(crate) fn may_land_until(&self) -> DateTime<Utc> {
        self.sent_at + crate::time::delta(UNSETTLED_MOVE_WINDOW)
    }
}

/// An entry: the move, and when it was made by the monotonic clock (only to keep the table
/// small; whether it may still land is judged by the client's clock).
type Entry = (Move, std::time::Instant);

fn moves() -> &'static Mutex<HashMap<Key, Entry>> {
    static MOVES: OnceLock<Mutex<HashMap<Key, Entry>>> = OnceLock::new();
    MOVES.get_or_init(Mutex::default)
}

pub(crate) fn key(client: &crate::Client, appointment_id: &str) -> Key {
    (client.baseurl.clone(), client.practice_group_id().to_owned(), appointment_id.to_owned())
}

/// Claims the appointment for a move about to be sent: `Err` with the earlier move when one
/// that may still land at `now` (by the caller's clock) holds it. Check and claim are one step,
/// so two concurrent moves cannot both pass. The claim stays until [`forget`]: a call dropped
/// before it knew leaves it, as a request that may land.
pub(crate) fn claim(key: &Key, to: Move, now: DateTime<Utc>) -> Result<(), Move> {
    let mut moves = moves().lock().unwrap_or_else(PoisonError::into_inner);
    // Forget what is long past for anyone (twice the window, by the monotonic clock).
    let stale = std::time::Instant::now().checked_sub(UNSETTLED_MOVE_WINDOW * 2);
    moves.retain(|_, (_, made)| stale.is_none_or(|stale| *made > stale));
    if let Some((earlier, _)) = moves.get(key)
        && earlier.may_land_until() > now
    {
        return Err(earlier.clone());
    }
    moves.insert(key.clone(), (to, std::time::Instant::now()));
    Ok(())
}

/// Forgets the move of this appointment: it landed, or an answer settled it.
pub(crate) fn forget(key: &Key) {
    moves().lock().unwrap_or_else(PoisonError::into_inner).remove(key);
}
