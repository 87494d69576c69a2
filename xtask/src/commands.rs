//! The three commands. They print progress and results themselves (stdout for results, stderr
//! for warnings) and return an [`XtaskError`] for the caller to print as one message.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::codegen::{self, Generated};
use crate::decisions::{self, ACCEPTED_PATH, Resolution};
use crate::drift;
use crate::effective::{self, OVERLAY_PATH, UPSTREAM_PATH};
use crate::error::XtaskError;
use crate::normalise;
use crate::overlay::{self, Overlay};
use crate::report::{self, ReportInput};
use crate::source::{self, Source};

/// The snapshots `tests/generated_surface.rs` keeps of the generated surface and code.
const SNAPSHOTS: [(&str, &str); 2] = [
    ("surface listing", "tests/snapshots/generated_surface__surface.snap"),
    ("generated code", "tests/snapshots/generated_surface__codegen.snap"),
];

/// How many diff lines `check` prints per file before summarising the rest.
const DIFF_LINES: usize = 120;

/// The repository the commands work on.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// The repository at `root`, or the one this xtask was built in.
    pub fn new(root: Option<PathBuf>) -> Self {
        let root = root.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_path_buf());
        Repo { root }
    }

    /// The repository's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn spec(&self) -> PathBuf {
        self.root.join(codegen::SPEC_PATH)
    }

    fn read(&self, relative: &str) -> Result<String, XtaskError> {
        let path = self.root.join(relative);
        std::fs::read_to_string(&path).map_err(|e| XtaskError::io("read", &path, e))
    }

    /// `openapi/overlay.yaml`, or an empty overlay where a repository has none.
    fn overlay(&self) -> Result<Overlay, XtaskError> {
        match std::fs::read_to_string(self.root.join(OVERLAY_PATH)) {
            Ok(text) => Ok(overlay::parse(&text)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Overlay::default()),
            Err(e) => Err(XtaskError::io("read", &self.root.join(OVERLAY_PATH), e)),
        }
    }

    /// `openapi/accepted.yaml`'s resolutions and why each was accepted (none without the file).
    fn accepted(&self) -> Result<Vec<(Resolution, String)>, XtaskError> {
        match std::fs::read_to_string(self.root.join(ACCEPTED_PATH)) {
            Ok(text) => decisions::parse_accepted(&text).map_err(|e| XtaskError::Overlay(overlay::OverlayError::Invalid(e))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(XtaskError::io("read", &self.root.join(ACCEPTED_PATH), e)),
        }
    }

    /// The effective document from the committed upstream, overlay and accepted resolutions.
    fn committed_effective(&self) -> Result<effective::Effective, XtaskError> {
        let upstream = self.read(UPSTREAM_PATH)?;
        let accepted: Vec<Resolution> = self.accepted()?.into_iter().map(|(r, _)| r).collect();
        effective::build(&upstream, &self.overlay()?, &accepted, UPSTREAM_PATH)
    }
}

/// Options of `update-spec`.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Where to read the new document.
    pub from: Source,
    /// Where to write the Markdown report, if anywhere.
    pub report: Option<PathBuf>,
    /// How long a download may take.
    pub timeout: Duration,
    /// Resolutions to accept, besides those `openapi/accepted.yaml` keeps (`--accept`).
    pub accept: Vec<Resolution>,
}

/// Parses and generates the rendered document exactly as build.rs would.
fn generate(text: &str) -> Result<(openapiv3::OpenAPI, Generated), codegen::GenerateError> {
    let spec = codegen::parse(text)?;
    let generated = codegen::generate(&spec)?;
    Ok((spec, generated))
}

