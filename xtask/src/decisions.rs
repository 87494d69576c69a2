//! The differences between a new bundle and what `openapi/overlay.yaml` expects, and the
//! decisions a maintainer takes on them.
//!
//! `update-spec` goes through the whole bundle and lists every [`Difference`] at once. Some are
//! followed on their own (an operation at another method, or at a path whose parameters were
//! renamed: [`Difference::Moved`]); the others stop it, and nothing is written, until they are
//! decided. A decision is a [`Resolution`], given with `--accept` (or written by hand in
//! [`ACCEPTED_PATH`]); an accepted one is kept there, so that `check` and `apply` rebuild the
//! same document, and the drift report says what was accepted.

use std::fmt;

use yaml_serde::{Mapping, Value};

use crate::pins::PinError;

/// Where accepted resolutions are kept.
pub const ACCEPTED_PATH: &str = "openapi/accepted.yaml";

/// An operation: HTTP method (lower case) and path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    /// `get`, `patch`…
    pub method: String,
    /// `/v1/admins/{id}`.
    pub path: String,
}

impl Route {
    /// A route from `METHOD /path`.
    pub fn parse(text: &str) -> Option<Route> {
        let (method, path) = text.trim().split_once(' ')?;
        let method = method.to_ascii_lowercase();
        let path = path.trim();
        (crate::normalise::METHODS.contains(&method.as_str()) && path.starts_with('/')).then(|| Route { method, path: path.to_owned() })
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method.to_uppercase(), self.path)
    }
}

/// A decision on a difference, as `--accept` takes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resolution {
    /// `drop-removed=GET /v1/x`: the operation is gone; drop what the overlay says of it (its
    /// method leaves the crate: breaking). `drop-removed` alone: every removed operation (each
    /// is kept by name, so a later removal is never accepted unseen).
    DropRemoved(Option<Route>),
    /// `follow=POST /a -> PATCH /b`: the operation the overlay knows as the first is the second.
    Follow(Route, Route),
    /// `drop-pin=<target>`: a pin action whose target is gone is dropped.
    DropPin(String),
    /// `drop-schema-pin=<Name>`: the type loses its pinned name (breaking).
    DropSchemaPin(String),
    /// `rename-schema=<Old> -> <New>`: the bundle's component `Old` is called `New` before the
    /// pins look, to make room for a pinned name.
    RenameSchema(String, String),
}

impl Resolution {
    /// Parses the `--accept` syntax.
    ///
    /// # Errors
    ///
    /// The text is not one of the forms above; the message lists them.
    pub fn parse(text: &str) -> Result<Resolution, String> {
        let text = text.trim();
        let (kind, value) = text.split_once('=').map_or((text, None), |(k, v)| (k.trim(), Some(v.trim())));
        let pair = |v: &str| v.split_once("->").map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()));
        let route = |v: &str| Route::parse(v).ok_or_else(|| format!("`{v}` is not `METHOD /path`"));
        let parsed = match (kind, value) {
            ("drop-removed", None) => Resolution::DropRemoved(None),
            ("drop-removed", Some(v)) => Resolution::DropRemoved(Some(route(v)?)),
            ("follow", Some(v)) => {
                let (a, b) = pair(v).ok_or_else(|| format!("follow needs `METHOD /a -> METHOD /b`, not `{v}`"))?;
                Resolution::Follow(route(&a)?, route(&b)?)
            }
            ("drop-pin", Some(v)) if v.starts_with('$') => Resolution::DropPin(v.to_owned()),
            ("drop-schema-pin", Some(v)) if !v.is_empty() => Resolution::DropSchemaPin(v.to_owned()),
            ("rename-schema", Some(v)) => {
                let (a, b) = pair(v)
                    .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                    .ok_or_else(|| format!("rename-schema needs `Old -> New`, not `{v}`"))?;
                Resolution::RenameSchema(a, b)
            }
            _ => {
                return Err(format!(
                    "`{text}` is not a resolution: use drop-removed[=METHOD /path], follow=METHOD /a -> METHOD /b, drop-pin=<target>, drop-schema-pin=<Name> or rename-schema=<Old> -> <New>"
                ));
            }
        };
        Ok(parsed)
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolution::DropRemoved(None) => f.write_str("drop-removed"),
            Resolution::DropRemoved(Some(route)) => write!(f, "drop-removed={route}"),
            Resolution::Follow(from, to) => write!(f, "follow={from} -> {to}"),
            Resolution::DropPin(target) => write!(f, "drop-pin={target}"),
            Resolution::DropSchemaPin(name) => write!(f, "drop-schema-pin={name}"),
            Resolution::RenameSchema(from, to) => write!(f, "rename-schema={from} -> {to}"),
        }
    }
}

