//! `cargo xtask probe`: learn the real API from a credentialed run, as shapes, never values.
//!
//! It calls every read-only operation of the effective document it can parameterise (lists first,
//! one small page each; then reads by id, with an id taken from a list; never a write), compares
//! each answer with the document ([`compare`]), and writes a Markdown report and a proposed
//! overlay ([`propose`]) for review. Ids taken from lists are used in requests only: the report,
//! the overlay and the output hold field paths, JSON types, nullness, enum values and counts.

pub mod compare;
pub mod propose;
/// The client's own reading of `Retry-After` (seconds or an HTTP date).
#[path = "../../../src/retry_after.rs"]
mod retry_after;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::XtaskError;
use compare::{Comparer, Finding};

/// What to probe, and with what. Its `Debug` shows no API key.
#[derive(Clone)]
pub struct ProbeOptions {
    /// The effective document to compare with.
    pub document: PathBuf,
    /// Hero's base URL (staging unless told otherwise).
    pub base_url: String,
    /// `x-api-key` (never printed).
    pub api_key: String,
    /// `x-practice-group-id`.
    pub practice_group_id: String,
    /// At most this many requests, retries included.
    pub max_requests: usize,
    /// `page_size` of the one page read from each list.
    pub page_size: u32,
    /// The largest answer read; a larger one is not read (and not compared).
    pub max_answer_bytes: usize,
    /// The whole run stops within this, waits and slow answers included.
    pub time_budget: Duration,
}

/// How large an answer the probe reads by default: a page of a list is a few kilobytes.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// How long a probe may take by default.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(300);
/// The longest one request may take (within what is left of the budget).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl std::fmt::Debug for ProbeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeOptions")
            .field("document", &self.document)
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("practice_group_id", &self.practice_group_id)
            .field("max_requests", &self.max_requests)
            .field("page_size", &self.page_size)
            .field("max_answer_bytes", &self.max_answer_bytes)
            .field("time_budget", &self.time_budget)
            .finish()
    }
}

/// An operation that was called, and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// The operationId.
    pub operation: String,
    /// `GET /path` (the template: never a concrete id).
    pub route: String,
    /// The status, or why there was none.
    pub outcome: String,
    /// For a list: how many items its page held.
    pub items: Option<usize>,
}

/// The result of a run.
#[derive(Debug, Clone, Default)]
pub struct ProbeRun {
    /// Differences, deduplicated, in operation order.
    pub findings: Vec<Finding>,
    /// How often each difference was seen (the items of a page repeat one).
    pub counts: BTreeMap<Finding, usize>,
    /// What was called.
    pub probed: Vec<Probed>,
    /// What was not called, and why.
    pub skipped: Vec<(String, String)>,
    /// Requests sent, retries included.
    pub requests: usize,
    /// How long it took.
    pub elapsed: Duration,
}

/// One read-only operation of the document.
struct Read<'a> {
    id: String,
    path: String,
    operation: &'a Value,
    path_params: Vec<String>,
}

/// Runs the probe (see the module docs).
///
/// # Errors
///
/// [`XtaskError::Probe`] when the document cannot be read, the server cannot be reached, or the
/// credentials are refused (then nothing else is called).
pub fn run(options: &ProbeOptions) -> Result<ProbeRun, XtaskError> {
    run_on(options, &load(&options.document)?)
}

/// [`run`] against a document already read.
fn run_on(options: &ProbeOptions, document: &Value) -> Result<ProbeRun, XtaskError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| XtaskError::Probe(e.to_string()))?;
    runtime.block_on(run_async(options, document))
}

/// The effective document, as JSON values.
fn load(path: &std::path::Path) -> Result<Value, XtaskError> {
    let text = std::fs::read_to_string(path).map_err(|e| XtaskError::io("read", path, e))?;
    yaml_serde::from_str(&text).map_err(|e| XtaskError::Probe(format!("{} is not YAML: {e}", path.display())))
}

