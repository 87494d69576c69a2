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
        Command::UpdateSpec { from, report, timeout } => {
            commands::update_spec(&repo, &UpdateOptions { from: Source::parse(&from), report, timeout: Duration::from_secs(timeout.max(1)) })
        }
        Command::Check => commands::check(&repo),
        Command::BundleLoop => xtask::bundle_loop::run(repo.root()),
        Command::Apply => commands::apply(&repo),
        Command::Surface => commands::surface(&repo).map(|s| print!("{s}")),
        Command::BenchReport { dir } => xtask::bench_report::render(&dir).map(|s| print!("{s}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
