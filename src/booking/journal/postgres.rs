//! The shared journal: PostgreSQL, for several replicas (feature `journal-postgres`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

use super::row::{self, Row};
use super::{BookingJournal, Claimed, EntryId, JournalEntry, JournalError, NewEntry, Outcome, Step};

/// Serialises the table's creation across replicas starting at once (`CREATE … IF NOT EXISTS`
/// alone can still collide in PostgreSQL's catalogue). Any constant of ours: "hero" in ASCII.
const SCHEMA_LOCK: i64 = 0x6865_726f;

/// A [`BookingJournal`] in PostgreSQL, shared by every replica of a service. The rule "one
/// unsettled booking per patient, a key booked once" is two partial unique indexes, enforced in
/// the insert itself: two replicas racing for one patient get one entry and one
/// [`JournalError::Unsettled`], whatever the timing. Claims for recovery are one `UPDATE`
/// each, so the row locks PostgreSQL takes decide which replica gets an entry whose lease
/// ended.
///
/// [`PostgresJournal::connect`] connects without TLS (a database on the same host or a private
/// network) and reconnects when the connection drops; for TLS or your own pool's connection,
/// [`PostgresJournal::from_client`].
///
/// ```no_run
/// # async fn demo(client: hero_health::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use hero_health::booking::journal::PostgresJournal;
///
/// let journal = PostgresJournal::connect("host=/run/postgresql dbname=bookings").await?;
/// let replica = std::env::var("HOSTNAME")?; // one name per live replica
/// let booking = client.booking().with_journal(Arc::new(journal)).with_journal_owner(replica);
/// booking.recover().await?;
/// # Ok(()) }
/// ```
pub struct PostgresJournal {
    /// Where to reconnect, when [`PostgresJournal::connect`] made it.
    config: Option<String>,
    client: Mutex<Arc<Client>>,
}

/// Not the connection string: it can hold a password.
impl std::fmt::Debug for PostgresJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresJournal").finish_non_exhaustive()
    }
}

fn store_error(error: tokio_postgres::Error) -> JournalError {
    match error.as_db_error() {
        // The code and the primary message only: PostgreSQL's DETAIL of a constraint violation
        // quotes the row's values (a patient id).
        Some(db) => JournalError::store("postgres", format!("{} ({})", db.message(), db.code().code()), None),
        None => JournalError::store("postgres", error.to_string(), Some(Box::new(error))),
    }
}

async fn open(config: &str) -> Result<Client, JournalError> {
    let (client, connection) = tokio_postgres::connect(config, NoTls).await.map_err(store_error)?;
    tokio::spawn(async move {
        // The connection's end shows on the client (`is_closed`), which reconnects.
        if let Err(error) = connection.await {
            tracing::warn!(error = %error, "the booking journal's PostgreSQL connection ended");
        }
    });
    Ok(client)
}

impl PostgresJournal {
    /// Connects (without TLS) with a libpq-style connection string (`host=… dbname=… user=…`)
    /// or URL, and creates the journal's table if needed.
    ///
    /// # Errors
    ///
    /// [`JournalError::Store`] when the server cannot be reached or the table created.
    pub async fn connect(config: &str) -> Result<Self, JournalError> {
        let client = open(config).await?;
        create_table(&client).await?;
        Ok(PostgresJournal { config: Some(config.to_owned()), client: Mutex::new(Arc::new(client)) })
    }

    /// A journal on a connection you made (TLS, your own settings; its connection task must be
    /// running). It is not reconnected when it drops.
    ///
    /// # Errors
    ///
    /// [`JournalError::Store`] when the table cannot be created.
    pub async fn from_client(client: Client) -> Result<Self, JournalError> {
        create_table(&client).await?;
        Ok(PostgresJournal { config: None, client: Mutex::new(Arc::new(client)) })
    }

    /// The connection, reconnected first if it dropped and this journal can.
    async fn client(&self) -> Result<Arc<Client>, JournalError> {
        let mut client = self.client.lock().await;
        if client.is_closed()
            && let Some(config) = &self.config
        {
            *client = Arc::new(open(config).await?);
        }
        Ok(Arc::clone(&client))
    }
}

async fn create_table(client: &Client) -> Result<(), JournalError> {
    client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK});
             CREATE TABLE IF NOT EXISTS hero_health_booking_journal (id BIGSERIAL PRIMARY KEY, {} COMMIT;",
            row::TABLE_REST
        ))
        .await
        .map_err(store_error)
}

