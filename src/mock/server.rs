//! The HTTP side of the mock: one handler that matches the route, checks the auth headers,
//! applies a queued fault, asks the state for the answer and logs the exchange.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::json;

use super::state::Answer;
use super::{Fault, FaultKind, KeyUse, LoggedRequest, Shared};

pub(super) async fn spawn(shared: Arc<Shared>) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().fallback(handle).with_state(shared);
    let task = tokio::spawn(async move {
        // Only ends when the handle aborts the task.
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, task))
}

/// Every documented operation: method, path template, and a schema-valid answer synthesised by
/// build.rs (used for the operations the mock does not model with state).
#[derive(Debug, serde::Deserialize)]
struct Example {
    method: String,
    path: String,
    operation: String,
    status: u16,
    body: Option<serde_json::Value>,
}

fn examples() -> &'static [Example] {
    static EXAMPLES: OnceLock<Vec<Example>> = OnceLock::new();
    EXAMPLES.get_or_init(|| serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/mock_examples.json"))).unwrap_or_default())
}

/// A request matched to an operation of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    /// The operationId.
    operation: &'static str,
    /// The value of the path's parameter, for a path that has one (`/v1/appointments/{id}`).
    param: Option<String>,
}

/// The route, if `path` is the example's path template (`/v1/appointments/{id}`).
fn matches(example: &'static Example, path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let pattern: Vec<&str> = example.path.split('/').collect();
    if pattern.len() != segments.len() {
        return None;
    }
    let mut route = Route { operation: example.operation.as_str(), param: None };
    for (p, s) in pattern.iter().zip(&segments) {
        if p.starts_with('{') {
            route.param = Some((*s).to_owned());
        } else if p != s {
            return None;
        }
    }
    Some(route)
}

/// The operation a request is for. A literal segment beats a parameter (`/v1/slots/count` is
/// not `/v1/slots/{id}`), under any method: `GET /v1/patients/register` is the `register`
/// resource (which only takes POST: a 405), not a patient called "register".
fn route(method: &Method, path: &str) -> Option<Route> {
    resource(path).into_iter().filter(|e| e.method == method.as_str()).find_map(|e| matches(e, path))
}

/// The operations of the resource `path` names: the templates it matches with the fewest
/// parameters, under every method.
fn resource(path: &str) -> Vec<&'static Example> {
    let matching: Vec<&Example> = examples().iter().filter(|e| matches(e, path).is_some()).collect();
    let fewest = matching.iter().map(|e| e.path.matches('{').count()).min();
    matching.into_iter().filter(|e| Some(e.path.matches('{').count()) == fewest).collect()
}

fn json_response(status: u16, body: Option<serde_json::Value>) -> Response {
    // An error always has a JSON body, as Hero's do (`ErrorMessage`): never an empty 404.
    let body = match body {
        None if status >= 400 => Some(json!({"statusCode": status, "message": reason(status)})),
        body => body,
    };
    let mut response = Response::new(match &body {
        Some(value) => Body::from(value.to_string()),
        None => Body::empty(),
    });
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if body.is_some() {
        response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    }
    response
}

/// The reason phrase of an error status, for the body of an error that has none.
fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error")
}

