//! `cargo xtask bundle-loop`: the promise that the day Hero's bundle can be fetched,
//! `update-spec` swaps it in and the crate still builds. The loop is run the way a user would
//! run it, on bundles spelled the way published ones are ([`crate::fixtures`]).
//!
//! For each fixture, on a copy of the repository (its tracked and new files):
//! 1. `update-spec --from <fixture>`, whose report shows the pins applied, the inferences still
//!    supplied and those upstream now covers; a fixture that needs a decision is first run
//!    without it, which must refuse and write nothing, then with its `--accept`s;
//! 2. every method of the committed surface is still generated, under the same name (but those
//!    an accepted resolution drops);
//! 3. `cargo build -p hero-health --tests --examples` with warnings denied, in one target
//!    directory the fixtures share;
//! 4. `cargo run --example book_appointment`, which books against the mock.
//!
//! Steps 3 and 4 are skipped for a fixture whose effective document is byte-identical to the
//! committed one (which CI's own `cargo test --workspace` builds and books with) or to one
//! already built: the generated code, and so the build, would be the same. That a bundle
//! normalises to the committed document byte for byte is the strongest result the loop has.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use yaml_serde::Value;

use crate::XtaskError;
use crate::commands::{self, Repo, UpdateOptions};
use crate::effective::UPSTREAM_PATH;
use crate::fixtures::{self, Style};
use crate::source::Source;

/// Runs the loop for every fixture; stops at the first failure.
pub fn run(root: &Path) -> Result<(), XtaskError> {
    let upstream = read_upstream(root)?;
    let committed_surface = commands::surface(&Repo::new(Some(root.to_owned())))?;
    let committed_methods = methods(&committed_surface);
    // A target directory of its own, shared by the fixtures. Not the repository's: cargo hashes a
    // path package by its place in the workspace, so a copy's build would overwrite the
    // repository's own build-script output (its generated code).
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from).join("bundle-loop");
    let mut timings = Vec::new();
    // The committed document is built, tested and booked with by `cargo test --workspace` and
    // the README's example, in CI's own run.
    let spec = root.join(crate::codegen::SPEC_PATH);
    let committed = std::fs::read_to_string(&spec).map_err(|e| XtaskError::io("read", &spec, e))?;
    let mut built: Vec<(String, &str)> = vec![(committed, "the committed document")];
    for Style { name, make, accept, dropped } in fixtures::STYLES {
        let started = Instant::now();
        println!("\n=== bundle-loop: {name} ===");
        let copy = tempfile::tempdir().map_err(|e| failed(name, format!("cannot make a temporary directory: {e}")))?;
        copy_repository(root, copy.path()).map_err(|e| failed(name, e))?;
        let fixture = copy.path().join(format!("fixture-{name}.yaml"));
        let text = yaml_serde::to_string(&make(&upstream)).map_err(|e| failed(name, e.to_string()))?;
        std::fs::write(&fixture, text).map_err(|e| XtaskError::io("write", &fixture, e))?;

        let repo = Repo::new(Some(copy.path().to_owned()));
        let mut options = UpdateOptions {
            from: Source::File(fixture),
            report: Some(copy.path().join("report.md")),
            timeout: Duration::from_secs(60),
            accept: Vec::new(),
        };
        if !accept.is_empty() {
            let spec = copy.path().join(crate::codegen::SPEC_PATH);
            let before = std::fs::read_to_string(&spec).map_err(|e| XtaskError::io("read", &spec, e))?;
            match commands::update_spec(&repo, &options) {
                Err(XtaskError::Undecided(list)) => println!("ok: refused undecided, as it must: {} difference(s) to decide", list.len()),
                other => return Err(failed(name, format!("update-spec without {accept:?} should refuse, and gave {other:?}"))),
            }
            if std::fs::read_to_string(&spec).ok().as_deref() != Some(before.as_str()) {
                return Err(failed(name, "update-spec refused but wrote the document"));
            }
            options.accept =
                accept.iter().map(|a| crate::decisions::Resolution::parse(a)).collect::<Result<_, _>>().map_err(|e| failed(name, e))?;
        }
        commands::update_spec(&repo, &options).map_err(|e| failed(name, format!("update-spec failed: {e}")))?;

        let surface = commands::surface(&repo)?;
        let now = methods(&surface);
        let lost: Vec<&String> = committed_methods.iter().filter(|m| !now.contains(m) && !dropped.contains(&m.as_str())).collect();
        if !lost.is_empty() {
            return Err(failed(name, format!("these methods are no longer generated: {lost:?}; pin them in openapi/overlay.yaml")));
        }
        let but = if dropped.is_empty() { String::new() } else { format!(" (but {}, dropped by decision)", dropped.join(", ")) };
        println!("ok: all {} methods of the committed surface are generated under the same names{but}", committed_methods.len());
        // For the reviewer: how far this bundle's surface is from the committed one.
        let changed: Vec<String> = similar::TextDiff::from_lines(&committed_surface, &surface)
            .iter_all_changes()
            .filter(|c| c.tag() != similar::ChangeTag::Equal)
            .map(|c| format!("  {}{}", if c.tag() == similar::ChangeTag::Delete { '-' } else { '+' }, c.value().trim_end()))
            .collect();
        if changed.is_empty() {
            println!("surface: identical to the committed one");
        } else {
            println!("surface: {} line(s) differ from the committed one:\n{}", changed.len(), changed.join("\n"));
        }

        let spec_path = copy.path().join(crate::codegen::SPEC_PATH);
        let effective = std::fs::read_to_string(&spec_path).map_err(|e| XtaskError::io("read", &spec_path, e))?;
        if let Some((_, same)) = built.iter().find(|(text, _)| *text == effective) {
            println!("ok: the effective document is byte-identical to {same}: the build and the booking would be the same");
            timings.push((name, started.elapsed()));
            continue;
        }
        built.push((effective, name));
        cargo(copy.path(), &target, &["build", "-p", "hero-health", "--tests", "--examples"]).map_err(|e| failed(name, e))?;
        println!("ok: the crate builds with its tests and examples");
        let output = cargo(copy.path(), &target, &["run", "-q", "-p", "hero-health", "--example", "book_appointment"])
            .map_err(|e| failed(name, e))?;
        if !output.contains("booked") {
            return Err(failed(name, format!("the example ran but did not say it booked:\n{output}")));
        }
        println!("ok: the booking example books against the mock");
        timings.push((name, started.elapsed()));
    }
    println!();
    for (name, took) in timings {
        println!("bundle-loop {name}: passed in {:.0} s", took.as_secs_f64());
    }
    Ok(())
}

