//! Every Hero list operation with `page_index` / `page_size` answers a `{data, count}` envelope:
//! [`pages`] and [`items`] turn any of them into a `Stream`, with one implementation.
//!
//! Every list builder with page parameters has `pages(size)` and `items(size)` of its own (see
//! the generated client); these two are what they are built on, for a request you shape yourself:
//!
//! ```no_run
//! # async fn demo(client: hero_health::Client) -> Result<(), hero_health::Error> {
//! use std::num::NonZeroU64;
//! use futures_util::TryStreamExt;
//!
//! let size = NonZeroU64::new(100).unwrap();
//! let admins: Vec<_> = hero_health::pagination::items(size, |index, size| {
//!     client.list_admins().page_index(index).page_size(size).order_descending(true).send()
//! })
//! .try_collect()
//! .await?;
//! # Ok(()) }
//! ```
//!
//! A stream fetches a page only when polled, and stops after the page that reaches `count`, at a
//! short or empty page, or after [`MAX_PAGES`] pages (a server ignoring `page_index`).

use std::future::Future;
use std::num::NonZeroU64;

use futures_core::Stream;
use futures_util::{TryStreamExt, stream};

use progenitor_client::ResponseValue;

use crate::Error;

/// Pages fetched at most, whatever `count` says.
pub const MAX_PAGES: u64 = 10_000;

/// One page of a Hero list: its items and the total count.
pub trait Page {
    /// The item type.
    type Item;
    /// `(data, count)`.
    fn into_parts(self) -> (Vec<Self::Item>, f64);
}

include!(concat!(env!("OUT_DIR"), "/pages.rs"));

/// The pages of a list, fetched with `fetch(page_index, page_size)` (zero-based index): a
/// request builder's `send()`.
pub fn pages<P, E, F, Fut>(page_size: NonZeroU64, mut fetch: F) -> impl Stream<Item = Result<Vec<P::Item>, Error>>
where
    P: Page,
    E: Into<Error>,
    F: FnMut(u64, NonZeroU64) -> Fut,
    Fut: Future<Output = Result<ResponseValue<P>, E>>,
{
    stream::try_unfold(Some((0u64, 0u64)), move |state| {
        let request = state.map(|(index, _)| fetch(index, page_size));
        async move {
            let (Some((index, seen)), Some(request)) = (state, request) else { return Ok(None) };
            let (data, count) = request.await.map_err(Into::into)?.into_inner().into_parts();
            let seen = seen + data.len() as u64;
            let more = !data.is_empty() && data.len() as u64 == page_size.get() && (seen as f64) < count && index + 1 < MAX_PAGES;
            Ok(Some((data, more.then_some((index + 1, seen)))))
        }
    })
}

/// The items of a list, across pages; see [`pages`].
pub fn items<P, E, F, Fut>(page_size: NonZeroU64, fetch: F) -> impl Stream<Item = Result<P::Item, Error>>
where
    P: Page,
    E: Into<Error>,
    F: FnMut(u64, NonZeroU64) -> Fut,
    Fut: Future<Output = Result<ResponseValue<P>, E>>,
{
    pages(page_size, fetch).map_ok(|page| stream::iter(page.into_iter().map(Ok))).try_flatten()
}
