//! Slot discovery: filters, and pages of `page_index` / `page_size` as a `Stream`.

use std::num::NonZeroU64;

use chrono::NaiveDate;
use futures_core::Stream;
use futures_util::{TryStreamExt, stream};

use super::{Booking, BookingError};
use crate::Id;
use crate::types::Slot;

/// Page size used when the query does not set one.
const DEFAULT_PAGE_SIZE: NonZeroU64 = NonZeroU64::new(50).unwrap();

/// Which slots to list: every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotQuery {
    appointment_type_id: Option<Id>,
    location_id: Option<Id>,
    practitioner_id: Option<Id>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    page_size: Option<NonZeroU64>,
}

impl SlotQuery {
    /// All slots.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only slots of this appointment type.
    pub fn with_appointment_type(mut self, id: impl Into<Id>) -> Self {
        self.appointment_type_id = Some(id.into());
        self
    }
    /// Only slots at this location.
    pub fn with_location(mut self, id: impl Into<Id>) -> Self {
        self.location_id = Some(id.into());
        self
    }
    /// Only slots with this practitioner.
    pub fn with_practitioner(mut self, id: impl Into<Id>) -> Self {
        self.practitioner_id = Some(id.into());
        self
    }
    /// Only slots from `start` to `end` (inclusive dates).
    pub fn with_dates(mut self, start: NaiveDate, end: NaiveDate) -> Self {
        self.start_date = Some(start);
        self.end_date = Some(end);
        self
    }
    /// Slots per request (default 50).
    pub fn with_page_size(mut self, size: NonZeroU64) -> Self {
        self.page_size = Some(size);
        self
    }
}

impl Booking {
    /// The matching slots page by page, fetched as the stream is polled (the generic
    /// [`crate::pagination::pages`]). It stops after the page that reaches the `count` Hero
    /// reports, or at a short or empty page.
    pub fn slot_pages(&self, query: SlotQuery) -> impl Stream<Item = Result<Vec<Slot>, BookingError>> + Send + 'static {
        let client = self.client.clone();
        let size = query.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        crate::pagination::pages(size, move |index, size| {
            // The future owns its client and query: the stream may outlive this `Booking`.
            let (client, query) = (client.clone(), query.clone());
            async move {
                let mut request = client.list_slots().page_index(index).page_size(size);
                if let Some(v) = &query.appointment_type_id {
                    request = request.appointment_type_id(v.clone());
                }
                if let Some(v) = &query.location_id {
                    request = request.location_id(v.clone());
                }
                if let Some(v) = &query.practitioner_id {
                    request = request.practitioner_id(v.clone());
                }
                if let Some(v) = query.start_date {
                    request = request.start_date(v);
                }
                if let Some(v) = query.end_date {
                    request = request.end_date(v);
                }
                request.send().await
            }
        })
        .map_err(BookingError::from)
    }

    /// The matching slots one by one, across pages.
    pub fn slot_stream(&self, query: SlotQuery) -> impl Stream<Item = Result<Slot, BookingError>> + Send + 'static {
        self.slot_pages(query).map_ok(|page| stream::iter(page.into_iter().map(Ok))).try_flatten()
    }
}

pub(super) async fn collect(booking: &Booking, query: &SlotQuery) -> Result<Vec<Slot>, BookingError> {
    booking.slot_pages(query.clone()).try_concat().await
}