/// The bundle of the style named `style`, as YAML, made from `openapi/upstream.yaml`.
///
/// # Errors
///
/// No such style, or upstream cannot be read.
pub fn fixture(root: &Path, style: &str) -> Result<String, XtaskError> {
    let upstream = read_upstream(root)?;
    let found = fixtures::STYLES.iter().find(|s| s.name == style).ok_or_else(|| {
        failed(style, format!("no such style; use one of {}", fixtures::STYLES.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")))
    })?;
    yaml_serde::to_string(&(found.make)(&upstream)).map_err(|e| failed(style, e.to_string()))
}

fn read_upstream(root: &Path) -> Result<Value, XtaskError> {
    let path = root.join(UPSTREAM_PATH);
    let text = std::fs::read_to_string(&path).map_err(|e| XtaskError::io("read", &path, e))?;
    yaml_serde::from_str(&text).map_err(|e| failed("upstream", format!("{UPSTREAM_PATH} is not YAML: {e}")))
}

fn failed(fixture: &str, reason: impl std::fmt::Display) -> XtaskError {
    XtaskError::Rejected { source_name: format!("bundle-loop ({fixture})"), reason: reason.to_string() }
}

/// The method names of a surface listing (`METHOD /path -> method -> …`).
fn methods(surface: &str) -> Vec<String> {
    surface.lines().filter_map(|line| line.split(" -> ").nth(1).map(str::to_owned)).collect()
}

/// Copies the files git knows of (tracked, and new ones not ignored) from `root` to `to`.
fn copy_repository(root: &Path, to: &Path) -> Result<(), String> {
    let listing = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run git ls-files: {e}"))?;
    if !listing.status.success() {
        return Err(format!("git ls-files failed: {}", String::from_utf8_lossy(&listing.stderr)));
    }
    for name in listing.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let relative = Path::new(std::str::from_utf8(name).map_err(|_| "a file name is not UTF-8".to_owned())?);
        let (from, dest) = (root.join(relative), to.join(relative));
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::copy(&from, &dest).map_err(|e| format!("cannot copy {}: {e}", relative.display()))?;
    }
    Ok(())
}

/// Runs cargo in `dir` with the shared target directory; its stdout on success.
fn cargo(dir: &Path, target: &Path, args: &[&str]) -> Result<String, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        // A warning in the generated code is a difference the bundle made (a type the
        // hand-written layer names by schema, no longer generated, leaves dead code): it fails.
        // Dependencies' lints are capped by cargo, so only this workspace's code is held to it.
        .env("RUSTFLAGS", "-D warnings")
        // The example must use its embedded mock, never credentials from the environment.
        .env_remove("HERO_API_KEY")
        .env_remove("HERO_PRACTICE_GROUP_ID")
        .env_remove("HERO_ENV")
        .env_remove("HERO_BASE_URL")
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo {}: {e}", args.join(" ")))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() { Ok(stdout) } else { Err(format!("`cargo {}` failed ({}):\n{stdout}", args.join(" "), output.status)) }
}
