//! Where a new OpenAPI document comes from: Hero's published bundle (downloaded with a timeout
//! and a progress line) or a local file. Every way this can go wrong is a [`SourceError`] whose
//! message says what happened and what to try.

use std::io::{IsTerminal, Read as _, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Hero's published bundle, the default `--from`.
pub const BUNDLE_URL: &str = "https://developer.herohealth.net/_bundle/apis/public-api/openapi.yaml";

/// The most a document may weigh (the generator's own limit, checked again on the text).
const MAX_BYTES: usize = crate::codegen::limits::MAX_DOCUMENT_BYTES;

/// The place to read the document from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An `http(s)://` URL.
    Url(String),
    /// A local file (YAML or JSON).
    File(PathBuf),
}

impl Source {
    /// `http://` and `https://` are URLs; anything else is a path.
    pub fn parse(from: &str) -> Self {
        if from.starts_with("https://") || from.starts_with("http://") { Source::Url(from.to_owned()) } else { Source::File(from.into()) }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Url(url) => f.write_str(url),
            Source::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why the document could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}; check the path given to --from")]
    File {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The URL is not a valid URL.
    #[error("{url} is not a valid URL ({reason}); pass an https:// URL or a file path to --from")]
    BadUrl {
        /// The URL.
        url: String,
        /// The parser's reason.
        reason: String,
    },
    /// DNS, refused connection, TLS failure: nothing was received.
    #[error("cannot reach {host} ({reason}); check your network (are you offline?) or pass --from <file> with a downloaded copy")]
    Unreachable {
        /// The host.
        host: String,
        /// What failed.
        reason: String,
    },
    /// No complete answer within the timeout.
    #[error("no complete answer from {url} within {seconds} s; try again, raise --timeout, or pass --from <file>")]
    TimedOut {
        /// The URL.
        url: String,
        /// The timeout.
        seconds: u64,
    },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}; {hint}")]
    Status {
        /// The URL.
        url: String,
        /// Status code and reason phrase.
        status: String,
        /// What to try.
        hint: &'static str,
    },
    /// The connection broke before the whole body arrived.
    #[error("the download of {url} was cut off after {received} bytes{expected} ({reason}); try again")]
    CutOff {
        /// The URL.
        url: String,
        /// Bytes received.
        received: usize,
        /// `" of N"` when the server announced a length.
        expected: String,
        /// What failed.
        reason: String,
    },
    /// The answer is a web page, not a document.
    #[error(
        "{source_name} is an HTML page, not an OpenAPI document (a login or error page?); check the URL, or download the bundle in a browser and pass --from <file>"
    )]
    Html {
        /// The URL or file.
        source_name: String,
    },
    /// The answer is empty.
    #[error("{source_name} is empty; try again, or pass --from <file>")]
    Empty {
        /// The URL or file.
        source_name: String,
    },
    /// The answer is not UTF-8 text.
    #[error("{source_name} is not UTF-8 text (a binary or compressed file?); pass the YAML or JSON bundle")]
    NotText {
        /// The URL or file.
        source_name: String,
    },
    /// The file or download is larger than any OpenAPI document this crate accepts.
    #[error("{source_name} is larger than {limit_mib} MiB, far more than Hero's bundle; check the URL or file given to --from")]
    TooLarge {
        /// The URL or file.
        source_name: String,
        /// The limit.
        limit_mib: usize,
    },
    /// The async runtime for the download could not start.
    #[error("cannot start the download runtime: {0}")]
    Runtime(String),
}

/// Reads the document text from `source`; downloads give up after `timeout`.
pub fn fetch(source: &Source, timeout: Duration) -> Result<String, SourceError> {
    let source_name = source.to_string();
    let too_large = || SourceError::TooLarge { source_name: source_name.clone(), limit_mib: MAX_BYTES >> 20 };
    let bytes = match source {
        Source::File(path) => {
            let unreadable = |e: std::io::Error| SourceError::File { path: path.display().to_string(), reason: e.to_string() };
            // Read at most one byte past the limit: a huge file (or /dev/zero) is never loaded.
            let mut bytes = Vec::new();
            std::fs::File::open(path).and_then(|file| file.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes)).map_err(unreadable)?;
            bytes
        }
        Source::Url(url) => download(url, timeout)?,
    };
    if bytes.len() > MAX_BYTES {
        return Err(too_large());
    }
    let text = String::from_utf8(bytes).map_err(|_| SourceError::NotText { source_name: source_name.clone() })?;
    let start = text.trim_start().get(..256).unwrap_or(text.trim_start()).to_ascii_lowercase();
    if start.is_empty() {
        return Err(SourceError::Empty { source_name });
    }
    if start.starts_with("<!doctype html") || start.starts_with("<html") || (start.starts_with('<') && start.contains("<html")) {
        return Err(SourceError::Html { source_name });
    }
    Ok(text)
}