async fn handle(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    // Every pair, repeated keys kept (an array parameter), for validation; the last of each for
    // the handlers.
    let pairs: Vec<(String, String)> =
        uri.query().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let query: BTreeMap<String, String> = pairs.iter().cloned().collect();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let group = header("x-practice-group-id");
    let matched = route(&method, &path);
    let entry = LoggedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        operation: matched.as_ref().map(|route| route.operation.to_owned()),
        practice_group_id: group.clone(),
        status: 0,
    };
    let key = shared.lock().practices.judge(header("x-api-key").as_deref());
    let number = shared.lock().log(entry, key.clone(), shared.config.log_limit);
    let record = |status: u16| shared.lock().record(number, status);
    let mut response = async {
        // Auth first, as Hero does: both headers, and the cross-organisation rule.
        let KeyUse::Current { practice_group_id: holder, .. } = &key else {
            record(401);
            return json_response(401, Some(json!({"statusCode": 401, "message": "Unauthorized"})));
        };
        match &group {
            Some(g) if shared.lock().practices.may_act_for(holder, g) => {}
            Some(_) => {
                record(403);
                return json_response(403, Some(json!({"statusCode": 403, "message": "Forbidden: practice group is not in your network"})));
            }
            None => {
                record(401);
                return json_response(401, Some(json!({"statusCode": 401, "message": "Unauthorized: x-practice-group-id is missing"})));
            }
        }
        let Some(Route { operation, param }) = matched else {
            // A path the document has under other methods: 405 with the methods it has.
            let allowed: Vec<&str> = resource(&path).iter().map(|e| e.method.as_str()).collect();
            if !allowed.is_empty() {
                record(405);
                let mut response = json_response(405, Some(json!({"statusCode": 405, "message": "Method Not Allowed"})));
                if let Ok(value) = header::HeaderValue::from_str(&allowed.join(", ")) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                return response;
            }
            record(404);
            return json_response(404, Some(json!({"statusCode": 404, "message": "Not Found"})));
        };
        // Then validation, as Hero's pipes run after its guards: a request the document does not
        // allow never reaches a handler (or a queued fault).
        if let Some((status, body)) =
            super::validate::check(&super::validate::Request { operation, path: &path, query: &pairs, body: &body })
        {
            record(status);
            return json_response(status, body);
        }

        let fault = take_fault(&shared, operation);
        match &fault {
            Some(FaultKind::Latency(wait)) => {
                // Like a real server, the work is done after the wait even if the client has hung
                // up meanwhile: it runs in a task of its own, which a dropped connection does not
                // cancel (a handler future would be).
                let (shared, param, query, wait) = (shared.clone(), param.clone(), query.clone(), *wait);
                let late = tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let answered = answer(&shared, operation, group.as_deref(), param.as_deref(), &query, &body);
                    super::deliveries::dispatch(&shared);
                    answered
                });
                let (status, body) = late.await.unwrap_or((500, None));
                record(status);
                return json_response(status, body);
            }
            Some(FaultKind::RateLimited { retry_after_secs }) => {
                record(429);
                let mut response = json_response(429, Some(json!({"statusCode": 429, "message": "Too Many Requests"})));
                response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after_secs));
                return response;
            }
            Some(FaultKind::ServerError(status)) => {
                record(*status);
                return json_response(*status, Some(json!({"statusCode": status, "message": "Internal Server Error"})));
            }
            Some(FaultKind::Answer { status, body }) => {
                record(*status);
                let mut response = Response::new(Body::from(body.clone()));
                *response.status_mut() = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
                return response;
            }
            _ => {}
        }

        let (mut status, mut body) = answer(&shared, operation, group.as_deref(), param.as_deref(), &query, &body);
        if let Some(rewrite) = &shared.config.rewrite {
            rewrite(operation, &mut status, &mut body);
        }
        super::deliveries::dispatch(&shared);
        match fault {
            Some(FaultKind::CommitThenTimeout(wait)) => tokio::time::sleep(wait).await,
            Some(FaultKind::DropConnection) => {
                // Headers go out, then the body fails: hyper aborts the connection.
                record(0);
                let broken =
                    futures_util::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("mock: connection dropped")) });
                let mut response = Response::new(Body::from_stream(broken));
                response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
                return response;
            }
            _ => {}
        }
        record(status);
        json_response(status, body)
    }
    .await;
    // Every answer carries a request id, as Hero's gateway does, for errors to quote.
    if let Ok(value) = header::HeaderValue::from_str(&format!("mock-{number}")) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn take_fault(shared: &Shared, operation: &str) -> Option<FaultKind> {
    let mut inner = shared.lock();
    let position = inner.faults.iter().position(|f: &Fault| f.operation == operation && f.times > 0)?;
    let fault = &mut inner.faults[position];
    fault.times -= 1;
    let kind = fault.kind.clone();
    if fault.times == 0 {
        inner.faults.remove(position);
    }
    Some(kind)
}

fn answer(
    shared: &Shared,
    operation: &str,
    group: Option<&str>,
    param: Option<&str>,
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Answer {
    let mut inner = shared.lock();
    // Read under the lock: requests are answered in the order of their "now".
    let now = shared.clock.now();
    // The main practice group's events and webhooks are the mock's own (`None`); another's are
    // kept apart, as Hero keeps each practice group's.
    let acting_for = group.filter(|g| **g != shared.config.practice_group_id).map(str::to_owned);
    let answer = match operation {
        "registerPatientPds" => inner.desk.register_pds(body, acting_for),
        "getPatient" => inner.desk.get_patient(param.unwrap_or_default(), &acting_for),
        "sendMessage" => inner.desk.send_message(body, acting_for, now),
        "getMessage" => inner.desk.get_message(param.unwrap_or_default(), &acting_for, now),
        _ => {
            let state = &mut inner.state;
            state.acting_for = acting_for;
            let answer = answer_for(state, operation, param, query, body, now);
            state.acting_for = None;
            answer
        }
    };
    inner.tick(now);
    answer
}

fn answer_for(
    state: &mut super::state::State,
    operation: &str,
    param: Option<&str>,
    query: &BTreeMap<String, String>,
    body: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> Answer {
    let id = param.unwrap_or_default();
    match operation {
        "listAppointmentTypes" => state.list_appointment_types(query),
        "listLocations" => state.list_locations(query),
        "listPractitioners" => state.list_practitioners(query),
        "listSlots" => state.list_slots(query, now),
        "createAppointment" => state.create_appointment(body, now),
        "getAppointment" => state.get_appointment(id, now),
        "editAppointment" => state.edit_appointment(id, body, now),
        "bookAppointment" => state.book_appointment(id, now),
        "cancelAppointment" => state.cancel_appointment(id, body, now),
        "rescheduleAppointment" => state.reschedule_appointment(id, body, now),
        "createWebhook" => state.create_webhook(body, now),
        "listWebhooks" => state.list_webhooks(query),
        "deleteWebhook" => state.delete_webhook(id),
        "createVideoLink" => state.create_video_link(body),
        "getLinkStatus" => state.get_link_status(query),
        other => examples().iter().find(|e| e.operation == other).map_or((404, None), |e| (e.status, e.body.clone())),
    }
}
