//! What happens in the practice's clinical system (EMIS Web, SystmOne) behind Hero's back, as
//! Hero's product pages describe it: staff book slots directly in the diary (even a slot Hero
//! holds), Hero's slot list shows a change only after a lag (up to 15 minutes), and a patient Hero
//! cannot match is booked into a placeholder record that is relinked later.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::Id;
use crate::types::Slot;

/// The clinical system's side of the mock's state.
#[derive(Debug, Default)]
pub(crate) struct Clinical {
    /// Slots staff booked in the clinical system, by slot id, and when (the mock's clock).
    booked: BTreeMap<String, DateTime<Utc>>,
    /// Slots staff will book in the clinical system the moment Hero holds them.
    when_held: BTreeSet<String>,
    /// How long Hero's slot list takes to show a change made in the clinical system.
    lag: chrono::Duration,
    /// Patients Hero cannot match yet: their appointments go into the placeholder record.
    unmatched: BTreeSet<String>,
}

impl Clinical {
    pub(crate) fn new(lag: chrono::Duration) -> Self {
        Clinical { lag, ..Self::default() }
    }

    /// Staff book `slot` now.
    pub(crate) fn book(&mut self, slot: &Slot, now: DateTime<Utc>) {
        if let Some(id) = &slot.id {
            self.booked.entry(id.clone()).or_insert(now);
        }
    }

    /// Staff book `slot` as soon as Hero holds it.
    pub(crate) fn book_when_held(&mut self, slot: &Slot) {
        if let Some(id) = &slot.id {
            self.when_held.insert(id.clone());
        }
    }

    /// Hero just held `slot`: staff waiting for it book it now.
    pub(crate) fn held(&mut self, slot: &Slot, now: DateTime<Utc>) {
        if slot.id.as_ref().is_some_and(|id| self.when_held.remove(id)) {
            self.book(slot, now);
        }
    }

    /// Whether the clinical system has `slot` booked: Hero cannot reserve or confirm it.
    pub(crate) fn has(&self, slot: &Slot) -> bool {
        slot.id.as_ref().is_some_and(|id| self.booked.contains_key(id))
    }

    /// Whether Hero's slot list shows the clinical booking of `slot` at `now` (the lag passed).
    pub(crate) fn listed_as_taken(&self, slot_id: Option<&str>, now: DateTime<Utc>) -> bool {
        slot_id.and_then(|id| self.booked.get(id)).is_some_and(|at| *at + self.lag <= now)
    }

    pub(crate) fn unmatched(&mut self, patient: &Id) {
        self.unmatched.insert(patient.as_str().to_owned());
    }

    /// Who an appointment for `patient` is booked against: the placeholder record while Hero
    /// cannot match them, with the patient remembered for the relink.
    pub(crate) fn booked_against(&self, patient: Option<Id>) -> (Option<Id>, Option<Id>) {
        match patient {
            Some(p) if self.unmatched.contains(p.as_str()) => (Some(Id::from(PLACEHOLDER_PATIENT_ID)), Some(p)),
            other => (other, None),
        }
    }

    /// The unmatched patients are matched now: later bookings go to their own records.
    pub(crate) fn match_all(&mut self) {
        self.unmatched.clear();
    }
}

/// The placeholder patient record ("Unregistered Patient" in SystmOne; a placeholder slot type in
/// EMIS) the mock books an unmatched patient into.
pub const PLACEHOLDER_PATIENT_ID: u64 = 999_999;
