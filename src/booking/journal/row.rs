//! What the SQL stores share: the table, the statements, and an entry as a row.
//!
//! One set of statements for SQLite and PostgreSQL: both take `$1`, `$2`… (SQLite numbers
//! parameters by first appearance, so each statement names them in ascending order), partial
//! unique indexes, `ON CONFLICT DO NOTHING` and `RETURNING`. The rule "one unsettled booking per
//! patient, a key booked once" is the two partial unique indexes: the database enforces it in
//! the insert itself, across connections and replicas, with no lock held between statements.
//! Times are milliseconds since the epoch by the client's clock (not the database's: tests and
//! the mock pick their instant).

#![cfg_attr(not(any(feature = "journal-sqlite", feature = "journal-postgres")), allow(dead_code))]

use chrono::{DateTime, Utc};

use super::{EntryId, JournalEntry, JournalError, NewEntry, Outcome, Step};

/// The table and its indexes, after the `CREATE TABLE … (id <key>,` that differs per store.
pub(super) const TABLE_REST: &str = "
    practice_group_id TEXT NOT NULL,
    patient_id TEXT,
    booking_key TEXT,
    request TEXT NOT NULL,
    step TEXT NOT NULL,
    stage TEXT NOT NULL,
    outcome TEXT,
    booked BOOLEAN NOT NULL DEFAULT FALSE,
    owner TEXT NOT NULL,
    incarnation TEXT NOT NULL,
    lease_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS hero_health_booking_journal_patient
    ON hero_health_booking_journal (practice_group_id, patient_id) WHERE outcome IS NULL AND patient_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS hero_health_booking_journal_key
    ON hero_health_booking_journal (practice_group_id, booking_key) WHERE booking_key IS NOT NULL AND (outcome IS NULL OR booked);
CREATE INDEX IF NOT EXISTS hero_health_booking_journal_unsettled
    ON hero_health_booking_journal (practice_group_id) WHERE outcome IS NULL;
";

