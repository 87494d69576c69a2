//! The drift report: what changed in the API, which changes the hand-written layer (`src/`)
//! depends on, and what the normaliser did. Markdown, so it can be a pull request's body; it also
//! reads fine in a terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::codegen::Generated;
use crate::decisions::Difference;
use crate::drift::{Drift, Outline};
use crate::normalise::{Change, Rule};

/// The generated method name of each operation the hand-written layer calls, by `operationId`.
///
/// `surface` is the committed document's surface listing (`METHOD /path -> method -> …`);
/// `outlines` maps its operations to `(METHOD, path)`. A call is found textually as `.method(`
/// in any `.rs` file under `src/`: it can over-report (a hand-written method of the same name),
/// never under-report, which is the safe side for a breaking-change list.
pub fn used_by_src(src: &Path, surface: &str, outlines: &BTreeMap<String, Outline>) -> BTreeMap<String, String> {
    let mut code = String::new();
    read_rust_files(src, &mut code);
    let by_route: BTreeMap<(&str, &str), &str> = surface
        .lines()
        .filter_map(|line| {
            let mut parts = line.split(" -> ");
            let (method, path) = parts.next()?.split_once(' ')?;
            Some(((method, path), parts.next()?))
        })
        .collect();
    outlines
        .iter()
        .filter_map(|(id, o)| {
            let method = *by_route.get(&(o.method.as_str(), o.path.as_str()))?;
            code.contains(&format!(".{method}(")).then(|| (id.clone(), method.to_owned()))
        })
        .collect()
}

fn read_rust_files(dir: &Path, into: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            read_rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs")
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            into.push_str(&text);
            into.push('\n');
        }
    }
}

/// What the report is about.
pub struct ReportInput<'a> {
    /// `info.version` before and after.
    pub versions: (&'a str, &'a str),
    /// Where the new document came from.
    pub source: &'a str,
    /// The API differences.
    pub drift: &'a Drift,
    /// Operations `src/` calls: `operationId` → method name.
    pub used: &'a BTreeMap<String, String>,
    /// What the normaliser changed in the new document.
    pub changes: &'a [Change],
    /// The overlay section ([`crate::effective::report`]); empty without an overlay.
    pub overlay: &'a str,
    /// How the document differs from what the overlay expects ([`crate::decisions`]).
    pub differences: &'a [Difference],
    /// What the committed and the new document generate, when there is a committed one.
    pub generated: Option<(&'a Generated, &'a Generated)>,
}