/// One difference between the bundle and what the overlay expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// An operation the overlay names is elsewhere in the bundle, and was followed there.
    Moved {
        /// Where the overlay had it.
        from: Route,
        /// Where the bundle has it.
        to: Route,
        /// The overlay inferred it (upstream did not have it before): its inference now gives
        /// way to what upstream publishes.
        inferred: bool,
        /// A maintainer chose it (`follow=`), rather than it being the one candidate.
        accepted: bool,
    },
    /// An operation the overlay names is not in the bundle at all.
    Removed {
        /// The operation.
        route: Route,
        /// `drop-removed` accepted it.
        accepted: bool,
    },
    /// Several operations of the bundle could be the one the overlay names.
    Ambiguous {
        /// The operation.
        route: Route,
        /// Where it may be.
        candidates: Vec<Route>,
        /// The overlay infers it: it keeps supplying it, and this is only a note.
        inferred: bool,
    },
    /// A pin action's target is gone although its operation is there.
    PinGone {
        /// The action's number.
        number: usize,
        /// Its description.
        description: String,
        /// Its target.
        target: String,
        /// `drop-pin` accepted it.
        accepted: bool,
    },
    /// A schema pin cannot be kept (its location is gone, or its name is taken).
    SchemaPin {
        /// Why.
        error: PinError,
        /// `drop-schema-pin` accepted it.
        accepted: bool,
    },
    /// A component was renamed by `rename-schema`.
    Renamed {
        /// Its name in the bundle.
        from: String,
        /// Its name now.
        to: String,
    },
    /// An accepted resolution that resolved nothing: remove it from [`ACCEPTED_PATH`].
    Stale(Resolution),
}

impl Difference {
    /// Whether it stops `update-spec` until decided.
    pub fn blocks(&self) -> bool {
        match self {
            Difference::Removed { accepted, .. } | Difference::PinGone { accepted, .. } | Difference::SchemaPin { accepted, .. } => {
                !accepted
            }
            Difference::Ambiguous { inferred, .. } => !inferred,
            Difference::Moved { .. } | Difference::Renamed { .. } | Difference::Stale(_) => false,
        }
    }

    /// Whether it takes something away from the public surface (a method or a type name).
    pub fn breaking(&self) -> bool {
        matches!(self, Difference::Removed { .. } | Difference::SchemaPin { .. })
    }