/// `cargo xtask update-spec`: fetch, build the effective document (upstream + overlay), check,
/// report, then replace `openapi/upstream.yaml` and the effective document.
pub fn update_spec(repo: &Repo, options: &UpdateOptions) -> Result<(), XtaskError> {
    let started = Instant::now();
    let source_name = options.from.to_string();
    let text = source::fetch(&options.from, options.timeout)?;
    let overlay = repo.overlay()?;
    let kept = repo.accepted()?;
    let mut accepted: Vec<Resolution> = kept.iter().map(|(r, _)| r.clone()).collect();
    accepted.extend(options.accept.iter().cloned());
    let effective = effective::build(&text, &overlay, &accepted, &source_name)?;
    for change in &effective.changes {
        eprintln!("warning: {change}");
    }
    let undecided: Vec<String> = effective.undecided().iter().map(ToString::to_string).collect();
    let rendered = normalise::render(&effective.document);
    let new_spec = match generate(&rendered) {
        Ok((spec, generated)) => (spec, generated),
        Err(e) if undecided.is_empty() => return Err(XtaskError::Rejected { source_name: source_name.clone(), reason: e.to_string() }),
        Err(e) => {
            // Left out while undecided, some parts may be why it does not generate: decide first.
            println!("{}", report::decisions(&effective.differences));
            eprintln!("(with the undecided parts left out, the document does not generate either: {e})");
            return Err(XtaskError::Undecided(undecided));
        }
    };
    let (new_spec, new_generated) = new_spec;
    if new_spec.operations().next().is_none() {
        return Err(XtaskError::NoOperations { source_name });
    }

    // The committed document is the baseline; if it is missing or broken, everything is "added".
    let committed = std::fs::read_to_string(repo.spec()).ok();
    let baseline = committed.as_deref().and_then(|t| generate(t).ok());
    if committed.is_some() && baseline.is_none() {
        eprintln!("warning: the committed {} does not generate; the drift report compares against nothing", codegen::SPEC_PATH);
    }
    let empty = openapiv3::OpenAPI::default();
    let old_spec = baseline.as_ref().map_or(&empty, |(spec, _)| spec);
    let drift = drift::compare(old_spec, &new_spec);
    let used = baseline
        .as_ref()
        .map(|(spec, generated)| report::used_by_src(&repo.root.join("src"), &generated.surface, &drift::outlines(spec)))
        .unwrap_or_default();
    let text_report = report::render(&ReportInput {
        versions: (if baseline.is_some() { &old_spec.info.version } else { "(no previous document)" }, &new_spec.info.version),
        source: &source_name,
        drift: &drift,
        used: &used,
        changes: &effective.changes,
        overlay: &effective::report(&effective, &overlay),
        differences: &effective.differences,
        generated: baseline.as_ref().map(|(_, generated)| (generated, &new_generated)),
    });
    println!("{text_report}");

    if let Some(path) = &options.report {
        write_atomically(path, &text_report)?;
        println!("Report written to {}.", path.display());
    }
    if !undecided.is_empty() {
        return Err(XtaskError::Undecided(undecided));
    }
    // What was accepted is kept, by name, so that `check` and `apply` give this same document;
    // what resolved nothing any more is left out.
    let why = |r: &Resolution| {
        kept.iter()
            .find(|(k, _)| k == r)
            .map_or_else(|| format!("accepted with `update-spec --accept` from {source_name}"), |(_, why)| why.clone())
    };
    let mut keep: Vec<(Resolution, String)> = Vec::new();
    for resolution in &effective.used {
        if !keep.iter().any(|(k, _)| k == resolution) {
            keep.push((resolution.clone(), why(resolution)));
        }
    }
    let accepted_path = repo.root.join(ACCEPTED_PATH);
    let accepted_text = decisions::render_accepted(&keep);
    let accepted_now = std::fs::read_to_string(&accepted_path).ok();
    let accepted_changed = if keep.is_empty() { accepted_now.is_some() } else { accepted_now.as_deref() != Some(accepted_text.as_str()) };
    let upstream_path = repo.root.join(UPSTREAM_PATH);
    let upstream_same = std::fs::read_to_string(&upstream_path).ok().as_deref() == Some(text.as_str());
    if committed.as_deref() == Some(rendered.as_str()) && upstream_same && !accepted_changed {
        println!("{UPSTREAM_PATH} and {} are already up to date: nothing to do.", codegen::SPEC_PATH);
    } else {
        // Upstream first: if the second write failed, `check` would show the effective
        // document as stale, never a document that matches no upstream.
        write_atomically(&upstream_path, &text)?;
        if accepted_changed && keep.is_empty() {
            std::fs::remove_file(&accepted_path).map_err(|e| XtaskError::io("remove", &accepted_path, e))?;
        } else if accepted_changed {
            write_atomically(&accepted_path, &accepted_text)?;
        }
        write_atomically(&repo.spec(), &rendered)?;
        println!(
            "Updated {UPSTREAM_PATH} (verbatim) and {}. Next: `cargo insta review` (or `INSTA_UPDATE=always cargo test --workspace` and `git diff tests/snapshots`), then `cargo xtask check`.",
            codegen::SPEC_PATH
        );
    }
    eprintln!("update-spec took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `cargo xtask apply`: rebuilds the effective document from the committed upstream and
/// overlay, after an edit to the overlay; prints the overlay report.
pub fn apply(repo: &Repo) -> Result<(), XtaskError> {
    let overlay = repo.overlay()?;
    let effective = repo.committed_effective()?;
    for change in &effective.changes {
        eprintln!("warning: {change}");
    }
    for difference in &effective.differences {
        eprintln!("note: {difference}");
    }
    effective.decided()?;
    let rendered = normalise::render(&effective.document);
    generate(&rendered).map_err(|e| XtaskError::Rejected { source_name: UPSTREAM_PATH.to_owned(), reason: e.to_string() })?;
    print!("{}", effective::report(&effective, &overlay));
    if std::fs::read_to_string(repo.spec()).ok().as_deref() == Some(rendered.as_str()) {
        println!("{} is already what {UPSTREAM_PATH} + {OVERLAY_PATH} give.", codegen::SPEC_PATH);
    } else {
        write_atomically(&repo.spec(), &rendered)?;
        println!("Updated {}. Next: `cargo insta review`, then `cargo xtask check`.", codegen::SPEC_PATH);
    }
    Ok(())
}

/// Writes through a temporary file in the same directory and renames it into place, so a
/// failure (or Ctrl-C) never leaves a half-written file.
fn write_atomically(path: &Path, text: &str) -> Result<(), XtaskError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| XtaskError::io("write", path, e))?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| XtaskError::io("write", path, e))?;
    file.write_all(text.as_bytes()).map_err(|e| XtaskError::io("write", path, e))?;
    // The temporary file is private (0600); the document keeps the mode it had, or gets the
    // usual 0644, so the rename does not make it unreadable to others.
    let permissions = match std::fs::metadata(path) {
        Ok(existing) => existing.permissions(),
        Err(_) => default_permissions(file.as_file()).map_err(|e| XtaskError::io("write", path, e))?,
    };
    file.as_file().set_permissions(permissions).map_err(|e| XtaskError::io("write", path, e))?;
    file.persist(path).map_err(|e| XtaskError::io("write", path, e.error))?;
    Ok(())
}