/// Renders the Markdown report.
pub fn render(input: &ReportInput<'_>) -> String {
    let ReportInput { versions, source, drift, used, changes, overlay, differences, generated } = input;
    let mut out = String::new();
    let _ = writeln!(out, "# Hero Health API update: {} → {}\n", versions.0, versions.1);
    let _ = writeln!(out, "Source: {source}\n");
    out.push_str(&decisions(differences));
    if let Some((old, new)) = generated {
        let lost = surface_losses(old, new);
        if !lost.is_empty() {
            let _ = writeln!(out, "## Breaking for users of the generated client ({})\n", lost.len());
            let _ = writeln!(
                out,
                "These leave the public surface: the next release is a minor (0.x) bump, with a CHANGELOG entry saying what to use instead.\n"
            );
            for item in &lost {
                let _ = writeln!(out, "- {item}");
            }
            out.push('\n');
        }
    }
    let breaking: Vec<(&Outline, Option<&Vec<String>>)> = drift
        .removed
        .iter()
        .map(|o| (o, None))
        .chain(drift.changed.iter().map(|c| (&c.outline, Some(&c.details))))
        .filter(|(o, _)| used.contains_key(&o.id))
        .collect();
    let _ = writeln!(
        out,
        "{} operation(s) added, {} removed, {} changed; **{} breaking for the hand-written layer** (`src/`).\n",
        drift.added.len(),
        drift.removed.len(),
        drift.changed.len(),
        breaking.len()
    );
    if drift.is_empty() {
        let _ = writeln!(out, "No operation changed.\n");
    }
    if !breaking.is_empty() {
        let _ = writeln!(out, "## Breaking for the hand-written layer\n");
        let _ = writeln!(out, "`src/` calls these; fix it in the same pull request (`cargo test --workspace` shows where).\n");
        for (outline, details) in &breaking {
            let what = if details.is_some() { "changed" } else { "removed" };
            let _ = writeln!(out, "- **{what}** {} — called as `.{}()`", heading(outline), used[&outline.id]);
            for detail in details.iter().flat_map(|d| d.iter()) {
                let _ = writeln!(out, "  - {detail}");
            }
        }
        out.push('\n');
    }
    section(&mut out, "Added", drift.added.iter().map(|o| (heading(o), &[][..])));
    section(&mut out, "Removed", drift.removed.iter().map(|o| (heading(o), &[][..])));
    section(&mut out, "Changed", drift.changed.iter().map(|c| (heading(&c.outline), &c.details[..])));
    if !drift.removed.is_empty() || !drift.changed.is_empty() {
        let _ = writeln!(
            out,
            "Removed operations and changed types are also breaking for users of the generated client: bump the crate's minor version (0.x).\n"
        );
    }
    out.push_str(overlay);
    conventions(&mut out, changes);
    let _ = writeln!(out, "## Normalisation ({} change(s))\n", changes.len());
    if changes.is_empty() {
        let _ = writeln!(out, "The document needed no change to suit the generator.\n");
    } else {
        let mut counts: BTreeMap<Rule, usize> = BTreeMap::new();
        for change in changes.iter() {
            *counts.entry(change.rule).or_default() += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(rule, n)| format!("`{}` × {n}", rule.name())).collect();
        let _ = writeln!(out, "{}\n\n<details><summary>Every change</summary>\n", summary.join(", "));
        for change in changes.iter() {
            let _ = writeln!(out, "- `{}` {}: {}", change.rule.name(), change.location, change.detail);
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    let _ = writeln!(out, "## Next step\n");
    let _ = writeln!(
        out,
        "Review the generated-surface diff: `cargo insta review` (or `INSTA_UPDATE=always cargo test --workspace`, then `git diff tests/snapshots`), then `cargo xtask check`."
    );
    out
}

/// The SDK conventions' changes, one list per rule, each field it touched: the types users see
/// differ from the published ones there, on purpose.
fn conventions(out: &mut String, changes: &[Change]) {
    let rules = [Rule::HeroId, Rule::PageIntegers, Rule::WholeNumbers, Rule::DateFormat];
    // Both normalisation passes report a field the upstream document already needed; list it once.
    let mut seen = std::collections::BTreeSet::new();
    let touched: Vec<&Change> = changes.iter().filter(|c| rules.contains(&c.rule) && seen.insert((c.rule, &c.location))).collect();
    if touched.is_empty() {
        return;
    }
    let _ = writeln!(out, "## SDK conventions ({} field(s))\n", touched.len());
    let _ = writeln!(
        out,
        "One idea, one Rust type in every operation; the JSON sent for a value is unchanged (README, \"SDK conventions\").\n"
    );
    for rule in rules {
        let fields: Vec<&&Change> = touched.iter().filter(|c| c.rule == rule).collect();
        if fields.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### `{}` ({})\n", rule.name(), fields.len());
        for change in fields {
            let _ = writeln!(out, "- {}: {}", change.location, change.detail);
        }
        out.push('\n');
    }
}

/// The decisions section: what stops the update (each with its `--accept`), what was accepted,
/// and what was followed on its own. Empty when the document is what the overlay expects.
pub fn decisions(differences: &[Difference]) -> String {
    let mut out = String::new();
    if differences.is_empty() {
        return out;
    }
    let undecided: Vec<&Difference> = differences.iter().filter(|d| d.blocks()).collect();
    let _ = writeln!(out, "## Differences from what the overlay expects ({}, {} undecided)\n", differences.len(), undecided.len());
    if !undecided.is_empty() {
        let _ = writeln!(out, "### To decide (nothing is written until each is)\n");
        for difference in &undecided {
            let (resolution, otherwise) = difference.decision();
            let breaking = if difference.breaking() { " **Breaking** if accepted." } else { "" };
            let accept = resolution.map_or_else(String::new, |r| format!(" Accept: `--accept '{r}'`;"));
            let _ = writeln!(out, "- {difference}.{accept} {otherwise}.{breaking}");
        }
        out.push('\n');
    }
    let rest: Vec<&Difference> = differences.iter().filter(|d| !d.blocks()).collect();
    if !rest.is_empty() {
        let _ = writeln!(out, "### Followed or accepted\n");
        for difference in rest {
            let breaking = if difference.breaking() { " **Breaking.**" } else { "" };
            let (_, next) = difference.decision();
            let next = if next.is_empty() { String::new() } else { format!(" ({next})") };
            let _ = writeln!(out, "- {difference}.{breaking}{next}");
        }
        out.push('\n');
    }
    out
}

/// Methods the `old` surface listing has and the `new` one lacks, and types the old code
/// defines and the new one does not (a bundle that names a schema differently renames its type).
fn surface_losses(old: &Generated, new: &Generated) -> Vec<String> {
    let methods = |surface: &str| -> std::collections::BTreeSet<String> {
        surface.lines().filter_map(|line| line.split(" -> ").nth(1).map(str::to_owned)).collect()
    };
    let (new_methods, new_types) = (methods(&new.surface), types_of(&new.code));
    let lost_methods =
        methods(&old.surface).into_iter().filter(|m| !new_methods.contains(m)).map(|m| format!("method `{m}()` is no longer generated"));
    let lost_types =
        types_of(&old.code).into_iter().filter(|t| !new_types.contains(t)).map(|t| format!("type `{t}` is no longer generated"));
    lost_methods.chain(lost_types).collect()
}

/// The names of the `pub struct`s and `pub enum`s in generated code.
fn types_of(code: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for keyword in ["pub struct ", "pub enum "] {
        for (at, _) in code.match_indices(keyword) {
            let name: String = code[at + keyword.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

fn heading(outline: &Outline) -> String {
    format!("`{}` ({} {})", outline.id, outline.method, outline.path)
}

fn section<'a>(out: &mut String, title: &str, items: impl ExactSizeIterator<Item = (String, &'a [String])>) {
    if items.len() == 0 {
        return;
    }
    let _ = writeln!(out, "## {title} ({})\n", items.len());
    for (heading, details) in items {
        let _ = writeln!(out, "- {heading}");
        for detail in details {
            let _ = writeln!(out, "  - {detail}");
        }
    }
    out.push('\n');
}
