//! The in-memory journal: one process, gone with it. What tests use, and the guard against a
//! naive retry within a process.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use super::{BookingJournal, Claimed, EntryId, JournalEntry, JournalError, NewEntry, Outcome, Step};

/// A [`BookingJournal`] in memory: the one-unsettled-booking-per-patient rule and booking keys
/// hold for every [`crate::booking::Booking`] that shares it (clones of the `Arc` share one
/// journal), until the process ends. It keeps every entry for the process's life (a few hundred
/// bytes each); for a journal that outlives the process, use the `SqliteJournal` or
/// `PostgresJournal` store.
#[derive(Default)]
pub struct MemoryJournal {
    inner: Mutex<Entries>,
}

/// How many entries, never their patients or keys.
impl std::fmt::Debug for MemoryJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.lock();
        f.debug_struct("MemoryJournal")
            .field("entries", &entries.all.len())
            .field("unsettled", &entries.all.iter().filter(|e| e.outcome.is_none()).count())
            .finish()
    }
}

/// The entries (entry `n` at index `n - 1`), and the two rules' indexes: each patient's
/// unsettled entry, each key's unsettled or booked entry (by practice group), so that a check
/// costs the same with a million entries as with ten.
#[derive(Default)]
struct Entries {
    all: Vec<JournalEntry>,
    by_patient: HashMap<(String, String), EntryId>,
    by_key: HashMap<(String, String), EntryId>,
}

impl Entries {
    fn get(&self, id: EntryId) -> Option<&JournalEntry> {
        id.0.checked_sub(1).and_then(|i| usize::try_from(i).ok()).and_then(|i| self.all.get(i))
    }

    fn get_mut(&mut self, id: EntryId) -> Option<&mut JournalEntry> {
        id.0.checked_sub(1).and_then(|i| usize::try_from(i).ok()).and_then(|i| self.all.get_mut(i))
    }

    /// The entries that may refuse `new`: its patient's and its key's, per the indexes.
    fn candidates(&self, new: &NewEntry) -> Vec<&JournalEntry> {
        let group = &new.practice_group_id;
        let by_patient = new.patient_id.as_ref().and_then(|p| self.by_patient.get(&(group.clone(), p.as_str().to_owned())));
        let by_key = new.key.as_ref().and_then(|k| self.by_key.get(&(group.clone(), k.clone())));
        [by_patient, by_key].into_iter().flatten().filter_map(|id| self.get(*id)).collect()
    }
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry, oldest first (settled ones too).
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().all.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
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
fn owned<'a>(entries: &'a mut Entries, id: EntryId, owner: &str) -> Result<&'a mut JournalEntry, JournalError> {
    let entry = entries.get_mut(id).ok_or(JournalError::NotFound { entry: id })?;
    if entry.owner != owner || entry.outcome.is_some() {
        return Err(JournalError::NotOwner { entry: id });
    }
    Ok(entry)
}

#[async_trait::async_trait]
impl BookingJournal for MemoryJournal {
    async fn begin(&self, new: NewEntry) -> Result<EntryId, JournalError> {
        let mut entries = self.lock();
        if let Some(refused) = conflict(entries.candidates(&new), &new) {
            return Err(refused);
        }
        let id = EntryId(i64::try_from(entries.all.len()).unwrap_or(i64::MAX - 1) + 1);
        let group = new.practice_group_id.clone();
        if let Some(patient) = &new.patient_id {
            entries.by_patient.insert((group.clone(), patient.as_str().to_owned()), id);
        }
        if let Some(key) = &new.key {
            entries.by_key.insert((group, key.clone()), id);
        }
        entries.all.push(JournalEntry {
            id,
            practice_group_id: new.practice_group_id,
            patient_id: new.patient_id,
            key: new.key,
            request: new.request,
            step: Step::Intended,
            outcome: None,
            owner: new.owner,
            incarnation: new.incarnation,
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
        if let Some(entry) = entries.get(id)
            && entry.owner == owner
            && entry.outcome.as_ref() == Some(outcome)
        {
            return Ok(());
        }
        let entry = owned(&mut entries, id, owner)?;
        entry.outcome = Some(outcome.clone());
        let group = entry.practice_group_id.clone();
        let patient = entry.patient_id.as_ref().map(|p| (group.clone(), p.as_str().to_owned()));
        let key = entry.key.as_ref().map(|k| (group, k.clone()));
        // Settled: no longer the patient's unsettled entry; a key stays taken only if it booked.
        if let Some(patient) = patient
            && entries.by_patient.get(&patient) == Some(&id)
        {
            entries.by_patient.remove(&patient);
        }
        if let Some(key) = key
            && !matches!(outcome, Outcome::Booked { .. })
            && entries.by_key.get(&key) == Some(&id)
        {
            entries.by_key.remove(&key);
        }
        Ok(())
    }

    async fn claim_unsettled(
        &self,
        practice_group_id: &str,
        (owner, incarnation): (&str, &str),
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claimed, JournalError> {
        let mut entries = self.lock();
        let claimed = super::claimed_incarnation(incarnation);
        let claimed = entries
            .all
            .iter_mut()
            .filter(|e| {
                e.outcome.is_none()
                    && e.practice_group_id == practice_group_id
                    && (e.lease_until <= now
                        || (e.owner == owner && (e.incarnation != incarnation || !matches!(e.step, Step::Reserved { .. }))))
            })
            .map(|e| {
                e.owner = owner.to_owned();
                e.incarnation = claimed.clone();
                e.lease_until = lease_until;
                Ok(e.clone())
            })
            .collect();
        Ok(claimed)
    }

    async fn entry(&self, id: EntryId) -> Result<JournalEntry, JournalError> {
        self.lock().get(id).cloned().ok_or(JournalError::NotFound { entry: id })
    }
}
