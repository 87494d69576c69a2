//! The embedded journal: one SQLite file, for one process that restarts (feature
//! `journal-sqlite`).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::row::{self, Row};
use super::{BookingJournal, Claimed, EntryId, JournalEntry, JournalError, NewEntry, Outcome, Step};

/// A [`BookingJournal`] in a SQLite file (compiled in: no system library needed). Survives a
/// crash or a restart of the process; every write is durable before it returns (WAL, full
/// sync). For several processes or replicas at once, use `PostgresJournal`: SQLite would let
/// them share a file on one machine only, and serialises every write.
///
/// ```no_run
/// # async fn demo(client: hero_health::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use hero_health::booking::journal::SqliteJournal;
///
/// let journal = SqliteJournal::open("/var/lib/my-app/bookings.sqlite3").await?;
/// let booking = client.booking().with_journal(Arc::new(journal)).with_journal_owner("my-app");
/// for recovered in booking.recover().await? {
///     println!("{recovered:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteJournal {
    connection: Arc<Mutex<Connection>>,
}

/// Not the path: it can name a user's directory.
impl std::fmt::Debug for SqliteJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteJournal").finish_non_exhaustive()
    }
}

fn store_error(error: rusqlite::Error) -> JournalError {
    // SQLite's messages name tables, columns and constraints, never the values bound.
    JournalError::store("sqlite", error.to_string(), Some(Box::new(error)))
}

impl SqliteJournal {
    /// Opens (or creates) the journal at `path`, creating its table if needed.
    ///
    /// # Errors
    ///
    /// [`JournalError::Store`] when the file cannot be opened or written.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, JournalError> {
        let path = path.as_ref().to_owned();
        blocking(move || Connection::open(path).map_err(store_error).and_then(Self::prepared)).await
    }

    /// A journal in memory, gone with the value: for tests that want SQLite's behaviour.
    ///
    /// # Errors
    ///
    /// [`JournalError::Store`] when SQLite cannot start.
    pub fn in_memory() -> Result<Self, JournalError> {
        Connection::open_in_memory().map_err(store_error).and_then(Self::prepared)
    }

    fn prepared(connection: Connection) -> Result<Self, JournalError> {
        // WAL and a full sync: an entry written is on disk before the request it guards is
        // sent. The busy timeout covers another process holding the file for a moment.
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;
                 CREATE TABLE IF NOT EXISTS hero_health_booking_journal (id INTEGER PRIMARY KEY AUTOINCREMENT, {}",
                row::TABLE_REST
            ))
            .map_err(store_error)?;
        Ok(SqliteJournal { connection: Arc::new(Mutex::new(connection)) })
    }

    /// Runs `work` on the connection off the async threads (SQLite blocks on disk).
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let connection = Arc::clone(&self.connection);
        blocking(move || work(&mut connection.lock().unwrap_or_else(PoisonError::into_inner))).await
    }
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, JournalError> + Send + 'static) -> Result<T, JournalError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| JournalError::store("sqlite", format!("the journal's worker thread stopped: {e}"), None))?
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: row.get(0)?,
        practice_group_id: row.get(1)?,
        patient_id: row.get(2)?,
        key: row.get(3)?,
        request: row.get(4)?,
        step: row.get(5)?,
        outcome: row.get(6)?,
        owner: row.get(7)?,
        incarnation: row.get(8)?,
        lease_until: row.get(9)?,
        created_at: row.get(10)?,
    })
}

fn read_entry(connection: &Connection, id: EntryId) -> Result<JournalEntry, JournalError> {
    connection
        .query_row(row::ENTRY, params![id.0], read_row)
        .optional()
        .map_err(store_error)?
        .ok_or(JournalError::NotFound { entry: id })?
        .into_entry()
}

/// Every row, decoded one by one (a row that does not decode is its own error), oldest first.
fn read_all(statement: &mut rusqlite::Statement<'_>, params: impl rusqlite::Params) -> Result<Claimed, JournalError> {
    let rows = statement.query_map(params, read_row).map_err(store_error)?;
    let mut entries = Vec::new();
    for row in rows {
        let row = row.map_err(store_error)?;
        entries.push((row.id, row.into_entry()));
    }
    entries.sort_by_key(|(id, _)| *id);
    Ok(entries.into_iter().map(|(_, entry)| entry).collect())
}

#[async_trait::async_trait]
impl BookingJournal for SqliteJournal {
    async fn begin(&self, new: NewEntry) -> Result<EntryId, JournalError> {
        self.with(move |connection| {
            // One transaction: the insert and the read of what refused it see the same rows.
            let tx = connection.transaction().map_err(store_error)?;
            let v = row::insert(&new);
            let inserted: Option<i64> = tx
                .query_row(
                    row::INSERT,
                    params![
                        v.practice_group_id,
                        v.patient_id,
                        v.key,
                        v.request,
                        v.step,
                        v.owner,
                        v.incarnation,
                        v.lease_until,
                        v.created_at
                    ],
                    |r| r.get(0),
                )
                .optional()
                .map_err(store_error)?;
            let result = match inserted {
                Some(id) => Ok(EntryId(id)),
                None => {
                    let mut statement = tx.prepare(row::CONFLICTS).map_err(store_error)?;
                    let conflicting = read_all(&mut statement, params![v.practice_group_id, v.patient_id, v.key])?;
                    let conflicting = conflicting.into_iter().collect::<Result<Vec<_>, _>>()?;
                    Err(row::refusal(conflicting, &new)
                        .unwrap_or_else(|| JournalError::store("sqlite", "an index refused the entry, but no entry conflicts", None)))
                }
            };
            tx.commit().map_err(store_error)?;
            result
        })
        .await
    }

    async fn record(&self, id: EntryId, owner: &str, step: &Step, lease_until: DateTime<Utc>) -> Result<(), JournalError> {
        let (owner, stage, step) = (owner.to_owned(), step.name(), row::encode_step(step));
        self.with(move |connection| {
            let changed =
                connection.execute(row::RECORD, params![step, stage, row::millis(lease_until), id.0, owner]).map_err(store_error)?;
            if changed == 1 { Ok(()) } else { row::not_written(read_entry(connection, id), &owner, None) }
        })
        .await
    }

    async fn settle(&self, id: EntryId, owner: &str, outcome: &Outcome) -> Result<(), JournalError> {
        let (owner, outcome) = (owner.to_owned(), outcome.clone());
        self.with(move |connection| {
            let booked = matches!(outcome, Outcome::Booked { .. });
            let changed =
                connection.execute(row::SETTLE, params![row::encode_outcome(&outcome), booked, id.0, owner]).map_err(store_error)?;
            if changed == 1 { Ok(()) } else { row::not_written(read_entry(connection, id), &owner, Some(&outcome)) }
        })
        .await
    }

    async fn claim_unsettled(
        &self,
        practice_group_id: &str,
        (owner, incarnation): (&str, &str),
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claimed, JournalError> {
        let (group, owner, incarnation) = (practice_group_id.to_owned(), owner.to_owned(), incarnation.to_owned());
        self.with(move |connection| {
            let mut statement = connection.prepare(row::CLAIM).map_err(store_error)?;
            let claimed = super::claimed_incarnation(&incarnation);
            read_all(&mut statement, params![owner, row::millis(lease_until), claimed, group, row::millis(now), incarnation])
        })
        .await
    }

    async fn entry(&self, id: EntryId) -> Result<JournalEntry, JournalError> {
        self.with(move |connection| read_entry(connection, id)).await
    }
}