async fn run_async(options: &ProbeOptions, document: &Value) -> Result<ProbeRun, XtaskError> {
    let started = Instant::now();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("hero-health-xtask-probe/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| XtaskError::Probe(e.to_string()))?;
    let deadline = started + options.time_budget;
    let mut probe = Probe { options, client, document, run: ProbeRun::default(), ids: BTreeMap::new(), deadline };
    let reads = reads(document, &mut probe.run.skipped);
    let (lists, by_id): (Vec<&Read<'_>>, Vec<&Read<'_>>) = reads.iter().partition(|r| r.path_params.is_empty());
    // Lists first: their items give the ids the reads by id need.
    for read in lists {
        probe.call(read, None).await?;
    }
    for read in by_id {
        let collection = collection_of(&read.path);
        match (read.path_params.len(), probe.ids.get(&collection).cloned()) {
            (1, Some(id)) => probe.call(read, Some(&id)).await?,
            (1, None) => probe
                .run
                .skipped
                .push((read.id.clone(), format!("no list answered an id for `{collection}` (none read, or the list was empty)"))),
            _ => probe.run.skipped.push((read.id.clone(), "takes several path parameters; the probe fills one".into())),
        }
    }
    probe.run.elapsed = started.elapsed();
    Ok(probe.run)
}

struct Probe<'a> {
    options: &'a ProbeOptions,
    client: reqwest::Client,
    document: &'a Value,
    run: ProbeRun,
    /// The first id each list answered, by collection: used in requests, never written out.
    ids: BTreeMap<String, String>,
    /// When the time budget ends.
    deadline: Instant,
}

