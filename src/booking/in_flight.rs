//! Moves that got no answer and may still land.
//!
//! A reschedule whose answer was lost may be committed by Hero seconds later. If the app moves
//! the appointment again meanwhile, the late request lands afterwards and undoes the later move,
//! while the last `Ok` the app saw says otherwise. So an unanswered move is remembered here, for
//! the process (every [`crate::Client`] of it: the request in flight belongs to the process,
//! not to one handle), and a later move of the same appointment is refused until the earlier one
//! reads as landed or [`UNSETTLED_MOVE_WINDOW`] has passed.

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

fn moves() -> &'static Mutex<HashMap<Key, Move>> {
    static MOVES: OnceLock<Mutex<HashMap<Key, Move>>> = OnceLock::new();
    MOVES.get_or_init(Mutex::default)
}

pub(crate) fn key(client: &crate::Client, appointment_id: &str) -> Key {
    (client.baseurl.clone(), client.practice_group_id().to_owned(), appointment_id.to_owned())
}

/// The unanswered move of this appointment that may still land at `now`, if any (one whose
/// window has passed is forgotten).
pub(crate) fn pending(key: &Key, now: DateTime<Utc>) -> Option<Move> {
    let mut moves = moves().lock().unwrap_or_else(PoisonError::into_inner);
    // Keep the table small: forget every move that can no longer land.
    moves.retain(|_, m| m.may_land_until() > now);
    moves.get(key).cloned()
}

/// Remembers an unanswered move.
pub(crate) fn remember(key: Key, to: Move) {
    moves().lock().unwrap_or_else(PoisonError::into_inner).insert(key, to);
}

/// Forgets the move of this appointment: it landed, or a later answer settled it.
pub(crate) fn forget(key: &Key) {
    moves().lock().unwrap_or_else(PoisonError::into_inner).remove(key);
}