fn download(url: &str, timeout: Duration) -> Result<Vec<u8>, SourceError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| SourceError::BadUrl { url: url.to_owned(), reason: e.to_string() })?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| SourceError::Runtime(e.to_string()))?;
    runtime.block_on(download_async(parsed, timeout))
}

async fn download_async(url: reqwest::Url, timeout: Duration) -> Result<Vec<u8>, SourceError> {
    let shown = url.to_string();
    let host = url.host_str().unwrap_or_default().to_owned();
    let timed_out = || SourceError::TimedOut { url: shown.clone(), seconds: timeout.as_secs().max(1) };
    let client = reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .user_agent(concat!("hero-health-xtask/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SourceError::Unreachable { host: host.clone(), reason: e.to_string() })?;
    let mut progress = Progress::start(&shown);
    let mut response =
        client.get(url.clone()).send().await.map_err(|e| {
            if e.is_timeout() { timed_out() } else { SourceError::Unreachable { host: host.clone(), reason: root_cause(&e) } }
        })?;
    let status = response.status();
    if !status.is_success() {
        let hint = match status.as_u16() {
            404 | 410 => "the bundle may have moved: find the current link on https://developer.herohealth.net, then pass it to --from",
            401 | 403 => "the bundle is not public from here: download it in a browser and pass --from <file>",
            429 => "rate limited: wait a minute and try again",
            _ if status.is_server_error() => "a server-side problem: try again later, or pass --from <file>",
            _ => "pass the bundle's current URL, or a file, to --from",
        };
        return Err(SourceError::Status { url: shown, status: status.to_string(), hint });
    }
    let expected = response.content_length();
    if expected.is_some_and(|n| n > MAX_BYTES as u64) {
        return Err(SourceError::TooLarge { source_name: shown, limit_mib: MAX_BYTES >> 20 });
    }
    let mut body = Vec::with_capacity(expected.unwrap_or(0).min(MAX_BYTES as u64) as usize);
    loop {
        match response.chunk().await {
            // One chunk past the limit is enough to know: `fetch` refuses it.
            Ok(Some(_)) if body.len() > MAX_BYTES => break,
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                progress.update(body.len(), expected);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => return Err(timed_out()),
            Err(e) => {
                return Err(SourceError::CutOff {
                    url: shown,
                    received: body.len(),
                    expected: expected.map(|n| format!(" of {n}")).unwrap_or_default(),
                    reason: root_cause(&e),
                });
            }
        }
    }
    progress.finish(body.len());
    Ok(body)
}

/// The innermost cause: reqwest's top-level message ("error sending request") says little.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// One progress line on stderr: updated in place on a terminal, printed once otherwise.
struct Progress {
    terminal: bool,
    finished: bool,
}

impl Progress {
    fn start(url: &str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        eprint!("downloading {url}");
        if !terminal {
            eprintln!(" …");
        }
        Progress { terminal, finished: false }
    }
    fn update(&mut self, received: usize, expected: Option<u64>) {
        if self.terminal {
            let total = expected.map(|n| format!(" of {} KiB", n / 1024)).unwrap_or_default();
            eprint!("\r\x1b[Kdownloading … {} KiB{total}", received / 1024);
            let _ = std::io::stderr().flush();
        }
    }
    fn finish(mut self, received: usize) {
        if self.terminal {
            eprint!("\r\x1b[K");
        }
        eprintln!("downloaded {} KiB", received.div_ceil(1024));
        self.finished = true;
    }
}

impl Drop for Progress {
    /// On failure, end the in-place line so the error starts on its own.
    fn drop(&mut self) {
        if self.terminal && !self.finished {
            eprintln!();
        }
    }
}