fn read_row(row: &tokio_postgres::Row) -> Result<Row, JournalError> {
    let get = || -> Result<Row, tokio_postgres::Error> {
        Ok(Row {
            id: row.try_get(0)?,
            practice_group_id: row.try_get(1)?,
            patient_id: row.try_get(2)?,
            key: row.try_get(3)?,
            request: row.try_get(4)?,
            step: row.try_get(5)?,
            outcome: row.try_get(6)?,
            owner: row.try_get(7)?,
            incarnation: row.try_get(8)?,
            lease_until: row.try_get(9)?,
            created_at: row.try_get(10)?,
        })
    };
    get().map_err(store_error)
}

/// Every row, decoded one by one (a row that does not decode is its own error), oldest first.
fn entries(rows: &[tokio_postgres::Row]) -> Result<Claimed, JournalError> {
    let mut entries = rows.iter().map(|r| read_row(r).map(|row| (row.id, row.into_entry()))).collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|(id, _)| *id);
    Ok(entries.into_iter().map(|(_, entry)| entry).collect())
}

impl PostgresJournal {
    async fn read_entry(&self, id: EntryId) -> Result<JournalEntry, JournalError> {
        let rows = self.client().await?.query(row::ENTRY, &[&id.0]).await.map_err(store_error)?;
        entries(&rows)?.pop().ok_or(JournalError::NotFound { entry: id })?
    }
}

/// How many times `begin` inserts again when what refused the insert settled before it could
/// be read (a race with another replica's settle, not a loop of ours).
const INSERT_ATTEMPTS: usize = 5;

#[async_trait::async_trait]
impl BookingJournal for PostgresJournal {
    async fn begin(&self, new: NewEntry) -> Result<EntryId, JournalError> {
        let v = row::insert(&new);
        let client = self.client().await?;
        for _ in 0..INSERT_ATTEMPTS {
            let inserted = client
                .query_opt(
                    row::INSERT,
                    &[
                        &v.practice_group_id,
                        &v.patient_id,
                        &v.key,
                        &v.request,
                        &v.step,
                        &v.owner,
                        &v.incarnation,
                        &v.lease_until,
                        &v.created_at,
                    ],
                )
                .await
                .map_err(store_error)?;
            if let Some(inserted) = inserted {
                return Ok(EntryId(inserted.try_get(0).map_err(store_error)?));
            }
            let rows = client.query(row::CONFLICTS, &[&v.practice_group_id, &v.patient_id, &v.key]).await.map_err(store_error)?;
            let conflicting = entries(&rows)?.into_iter().collect::<Result<Vec<_>, _>>()?;
            if let Some(refused) = row::refusal(conflicting, &new) {
                return Err(refused);
            }
        }
        Err(JournalError::store("postgres", "the entry kept conflicting with entries that settled before they could be read", None))
    }

    async fn record(&self, id: EntryId, owner: &str, step: &Step, lease_until: DateTime<Utc>) -> Result<(), JournalError> {
        let (stage, step) = (step.name(), row::encode_step(step));
        let changed = self
            .client()
            .await?
            .execute(row::RECORD, &[&step, &stage, &row::millis(lease_until), &id.0, &owner])
            .await
            .map_err(store_error)?;
        if changed == 1 { Ok(()) } else { row::not_written(self.read_entry(id).await, owner, None) }
    }

    async fn settle(&self, id: EntryId, owner: &str, outcome: &Outcome) -> Result<(), JournalError> {
        let booked = matches!(outcome, Outcome::Booked { .. });
        let changed = self
            .client()
            .await?
            .execute(row::SETTLE, &[&row::encode_outcome(outcome), &booked, &id.0, &owner])
            .await
            .map_err(store_error)?;
        if changed == 1 { Ok(()) } else { row::not_written(self.read_entry(id).await, owner, Some(outcome)) }
    }

    async fn claim_unsettled(
        &self,
        practice_group_id: &str,
        (owner, incarnation): (&str, &str),
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claimed, JournalError> {
        let claimed = super::claimed_incarnation(incarnation);
        let rows = self
            .client()
            .await?
            .query(row::CLAIM, &[&owner, &row::millis(lease_until), &claimed, &practice_group_id, &row::millis(now), &incarnation])
            .await
            .map_err(store_error)?;
        entries(&rows)
    }

    async fn entry(&self, id: EntryId) -> Result<JournalEntry, JournalError> {
        self.read_entry(id).await
    }
}