    /// What decides it, as `--accept` takes it, and the overlay edit that would instead.
    pub fn decision(&self) -> (Option<Resolution>, String) {
        match self {
            Difference::Moved { from, .. } => {
                (None, format!("nothing to do; to make it permanent, change `{from}` in openapi/overlay.yaml"))
            }
            Difference::Removed { route, .. } => (
                Some(Resolution::DropRemoved(Some(route.clone()))),
                format!("or, if it moved where it cannot be found, `--accept 'follow={route} -> METHOD /new/path'`"),
            ),
            Difference::Ambiguous { route, candidates, inferred } => (
                candidates.first().filter(|_| !inferred).map(|c| Resolution::Follow(route.clone(), c.clone())),
                format!("pick one of {} with `follow=`", candidates.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
            ),
            Difference::PinGone { target, .. } => {
                (Some(Resolution::DropPin(target.clone())), "or fix the target in openapi/overlay.yaml".to_owned())
            }
            Difference::SchemaPin { error, .. } => (
                Some(Resolution::DropSchemaPin(error.name.clone())),
                if error.problem.contains("already called") {
                    format!("or make room: `--accept 'rename-schema={} -> <OtherName>'`, or fix the pin's `at`", error.name)
                } else {
                    "or fix the pin's `at` in openapi/overlay.yaml".to_owned()
                },
            ),
            Difference::Renamed { .. } => (None, String::new()),
            Difference::Stale(resolution) => (None, format!("remove `{resolution}` from {ACCEPTED_PATH}")),
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Moved { from, to, inferred: false, accepted } => {
                write!(f, "moved: {from} is now {to} in the bundle; the pins followed it{}", if *accepted { " (accepted)" } else { "" })
            }
            Difference::Moved { from, to, inferred: true, .. } => {
                write!(f, "published: the operation the overlay inferred at {from} is published as {to}; the inference gives way to it")
            }
            Difference::Removed { route, accepted: false } => {
                write!(f, "removed: {route} is not in the bundle, at any method or parameter naming")
            }
            Difference::Removed { route, accepted: true } => {
                write!(f, "removed (accepted): {route}; what the overlay said of it was dropped")
            }
            Difference::Ambiguous { route, candidates, inferred } => write!(
                f,
                "{}: {route} is not in the bundle, and {} could be it{}",
                if *inferred { "note" } else { "ambiguous" },
                candidates.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or "),
                if *inferred { " (the overlay keeps supplying it)" } else { "" }
            ),
            Difference::PinGone { number, description, target, accepted } => {
                write!(
                    f,
                    "pin gone{}: action {number} ({description}) targets {target}, which the bundle does not have",
                    if *accepted { " (accepted)" } else { "" }
                )
            }
            Difference::SchemaPin { error, accepted } => {
                write!(f, "schema pin{}: {error}", if *accepted { " dropped (accepted)" } else { "" })
            }
            Difference::Renamed { from, to } => write!(f, "renamed (accepted): the bundle's schema {from} is called {to}"),
            Difference::Stale(resolution) => write!(f, "stale: `{resolution}` in {ACCEPTED_PATH} resolved nothing"),
        }
    }
}

/// Reads [`ACCEPTED_PATH`]'s text: `accepted: [{accept: <resolution>, why: <text>}]`.
///
/// # Errors
///
/// Not YAML, or an entry is not a resolution.
pub fn parse_accepted(text: &str) -> Result<Vec<(Resolution, String)>, String> {
    let doc: Value = yaml_serde::from_str(text).map_err(|e| format!("{ACCEPTED_PATH} is not YAML ({e})"))?;
    let Some(entries) = doc.get("accepted") else { return Ok(Vec::new()) };
    let entries = entries.as_sequence().ok_or_else(|| format!("{ACCEPTED_PATH}: `accepted` is not a list"))?;
    entries
        .iter()
        .map(|entry| {
            let text = entry.get("accept").and_then(Value::as_str).or_else(|| entry.as_str());
            let text = text.ok_or_else(|| format!("{ACCEPTED_PATH}: an entry has no `accept`"))?;
            let why = entry.get("why").and_then(Value::as_str).unwrap_or_default().to_owned();
            Ok((Resolution::parse(text).map_err(|e| format!("{ACCEPTED_PATH}: {e}"))?, why))
        })
        .collect()
}

/// [`ACCEPTED_PATH`]'s text for `resolutions`, each with why it was accepted.
pub fn render_accepted(resolutions: &[(Resolution, String)]) -> String {
    let mut list = Vec::new();
    for (resolution, why) in resolutions {
        let mut entry = Mapping::new();
        entry.insert("accept".into(), resolution.to_string().into());
        entry.insert("why".into(), why.clone().into());
        list.push(Value::Mapping(entry));
    }
    let mut doc = Mapping::new();
    doc.insert("accepted".into(), Value::Sequence(list));
    format!(
        "# Decisions on differences between Hero's bundle and openapi/overlay.yaml, accepted with\n# `cargo xtask update-spec --accept`. `check` and `apply` rebuild the document with them.\n{}",
        yaml_serde::to_string(&Value::Mapping(doc)).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_read_back_as_they_print() {
        for text in [
            "drop-removed",
            "drop-removed=GET /v1/invoicing/coupons",
            "follow=POST /v1/appointments/{id}/book -> PATCH /v1/appointments/{id}/book",
            "drop-pin=$.paths['/v1/admins/{id}'].patch",
            "drop-schema-pin=Appointment",
            "rename-schema=Appointment -> AppointmentSummary",
        ] {
            assert_eq!(Resolution::parse(text).unwrap().to_string(), text);
        }
        for bad in ["drop-everything", "follow=GET /a", "drop-removed=/v1/x", "rename-schema=A ->", "drop-pin=paths"] {
            assert!(Resolution::parse(bad).is_err(), "{bad}");
        }
        let text = render_accepted(&[(Resolution::DropRemoved(Some(Route::parse("GET /v1/x").unwrap())), "gone".into())]);
        assert_eq!(
            parse_accepted(&text).unwrap(),
            [(Resolution::DropRemoved(Some(Route::parse("get /v1/x").unwrap())), "gone".to_owned())]
        );
    }
}