/// Inserts an entry unless a unique index refuses it: then no row comes back.
pub(super) const INSERT: &str = "INSERT INTO hero_health_booking_journal
    (practice_group_id, patient_id, booking_key, request, step, stage, owner, incarnation, lease_until, created_at)
    VALUES ($1, $2, $3, $4, $5, 'intended', $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id";

/// The entries that can refuse a new one: the same patient unsettled, the same key unsettled
/// or booked.
pub(super) const CONFLICTS: &str =
    "SELECT id, practice_group_id, patient_id, booking_key, request, step, outcome, owner, incarnation, lease_until, created_at
    FROM hero_health_booking_journal
    WHERE practice_group_id = $1 AND ((patient_id = $2 AND outcome IS NULL) OR (booking_key = $3 AND (outcome IS NULL OR booked)))
    ORDER BY id";

pub(super) const RECORD: &str = "UPDATE hero_health_booking_journal SET step = $1, stage = $2, lease_until = $3
    WHERE id = $4 AND owner = $5 AND outcome IS NULL";

pub(super) const SETTLE: &str = "UPDATE hero_health_booking_journal SET outcome = $1, booked = $2
    WHERE id = $3 AND owner = $4 AND outcome IS NULL";

/// `$3` is the claimed incarnation ([`super::claimed_incarnation`] of `$6`, the claiming run's):
/// the claiming run's own holds it has not acted on (incarnation `$6`, stage `reserved`) are
/// never taken.
pub(super) const CLAIM: &str = "UPDATE hero_health_booking_journal SET owner = $1, lease_until = $2, incarnation = $3
    WHERE practice_group_id = $4 AND outcome IS NULL
        AND (lease_until <= $5 OR (owner = $1 AND (incarnation <> $6 OR stage <> 'reserved')))
    RETURNING id, practice_group_id, patient_id, booking_key, request, step, outcome, owner, incarnation, lease_until, created_at";

pub(super) const ENTRY: &str =
    "SELECT id, practice_group_id, patient_id, booking_key, request, step, outcome, owner, incarnation, lease_until, created_at
    FROM hero_health_booking_journal WHERE id = $1";

/// An entry as stored.
pub(super) struct Row {
    pub(super) id: i64,
    pub(super) practice_group_id: String,
    pub(super) patient_id: Option<String>,
    pub(super) key: Option<String>,
    pub(super) request: String,
    pub(super) step: String,
    pub(super) outcome: Option<String>,
    pub(super) owner: String,
    pub(super) incarnation: String,
    pub(super) lease_until: i64,
    pub(super) created_at: i64,
}

/// A new entry's values, in [`INSERT`]'s order (`$1`…`$9`).
pub(super) struct Insert {
    pub(super) practice_group_id: String,
    pub(super) patient_id: Option<String>,
    pub(super) key: Option<String>,
    pub(super) request: String,
    pub(super) step: String,
    pub(super) owner: String,
    pub(super) incarnation: String,
    pub(super) lease_until: i64,
    pub(super) created_at: i64,
}

pub(super) fn insert(new: &NewEntry) -> Insert {
    Insert {
        practice_group_id: new.practice_group_id.clone(),
        patient_id: new.patient_id.as_ref().map(|id| id.as_str().to_owned()),
        key: new.key.clone(),
        // A generated type and a plain enum: serializing them cannot fail.
        request: serde_json::to_string(&new.request).unwrap_or_default(),
        step: encode_step(&Step::Intended),
        owner: new.owner.clone(),
        incarnation: new.incarnation.clone(),
        lease_until: millis(new.lease_until),
        created_at: millis(new.at),
    }
}

pub(super) fn encode_step(step: &Step) -> String {
    serde_json::to_string(step).unwrap_or_default()
}

pub(super) fn encode_outcome(outcome: &Outcome) -> String {
    serde_json::to_string(outcome).unwrap_or_default()
}

pub(super) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

impl Row {
    pub(super) fn into_entry(self) -> Result<JournalEntry, JournalError> {
        let id = EntryId(self.id);
        // Where and what kind, never serde's message: it quotes the value (a patient id, a reason).
        let corrupt = |what: &str, why: String| JournalError::Corrupt { entry: id, reason: format!("{what}: {why}") };
        let json =
            |what: &str, e: serde_json::Error| corrupt(what, format!("{:?} at line {} column {}", e.classify(), e.line(), e.column()));
        let instant = |what: &str, ms: i64| DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(what, "out of range".into()));
        Ok(JournalEntry {
            id,
            practice_group_id: self.practice_group_id,
            patient_id: self.patient_id.map(crate::Id::received),
            key: self.key,
            request: serde_json::from_str(&self.request).map_err(|e| json("request", e))?,
            step: serde_json::from_str(&self.step).map_err(|e| json("step", e))?,
            outcome: self.outcome.as_deref().map(serde_json::from_str).transpose().map_err(|e| json("outcome", e))?,
            owner: self.owner,
            incarnation: self.incarnation,
            lease_until: instant("lease_until", self.lease_until)?,
            created_at: instant("created_at", self.created_at)?,
        })
    }
}

/// Why a write of `owner` to `entry` changed no row, read back from the entry as it is.
pub(super) fn not_written(entry: Result<JournalEntry, JournalError>, owner: &str, outcome: Option<&Outcome>) -> Result<(), JournalError> {
    let entry = entry?;
    // Settling again with the outcome already recorded is done, not refused.
    if outcome.is_some() && entry.owner == owner && entry.outcome.as_ref() == outcome {
        return Ok(());
    }
    Err(JournalError::NotOwner { entry: entry.id })
}

/// The refusal for a new entry the insert did not take, from the entries that can refuse it.
/// `None` when none does any more (it settled between the two statements): insert again.
pub(super) fn refusal(conflicting: Vec<JournalEntry>, new: &NewEntry) -> Option<JournalError> {
    super::memory::conflict(conflicting.iter(), new)
}