impl Probe<'_> {
    async fn call(&mut self, read: &Read<'_>, id: Option<&str>) -> Result<(), XtaskError> {
        let route = format!("GET {}", read.path);
        if self.run.requests >= self.options.max_requests {
            self.run.skipped.push((read.id.clone(), format!("the --max-requests budget ({}) was used up", self.options.max_requests)));
            return Ok(());
        }
        if self.left().is_zero() {
            self.run.skipped.push((read.id.clone(), format!("the --time-budget ({} s) was used up", self.options.time_budget.as_secs())));
            return Ok(());
        }
        let mut path = read.path.clone();
        if let (Some(param), Some(id)) = (read.path_params.first(), id) {
            path = path.replace(&format!("{{{param}}}"), &percent_encode(id));
        }
        let mut query: Vec<(&str, String)> = Vec::new();
        for parameter in read.operation.get("parameters").and_then(Value::as_array).into_iter().flatten() {
            match parameter.get("name").and_then(Value::as_str) {
                Some("page_index") => query.push(("page_index", "0".into())),
                Some("page_size") => query.push(("page_size", self.options.page_size.to_string())),
                _ => {}
            }
        }
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let url =
            format!("{}{path}{}{}", self.options.base_url.trim_end_matches('/'), if query.is_empty() { "" } else { "?" }, query.join("&"));
        let mut attempt = 0;
        let answer = loop {
            attempt += 1;
            self.run.requests += 1;
            let sent = self
                .client
                .get(&url)
                .timeout(REQUEST_TIMEOUT.min(self.left()).max(Duration::from_millis(1)))
                .header("x-api-key", &self.options.api_key)
                .header("x-practice-group-id", &self.options.practice_group_id)
                .header("accept", "application/json")
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                // reqwest's message holds the URL (with an id in it): say what happened only.
                Err(error) => {
                    let why = if error.is_timeout() {
                        "timed out"
                    } else if error.is_connect() {
                        "could not connect"
                    } else {
                        "no answer"
                    };
                    if self.run.probed.is_empty() {
                        return Err(XtaskError::Probe(format!(
                            "the first request ({route}) {why}: check the base URL (HERO_ENV / HERO_BASE_URL) and the network"
                        )));
                    }
                    break Err(why.to_owned());
                }
            };
            let status = response.status().as_u16();
            if status == 429 && attempt <= 3 && self.run.requests < self.options.max_requests {
                // As the client's retry policy does: wait what Hero asks (seconds or a date, capped),
                // then again; not past the time budget.
                let wait = retry_after::retry_after(response.headers(), chrono::Utc::now()).unwrap_or(Duration::from_secs(1));
                let wait = wait.min(Duration::from_secs(60));
                if wait >= self.left() {
                    break Err(format!("HTTP 429, asked to wait {} s: past the time budget", wait.as_secs()));
                }
                tokio::time::sleep(wait).await;
                continue;
            }
            if matches!(status, 401 | 403) && self.run.probed.is_empty() {
                return Err(XtaskError::Probe(format!(
                    "the credentials were refused (HTTP {status} on {route}); check HERO_API_KEY and HERO_PRACTICE_GROUP_ID (the key's scopes, and the environment: staging unless HERO_ENV says otherwise). Nothing else was called"
                )));
            }
            break read_within(response, self.options.max_answer_bytes).await.map(|b| (status, b));
        };
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(why) => {
                self.run.probed.push(Probed { operation: read.id.clone(), route, outcome: why, items: None });
                return Ok(());
            }
        };
        let documented = read.operation.get("responses").and_then(Value::as_object);
        let schema_status = documented.and_then(|r| r.keys().find(|k| k.as_str() == status.to_string()).cloned());
        if schema_status.is_none() && !matches!(status, 401 | 403 | 404 | 429 | 500..) {
            self.run.findings.push(Finding {
                operation: read.id.clone(),
                field: "(the status)".into(),
                at: format!("$.paths['{}'].get.responses", read.path),
                difference: compare::Difference::UndocumentedStatus { status },
            });
        }
        let mut items = None;
        if (200..300).contains(&status) {
            let schema_key = schema_status.or_else(|| documented.and_then(|r| r.keys().find(|k| k.starts_with('2')).cloned()));
            let schema =
                schema_key.as_ref().and_then(|k| read.operation.pointer(&format!("/responses/{k}/content/application~1json/schema")));
            match (serde_json::from_slice::<Value>(&body), schema) {
                (Ok(value), Some(schema)) => {
                    let at = format!(
                        "$.paths['{}'].get.responses['{}'].content['application/json'].schema",
                        read.path,
                        schema_key.unwrap_or_default()
                    );
                    let mut comparer = Comparer::new(self.document, &read.id);
                    comparer.check(&value, schema, &at, "");
                    self.run.findings.extend(comparer.findings);
                    for (finding, count) in comparer.counts {
                        *self.run.counts.entry(finding).or_default() += count;
                    }
                    if let Some(data) = value.get("data").and_then(Value::as_array) {
                        items = Some(data.len());
                        if let Some(first) = data.iter().find_map(|item| match item.get("id") {
                            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                            Some(Value::Number(n)) => Some(n.to_string()),
                            _ => None,
                        }) {
                            self.ids.entry(collection_of(&read.path)).or_insert(first);
                        }
                    }
                }
                (Err(_), _) if !body.is_empty() => {
                    self.run.probed.push(Probed {
                        operation: read.id.clone(),
                        route,
                        outcome: format!("HTTP {status}, not JSON"),
                        items: None,
                    });
                    return Ok(());
                }
                _ => {}
            }
        }
        self.run.probed.push(Probed { operation: read.id.clone(), route, outcome: format!("HTTP {status}"), items });
        Ok(())
    }
}

impl Probe<'_> {
    /// What is left of the time budget.
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// The body, read chunk by chunk and given up past `limit` bytes (announced or received): a
/// huge answer never sits in memory.
async fn read_within(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let too_large = || format!("the answer is over the {limit}-byte --max-answer-bytes limit: not read");
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > limit => return Err(too_large()),
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Ok(body),
            Err(error) if error.is_timeout() => return Err("the answer did not arrive in time".into()),
            Err(_) => return Err("the answer was cut off".into()),
        }
    }
}

