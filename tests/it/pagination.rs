//! The generic paginator over `page_index` / `page_size` and `{data, count}` envelopes: one
//! implementation for every list operation, and `pages()` / `items()` on every list builder.

use crate::support;

use std::num::NonZeroU64;

use futures_util::{StreamExt, TryStreamExt};
use hero_health::{Client, Error, RetryPolicy, pagination};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const EXAMPLES: &str = include_str!(concat!(env!("OUT_DIR"), "/mock_examples.json"));

/// A schema-valid item of `operation`'s list, with the given id.
fn item(operation: &str, id: u64) -> serde_json::Value {
    let all: Vec<serde_json::Value> = serde_json::from_str(EXAMPLES).unwrap();
    let mut item = all.into_iter().find(|e| e["operation"] == operation).unwrap()["body"]["data"][0].clone();
    item["id"] = serde_json::Value::String(id.to_string());
    item
}

fn page(operation: &str, ids: std::ops::Range<u64>, count: u64) -> ResponseTemplate {
    let data: Vec<_> = ids.map(|id| item(operation, id)).collect();
    ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": data, "count": count}))
}

fn client(server: &MockServer) -> Client {
    support::client_for(&server.uri()).with_retry_policy(RetryPolicy::none()).build().unwrap()
}

fn two() -> NonZeroU64 {
    NonZeroU64::new(2).unwrap()
}

/// `listEpisodes` (integer setters) two at a time.
fn episode_pages(client: &Client) -> impl futures_util::Stream<Item = Result<Vec<hero_health::types::Episode>, Error>> + '_ {
    pagination::pages(two(), |index, size| client.list_episodes().page_index(index).page_size(size).send())
}

/// The same list item by item.
fn episode_items(client: &Client) -> impl futures_util::Stream<Item = Result<hero_health::types::Episode, Error>> + '_ {
    pagination::items(two(), |index, size| client.list_episodes().page_index(index).page_size(size).send())
}

#[tokio::test]
async fn pages_until_count_is_reached() {
    let server = MockServer::start().await;
    for (index, ids) in [(0, 0..2), (1, 2..4), (2, 4..5)] {
        Mock::given(method("GET"))
            .and(path("/v1/episodes"))
            .and(query_param("page_index", index.to_string()))
            .respond_with(page("listEpisodes", ids, 5))
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let pages: Vec<_> = episode_pages(&client).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    assert_eq!(server.received_requests().await.unwrap().len(), 3, "no request after the last page");
}

#[tokio::test]
/// `listAdmins` publishes its page parameters as strings; the `page-integers` convention makes
/// them integers like everywhere else, and the query string is the same.
async fn items_work_for_list_admins_whose_page_parameters_hero_types_as_strings() {
    let server = MockServer::start().await;
    for (index, ids) in [(0, 10..12), (1, 12..13)] {
        Mock::given(method("GET"))
            .and(path("/v1/admins"))
            .and(query_param("page_index", index.to_string()))
            .respond_with(page("listAdmins", ids, 3))
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let admins: Vec<_> =
        pagination::items(two(), |index, size| client.list_admins().page_index(index).page_size(size).send()).try_collect().await.unwrap();
    assert_eq!(admins.len(), 3);
}

#[tokio::test]
async fn a_server_ignoring_page_index_is_stopped_by_count() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v1/episodes")).respond_with(page("listEpisodes", 0..2, 4)).mount(&server).await;
    let client = client(&server);
    let items: Vec<_> = episode_items(&client).try_collect().await.unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_empty_list_is_one_request_and_no_items() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v1/episodes")).respond_with(page("listEpisodes", 0..0, 0)).mount(&server).await;
    let client = client(&server);
    let items: Vec<_> = episode_items(&client).try_collect().await.unwrap();
    assert!(items.is_empty());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_error_on_a_later_page_ends_the_stream_with_that_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(query_param("page_index", "0")).respond_with(page("listEpisodes", 0..2, 10)).mount(&server).await;
    Mock::given(method("GET")).and(query_param("page_index", "1")).respond_with(ResponseTemplate::new(403)).mount(&server).await;
    let client = client(&server);
    let results: Vec<Result<_, Error>> = episode_pages(&client).collect().await;
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(Error::Forbidden { .. })), "{:?}", results[1]);
}

/// Every list builder streams itself: `pages(size)` / `items(size)` set the page fields (u64 on
/// every list since the `page-integers` convention; Hero publishes strings on listAdmins) and
/// keep the other fields on every page.
#[tokio::test]
async fn list_builders_stream_their_own_pages_keeping_their_filters() {
    let server = MockServer::start().await;
    for (index, ids) in [(0, 10..12), (1, 12..13)] {
        Mock::given(method("GET"))
            .and(path("/v1/admins"))
            .and(query_param("page_index", index.to_string()))
            .and(query_param("page_size", "2"))
            .and(query_param("order_by", "first_name"))
            .respond_with(page("listAdmins", ids, 3))
            .mount(&server)
            .await;
    }
    for (index, ids) in [(0, 0..2), (1, 2..3)] {
        Mock::given(method("GET"))
            .and(path("/v1/episodes"))
            .and(query_param("page_index", index.to_string()))
            .respond_with(page("listEpisodes", ids, 3))
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let admins: Vec<_> = client.list_admins().order_by("first_name").items(two()).try_collect().await.unwrap();
    assert_eq!(admins.len(), 3);
    let pages: Vec<_> = client.list_episodes().pages(two()).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

/// Every list with page parameters streams from its own builder, including the lists whose
/// items Hero's reference does not describe (JSON maps). `listBatchMessages` is the one
/// exception: its documented answer is a single batch message, not a page.
#[tokio::test]
async fn every_paged_list_builder_streams() {
    let server = MockServer::start().await;
    for (index, ids) in [(0, 0..2), (1, 2..3)] {
        let data: Vec<_> = ids.map(|id| serde_json::json!({"id": id.to_string(), "status": "active"})).collect();
        Mock::given(method("GET"))
            .and(path("/v1/subscriptions"))
            .and(query_param("page_index", index.to_string()))
            .and(query_param("status", "active"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": data, "count": 3})))
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let items: Vec<serde_json::Map<String, serde_json::Value>> =
        client.list_subscriptions().status("active").items(two()).try_collect().await.unwrap();
    assert_eq!(items.iter().map(|i| i["id"].as_str().unwrap()).collect::<Vec<_>>(), ["0", "1", "2"]);

    // The others, as types: each builder has `pages()` and `items()`.
    let _ = client.list_admins().pages(two());
    let _ = client.list_batch_message_sends().id("1").pages(two());
    let _ = client.list_batch_message_recipients().id("1").items(two());
    let _ = client.list_episodes().items(two());
    let _ = client.list_slots().pages(two());
    let _ = client.search_patients().items(two());
}
