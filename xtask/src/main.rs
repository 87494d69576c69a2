//! `cargo xtask <command>` (the alias is in `.cargo/config.toml`). See the README, "Keeping up
//! with the API".

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use xtask::commands::{self, Repo, UpdateOptions};
use xtask::source::{BUNDLE_URL, Source};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Maintenance tasks for hero-health")]
struct Cli {
    /// Repository root to work on (default: the one this xtask belongs to).
    #[arg(long, global = true, hide = true, env = "HERO_XTASK_ROOT")]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch Hero's OpenAPI bundle, normalise it for progenitor, report the drift, and replace
    /// openapi/hero-public-api.yaml (only if everything passes).
    UpdateSpec {
        /// URL or file of the new document (YAML or JSON, OpenAPI 3.0 or 3.1).
        #[arg(long, default_value = BUNDLE_URL)]
        from: String,
        /// Also write the drift report, as Markdown, to this file (for a pull request body).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Give up a download after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// Decide a difference the report lists (repeatable): `drop-removed[=METHOD /path]`,
        /// `follow=METHOD /a -> METHOD /b`, `drop-pin=<target>`, `drop-schema-pin=<Name>`,
        /// `rename-schema=<Old> -> <New>`. Kept in openapi/accepted.yaml once written.
        #[arg(long, value_parser = parse_resolution)]
        accept: Vec<xtask::decisions::Resolution>,
    },
    /// Check that the committed document is upstream + overlay, normalised, generates, and
    /// matches the snapshots.
    Check,
    /// Rebuild openapi/hero-public-api.yaml from openapi/upstream.yaml and openapi/overlay.yaml
    /// (after editing the overlay).
    Apply,
    /// Print the generated surface (one line per operation), as the snapshot holds it.
    Surface,
    /// Swap in bundles spelled the way published ones are (Redocly 3.1, NestJS) on copies of the
    /// repository: update-spec, then the crate, its tests and examples must build and the
    /// booking example must book.
    BundleLoop,
    /// Print a bundle in one of the bundle loop's styles, made from openapi/upstream.yaml (to
    /// try `update-spec --from` on by hand).
    Fixture {
        /// redocly-3.1, nestjs, shared-components, duplicated-inline, fastapi, springdoc or moved.
        style: String,
    },
    /// Compare Hero's answers with the document, from a credentialed run: every read-only
    /// operation it can parameterise, one small page each, never a write. Writes a report and a
    /// proposed overlay for review; keeps shapes (field paths, types, enum values), never values.
    Probe {
        /// Hero's base URL (overrides --env).
        #[arg(long, env = "HERO_BASE_URL")]
        base_url: Option<String>,
        /// `staging` (default), `production` or `mock`.
        #[arg(long = "env", env = "HERO_ENV", default_value = "staging")]
        environment: String,
        /// The API key (`x-api-key`).
        #[arg(long, env = "HERO_API_KEY", hide_env_values = true)]
        api_key: String,
        /// The practice group (`x-practice-group-id`).
        #[arg(long, env = "HERO_PRACTICE_GROUP_ID")]
        practice_group_id: String,
        /// At most this many requests, retries included.
        #[arg(long, default_value_t = 60)]
        max_requests: usize,
        /// Items per list page.
        #[arg(long, default_value_t = 5)]
        page_size: u32,
        /// The largest answer read, in bytes (a larger one is not read).
        #[arg(long, default_value_t = xtask::probe::DEFAULT_MAX_ANSWER_BYTES)]
        max_answer_bytes: usize,
        /// The whole run stops within this many seconds.
        #[arg(long, default_value_t = xtask::probe::DEFAULT_TIME_BUDGET.as_secs())]
        time_budget: u64,
        /// The document to compare with (default: the committed effective document).
        #[arg(long)]
        document: Option<PathBuf>,
        /// Where to write the Markdown report.
        #[arg(long, default_value = "target/probe/report.md")]
        report: PathBuf,
        /// Where to write the proposed overlay.
        #[arg(long, default_value = "target/probe/proposed-overlay.yaml")]
        overlay: PathBuf,
    },
    /// Print the ratios of the last `cargo bench --bench sdk` run against their targets.
    BenchReport {
        /// Criterion's output directory.
        #[arg(long, default_value = "target/criterion")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let repo = Repo::new(cli.root);
    let result = match cli.command {
        Command::UpdateSpec { from, report, timeout, accept } => commands::update_spec(
            &repo,
            &UpdateOptions { from: Source::parse(&from), report, timeout: Duration::from_secs(timeout.max(1)), accept },
        ),
        Command::Check => commands::check(&repo),
        Command::BundleLoop => xtask::bundle_loop::run(repo.root()),
        Command::Fixture { style } => xtask::bundle_loop::fixture(repo.root(), &style).map(|text| print!("{text}")),
        Command::Apply => commands::apply(&repo),
        Command::Surface => commands::surface(&repo).map(|s| print!("{s}")),
        Command::BenchReport { dir } => xtask::bench_report::render(&dir).map(|s| print!("{s}")),
        Command::Probe {
            base_url,
            environment,
            api_key,
            practice_group_id,
            max_requests,
            page_size,
            max_answer_bytes,
            time_budget,
            document,
            report,
            overlay,
        } => probe(
            &repo,
            base_url,
            &environment,
            api_key,
            practice_group_id,
            Limits { document, max_requests, page_size, max_answer_bytes, time_budget: Duration::from_secs(time_budget.max(1)) },
            xtask::probe::Outputs { report, overlay },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse_resolution(text: &str) -> Result<xtask::decisions::Resolution, String> {
    xtask::decisions::Resolution::parse(text)
}

/// What the probe compares with, and how much it may do.
struct Limits {
    document: Option<PathBuf>,
    max_requests: usize,
    page_size: u32,
    max_answer_bytes: usize,
    time_budget: Duration,
}

fn probe(
    repo: &Repo,
    base_url: Option<String>,
    environment: &str,
    api_key: String,
    practice_group_id: String,
    limits: Limits,
    outputs: xtask::probe::Outputs,
) -> Result<(), xtask::XtaskError> {
    let (base_url, label) = match base_url {
        Some(url) => (url, "HERO_BASE_URL".to_owned()),
        None => {
            let url = xtask::probe::environment_url(environment).ok_or_else(|| {
                // Named only when it is a short word: a key pasted there would be printed.
                let shown = if environment.len() <= 16 && environment.bytes().all(|b| b.is_ascii_alphabetic()) {
                    environment
                } else {
                    "not a name"
                };
                xtask::XtaskError::Probe(format!("HERO_ENV is `{shown}`; use staging, production or mock (or HERO_BASE_URL)"))
            })?;
            (url.to_owned(), format!("{environment} ({url})"))
        }
    };
    let in_repo = |path: PathBuf| if path.is_absolute() { path } else { repo.root().join(path) };
    let options = xtask::probe::ProbeOptions {
        document: in_repo(limits.document.unwrap_or_else(|| PathBuf::from(xtask::codegen::SPEC_PATH))),
        base_url,
        api_key,
        practice_group_id,
        max_requests: limits.max_requests.max(1),
        page_size: limits.page_size.max(1),
        max_answer_bytes: limits.max_answer_bytes.max(1),
        time_budget: limits.time_budget,
    };
    let outputs = xtask::probe::Outputs { report: in_repo(outputs.report), overlay: in_repo(outputs.overlay) };
    xtask::probe::command(&options, &outputs, &label).map(|_| ())
}