/// A path segment, percent-encoded (an id from an answer must not add a `/` or `..`).
fn percent_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The document's read-only operations (`GET`), in document order; what cannot be called goes to
/// `skipped` with the reason.
fn reads<'a>(document: &'a Value, skipped: &mut Vec<(String, String)>) -> Vec<Read<'a>> {
    let mut out = Vec::new();
    for (path, item) in document.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if !matches!(method.as_str(), "get" | "put" | "post" | "patch" | "delete") {
                continue;
            }
            let id = operation.get("operationId").and_then(Value::as_str).unwrap_or(path).to_owned();
            if method != "get" {
                skipped.push((id, format!("{} changes data: the probe never sends a write", method.to_uppercase())));
                continue;
            }
            let parameters: Vec<&Value> = operation.get("parameters").and_then(Value::as_array).into_iter().flatten().collect();
            let path_params: Vec<String> = parameters
                .iter()
                .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
                .filter_map(|p| p.get("name")?.as_str().map(str::to_owned))
                .collect();
            let required_query: Vec<&str> = parameters
                .iter()
                .filter(|p| {
                    p.get("in").and_then(Value::as_str) == Some("query") && p.get("required").and_then(Value::as_bool) == Some(true)
                })
                .filter_map(|p| p.get("name")?.as_str())
                .collect();
            if let Some(name) = required_query.first() {
                skipped.push((id, format!("needs the query parameter `{name}`, which the probe cannot choose without data")));
                continue;
            }
            // Link status: asks about one link, by `id` or `url`, and no read answers one.
            let query: Vec<&str> = parameters
                .iter()
                .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
                .filter_map(|p| p.get("name")?.as_str())
                .collect();
            if !query.is_empty() && query.iter().all(|name| matches!(*name, "id" | "url")) {
                skipped.push((id, "asks about one link by `id` or `url`, and no read answers a link".into()));
                continue;
            }
            out.push(Read { id, path: path.clone(), operation, path_params });
        }
    }
    // Lists with pages first among the parameterless reads: they feed the reads by id.
    out.sort_by_key(|r| (!r.path_params.is_empty(), !r.operation.to_string().contains("\"page_index\"")));
    out
}

/// The collection a path belongs to: the segment before its first parameter, or its last
/// segment (`/v1/patients/{id}/attachments` and `/v2/patients/{id}` → `patients`).
fn collection_of(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let before_param = segments.iter().position(|s| s.starts_with('{')).and_then(|i| i.checked_sub(1)).map(|i| segments[i]);
    before_param.or_else(|| segments.last().copied()).unwrap_or_default().to_owned()
}

/// The Markdown report for a pull request. Everything in it is escaped: a name in a document
/// or an answer cannot add a heading, a link or a line.
pub fn report(run: &ProbeRun, base_url_label: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Hero Health API probe\n");
    let _ = writeln!(
        out,
        "Against {}: {} operation(s) probed, {} skipped, {} request(s), {:.1} s. {} difference(s) from the document.\n",
        text(base_url_label),
        run.probed.len(),
        run.skipped.len(),
        run.requests,
        run.elapsed.as_secs_f64(),
        run.findings.len()
    );
    let _ = writeln!(
        out,
        "The report holds field paths, JSON types, nullness and counts, and names only words of the document itself: a field, key or enum value it does not know is a token such as `‹field 3f2a›`. Never a value a patient could be identified from.\n"
    );
    let _ = writeln!(out, "## Differences ({})\n", run.findings.len());
    if run.findings.is_empty() {
        let _ = writeln!(out, "None: every answer matched the document.\n");
    }
    for finding in &run.findings {
        let seen = run.counts.get(finding).copied().unwrap_or(1);
        let times = if seen > 1 { format!(" ({seen} times)") } else { String::new() };
        let _ = writeln!(out, "- {} {}: {}{times}", code(&finding.operation), code(&finding.field), describe(&finding.difference));
    }
    if !run.findings.is_empty() {
        let _ = writeln!(
            out,
            "\nEach one whose names are shown has an action in the proposed overlay: review it, then move the actions you accept into `openapi/overlay.yaml` and run `cargo xtask apply`. A token stands for a name the probe does not write: look at a real answer yourself before describing it.\n"
        );
    }
    let _ = writeln!(out, "## Probed ({})\n", run.probed.len());
    for probed in &run.probed {
        let items = probed.items.map(|n| format!(", {n} item(s) on the page")).unwrap_or_default();
        let _ = writeln!(out, "- {} ({}): {}{items}", code(&probed.operation), code(&probed.route), text(&probed.outcome));
    }
    let empty: Vec<&Probed> = run.probed.iter().filter(|p| p.items == Some(0)).collect();
    if !empty.is_empty() && empty.len() == run.probed.iter().filter(|p| p.items.is_some()).count() {
        let _ = writeln!(
            out,
            "\nEvery list was empty: the practice group has no data the probe can read, so reads by id were skipped. Try a practice group with appointments and patients."
        );
    }
    let _ = writeln!(out, "\n## Skipped ({})\n", run.skipped.len());
    for (operation, why) in &run.skipped {
        let _ = writeln!(out, "- {}: {}", code(operation), text(why));
    }
    out
}

