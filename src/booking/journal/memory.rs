//! The in-memory journal: one process, gone with it. What tests use, and the guard against a
//! naive retry within a process.

use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use super::{BookingJournal, EntryId, JournalEntry, JournalError, NewEntry, Outcome, Step};

/// A [`BookingJournal`] in memory: the one-unsettled-booking-per-patient rule and booking keys
/// hold for every [`crate::booking::Booking`] that shares it (clones share one journal), until
/// the process ends. For a journal that outlives the process, use the `SqliteJournal` or
/// `PostgresJournal` store.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    entries: Mutex<Vec<JournalEntry>>,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry, oldest first (settled ones too).
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<JournalEntry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Which entry refuses `new`, if one does: the rule every store applies in its one atomic step.
pub(super) fn conflict<'a>(entries: impl IntoIterator<Item = &'a JournalEntry>, new: &NewEntry) -> Option<JournalError> {
    for entry in entries {
        if entry.practice_group_id != new.practice_group_id {
            continue;
        }
        let same_patient = new.patient_id.is_some() && entry.patient_id == new.patient_id;
        let same_key = new.key.is_some() && entry.key == new.key;
        match &entry.outcome {
            None if same_patient || same_key => {
                return Some(JournalError::Unsettled { entry: entry.id, appointment_id: entry.appointment_id().map(str::to_owned) });
            }
            Some(Outcome::Booked { appointment_id }) if same_key => {
                return Some(JournalError::AlreadyBooked { entry: entry.id, appointment_id: appointment_id.clone() });
            }
            _ => {}
        }
    }
    None
}

/// The entry `id`, if `owner` may still act on it (it owns it, and it is unsettled).
fn owned<'a>(entries: &'a mut [JournalEntry], id: EntryId, owner: &str) -> Result<&'a mut JournalEntry, JournalError> {
    let entry = entries.iter_mut().find(|e| e.id == id).ok_or(JournalError::NotFound { entry: id })?;
    if entry.owner != owner || entry.outcome.is_some() {
        return Err(JournalError::NotOwner { entry: id });
    }
    Ok(entry)
}

#[async_trait::async_trait]
impl BookingJournal for MemoryJournal {
    async fn begin(&self, new: NewEntry) -> Result<EntryId, JournalError> {
        let mut entries = self.lock();
        if let Some(refused) = conflict(entries.iter(), &new) {
            return Err(refused);
        }
        let id = EntryId(entries.last().map_or(1, |last| last.id.0 + 1));
        entries.push(JournalEntry {
            id,
            practice_group_id: new.practice_group_id,
            patient_id: new.patient_id,
            key: new.key,
            request: new.request,
            step: Step::Intended,
            outcome: None,
            owner: new.owner,
            lease_until: new.lease_until,
            created_at: new.at,
        });
        Ok(id)
    }

    async fn record(&self, id: EntryId, owner: &str, step: &Step, lease_until: DateTime<Utc>) -> Result<(), JournalError> {
        let mut entries = self.lock();
        let entry = owned(&mut entries, id, owner)?;
        entry.step = step.clone();
        entry.lease_until = lease_until;
        Ok(())
    }

    async fn settle(&self, id: EntryId, owner: &str, outcome: &Outcome) -> Result<(), JournalError> {
        let mut entries = self.lock();
        if let Some(entry) = entries.iter().find(|e| e.id == id)
            && entry.owner == owner
            && entry.outcome.as_ref() == Some(outcome)
        {
            return Ok(());
        }
        owned(&mut entries, id, owner)?.outcome = Some(outcome.clone());
        Ok(())
    }

    async fn claim_unsettled(
        &self,
        practice_group_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<JournalEntry>, JournalError> {
        let mut entries = self.lock();
        let claimed = entries
            .iter_mut()
            .filter(|e| e.outcome.is_none() && e.practice_group_id == practice_group_id && (e.owner == owner || e.lease_until <= now))
            .map(|e| {
                e.owner = owner.to_owned();
                e.lease_until = lease_until;
                e.clone()
            })
            .collect();
        Ok(claimed)
    }

    async fn entry(&self, id: EntryId) -> Result<JournalEntry, JournalError> {
        self.lock().iter().find(|e| e.id == id).cloned().ok_or(JournalError::NotFound { entry: id })
    }
}