#[cfg(unix)]
fn default_permissions(_: &std::fs::File) -> std::io::Result<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt as _;
    Ok(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions(file: &std::fs::File) -> std::io::Result<std::fs::Permissions> {
    file.metadata().map(|m| m.permissions())
}

/// `cargo xtask check`: normalised, generates, snapshots current. Prints a diff per failure.
pub fn check(repo: &Repo) -> Result<(), XtaskError> {
    let text = repo.read(codegen::SPEC_PATH)?;
    let mut failures = 0;

    let normalised = effective::load(&text, codegen::SPEC_PATH)?;
    let rendered = normalise::render(&normalised.document);
    if normalised.changes.is_empty() && rendered == text {
        println!("ok: {} is normalised", codegen::SPEC_PATH);
    } else {
        failures += 1;
        println!("FAILED: {} is not normalised ({} rule change(s)):", codegen::SPEC_PATH, normalised.changes.len());
        for change in &normalised.changes {
            println!("  {change}");
        }
        print!("{}", diff(&text, &rendered, "committed", "normalised"));
        println!("  fix: cargo xtask update-spec --from {}", codegen::SPEC_PATH);
    }

    match std::fs::read_to_string(repo.root.join(UPSTREAM_PATH)) {
        Ok(_) => match repo.committed_effective() {
            Ok(effective) if !effective.undecided().is_empty() => {
                failures += 1;
                println!("FAILED: {UPSTREAM_PATH} differs from what {OVERLAY_PATH} expects, undecided:");
                for difference in effective.undecided() {
                    println!("  {difference}");
                }
                println!("  fix: cargo xtask update-spec --from {UPSTREAM_PATH} --accept '<resolution>', or edit the overlay");
            }
            Ok(effective) if normalise::render(&effective.document) == text => {
                println!("ok: {} is what {UPSTREAM_PATH} + {OVERLAY_PATH} give", codegen::SPEC_PATH);
            }
            Ok(effective) => {
                failures += 1;
                println!("FAILED: {} is not what {UPSTREAM_PATH} + {OVERLAY_PATH} give:", codegen::SPEC_PATH);
                print!("{}", diff(&text, &normalise::render(&effective.document), "committed", "upstream + overlay"));
                println!("  fix: cargo xtask apply");
            }
            Err(e) => {
                failures += 1;
                println!("FAILED: {UPSTREAM_PATH} + {OVERLAY_PATH} do not build: {e}");
            }
        },
        Err(_) => println!("note: no {UPSTREAM_PATH}: the document is not kept as upstream + overlay"),
    }

    match generate(&text) {
        Err(e) => {
            failures += 1;
            println!("FAILED: {} does not generate: {e}", codegen::SPEC_PATH);
        }
        Ok((_, generated)) => {
            println!("ok: the preflight passes and progenitor generates the client");
            // The snapshot holds the code formatted; a file that does not format is a stale snapshot too.
            let code = crate::pretty::code(&generated.code).unwrap_or_else(|e| format!("({e})"));
            for ((what, path), current) in SNAPSHOTS.iter().zip([&generated.surface, &code]) {
                match repo.read(path).map(|s| snapshot_body(&s).to_owned()) {
                    Ok(stored) if stored.trim_end() == current.trim_end() => println!("ok: {path} is current"),
                    Ok(stored) => {
                        failures += 1;
                        println!("FAILED: {path} is out of date: the {what} changed");
                        print!("{}", diff(&stored, current, "snapshot", "generated"));
                        println!("  fix: review with `cargo insta review` (or `INSTA_UPDATE=always cargo test --workspace`)");
                    }
                    Err(e) => {
                        failures += 1;
                        println!("FAILED: {e}; create it with `INSTA_UPDATE=always cargo test --workspace`");
                    }
                }
            }
        }
    }
    if failures == 0 { Ok(()) } else { Err(XtaskError::CheckFailed(failures)) }
}

/// `cargo xtask surface`: the listing the surface snapshot holds.
pub fn surface(repo: &Repo) -> Result<String, XtaskError> {
    let text = repo.read(codegen::SPEC_PATH)?;
    generate(&text)
        .map(|(_, generated)| generated.surface)
        .map_err(|e| XtaskError::Rejected { source_name: codegen::SPEC_PATH.to_owned(), reason: e.to_string() })
}

/// The snapshot's content: insta files start with a `---`-fenced header.
fn snapshot_body(file: &str) -> &str {
    file.strip_prefix("---\n").and_then(|rest| rest.split_once("\n---\n")).map_or(file, |(_, body)| body)
}

/// A unified diff, cut after [`DIFF_LINES`] lines.
fn diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    let text = similar::TextDiff::from_lines(old, new).unified_diff().context_radius(2).header(old_name, new_name).to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut out: String = lines.iter().take(DIFF_LINES).map(|l| format!("  {l}\n")).collect();
    if lines.len() > DIFF_LINES {
        out.push_str(&format!("  … {} more diff lines\n", lines.len() - DIFF_LINES));
    }
    out
}