/// One line per difference, shapes only, its names as inline code.
pub fn describe(difference: &compare::Difference) -> String {
    use compare::Difference as D;
    match difference {
        D::UndocumentedStatus { status } => format!("answered HTTP {status}, which the document does not list"),
        D::UnknownField { name, json_type } => format!("has a field {} ({json_type}) the schema does not describe", code(name)),
        D::MissingRequired { name } => format!("lacks the required field {}", code(name)),
        D::TypeDiffers { expected, observed } => format!("is {observed} where the schema says {}", text(expected)),
        D::UnexpectedNull => "is null where the schema is not nullable".into(),
        D::EnumValue { value } => format!("has the enum value {}, which the schema does not list", code(value)),
        D::BadFormat { format } => format!("does not parse as {}", text(format)),
        D::IdPattern => "is not a numeric Hero id where the schema says Id".into(),
    }
}

/// Markdown inline code that nothing inside can close or break out of: line breaks and other
/// control characters become spaces, and the fence is one backtick longer than any run inside.
pub fn code(raw: &str) -> String {
    let flat: String = raw.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let longest = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') || flat.starts_with(' ') || flat.is_empty() { " " } else { "" };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

/// Markdown text placed mid-line: line breaks and other control characters become spaces, and
/// every character Markdown (or HTML in it) gives a meaning there is escaped.
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            c if c.is_control() => out.push(' '),
            // What gives text a meaning mid-line (a line never starts with this text).
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' | '|' | '<' | '>' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Where `cargo xtask probe` writes.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// The Markdown report.
    pub report: PathBuf,
    /// The proposed overlay.
    pub overlay: PathBuf,
}

/// `cargo xtask probe`: runs, writes the report and the proposed overlay, prints the report.
///
/// # Errors
///
/// As [`run`], and when a file cannot be written.
pub fn command(options: &ProbeOptions, outputs: &Outputs, server_label: &str) -> Result<ProbeRun, XtaskError> {
    eprintln!(
        "probing {server_label} (read-only operations only, at most {} requests, answers up to {} bytes, stopping within {} s) …",
        options.max_requests,
        options.max_answer_bytes,
        options.time_budget.as_secs()
    );
    let document = load(&options.document)?;
    let run = run_on(options, &document)?;
    let report = report(&run, server_label);
    for (path, body) in [(&outputs.report, report.clone()), (&outputs.overlay, propose::overlay(&run.findings, &document))] {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| XtaskError::io("create", dir, e))?;
        }
        std::fs::write(path, body).map_err(|e| XtaskError::io("write", path, e))?;
    }
    print!("{report}");
    println!("\nWrote {} and {}.", outputs.report.display(), outputs.overlay.display());
    Ok(run)
}

/// The base URL of a `HERO_ENV` name, as the crate's `Environment` has them.
pub fn environment_url(name: &str) -> Option<&'static str> {
    match name {
        "production" => Some("https://api.herohealth.net"),
        "staging" => Some("https://api.staging.htech.app"),
        "mock" => Some("https://developer.herohealth.net/_mock/apis/public-api/openapi"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_in_code_or_text_can_break_out_of_its_line_or_span() {
        assert_eq!(code("listSlots"), "`listSlots`");
        // A backtick run inside gets a longer fence, padded so the fence stays a fence.
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("x\n\n# Heading\n[link](https://evil.example)"), "`x  # Heading [link](https://evil.example)`");
        assert_eq!(
            text("HTTP 200\n## Injected <img src=x> [a](b) *b* _i_ | t"),
            "HTTP 200 \\#\\# Injected \\<img src=x\\> \\[a\\](b) \\*b\\* \\_i\\_ \\| t"
        );
    }
}
