//! Follows the operations `openapi/overlay.yaml` names to where a new bundle has them.
//!
//! The overlay names operations by method and path (`$.paths['/v1/admins/{id}'].patch…`,
//! `PATCH /v1/admins/{id} -> 200`), and infers some that upstream lacks (`$.paths` updates).
//! When one is not in the bundle, it is looked for among the bundle's operations the overlay
//! does not name: first at the same method under a path that differs only in its parameters'
//! names (`/v1/admins/{admin_id}`), then at the same path under another method that carries a
//! body (`POST`, `PUT`, `PATCH`: a read never becomes a write). One candidate:
//! the overlay is rewritten to it, in memory, and the move reported. None: the operation is
//! removed (an inferred one stays inferred). Several: ambiguous, for a maintainer to decide.

use std::collections::{BTreeMap, BTreeSet};

use yaml_serde::{Mapping, Value};

use crate::decisions::{Difference, Resolution, Route};
use crate::normalise::METHODS;
use crate::overlay::{Kind, Overlay};

/// The overlay, rewritten to the bundle's routes, and what was found.
#[derive(Debug, Clone)]
pub struct Followed {
    /// The overlay to apply.
    pub overlay: Overlay,
    /// Moves, removals and ambiguities.
    pub differences: Vec<Difference>,
    /// The resolutions that decided something.
    pub used: Vec<Resolution>,
}

/// Follows every route the overlay names in `document`.
pub fn follow(document: &Value, overlay: &Overlay, accepted: &[Resolution]) -> Followed {
    let present = routes_of(document);
    let inferred = inferred_routes(overlay);
    let mut named: BTreeSet<Route> = referenced_routes(overlay);
    named.extend(inferred.iter().cloned());
    let missing: Vec<&Route> = named.iter().filter(|r| !present.contains(*r)).collect();
    let free: Vec<&Route> = present.iter().filter(|r| !named.contains(*r)).collect();

    let candidates: BTreeMap<&Route, Vec<Route>> = missing
        .iter()
        .map(|route| {
            let same_method: Vec<Route> =
                free.iter().filter(|c| c.method == route.method && same_template(&c.path, &route.path)).map(|c| (*c).clone()).collect();
            let chosen = if same_method.is_empty() {
                free.iter().filter(|c| c.path == route.path && interchangeable(&c.method, &route.method)).map(|c| (*c).clone()).collect()
            } else {
                same_method
            };
            (*route, chosen)
        })
        .collect();
    let mut claims: BTreeMap<&Route, usize> = BTreeMap::new();
    for found in candidates.values() {
        if let [one] = found.as_slice() {
            *claims.entry(one).or_default() += 1;
        }
    }

    let mut rewritten = overlay.clone();
    let mut differences = Vec::new();
    let mut used = Vec::new();
    for route in missing {
        let is_inferred = inferred.contains(route);
        let chosen = accepted.iter().find_map(|r| match r {
            Resolution::Follow(from, to) if from == route => Some((r.clone(), to.clone())),
            _ => None,
        });
        if let Some((resolution, to)) = chosen.filter(|(_, to)| present.contains(to)) {
            move_route(&mut rewritten, route, &to);
            used.push(resolution);
            differences.push(Difference::Moved { from: route.clone(), to, inferred: is_inferred, accepted: true });
            continue;
        }
        let found = &candidates[route];
        match found.as_slice() {
            [] if is_inferred => {}
            [] => {
                let drop = accepted
                    .iter()
                    .find(|r| matches!(r, Resolution::DropRemoved(None)) || **r == Resolution::DropRemoved(Some(route.clone())));
                if let Some(resolution) = drop {
                    // Kept by name: a blanket `drop-removed` must not accept a later removal unseen.
                    used.push(resolution.clone());
                    used.push(Resolution::DropRemoved(Some(route.clone())));
                }
                // Dropped either way, so the rest of the bundle can still be checked; an
                // undecided removal keeps anything from being written.
                drop_route(&mut rewritten, route);
                differences.push(Difference::Removed { route: route.clone(), accepted: drop.is_some() });
            }
            [one] if claims.get(one) == Some(&1) => {
                move_route(&mut rewritten, route, one);
                differences.push(Difference::Moved { from: route.clone(), to: one.clone(), inferred: is_inferred, accepted: false });
            }
            several => {
                if !is_inferred {
                    drop_route(&mut rewritten, route);
                }
                let mut candidates = several.to_vec();
                if candidates.len() == 1 {
                    // One candidate, wanted by several missing operations.
                    candidates =
                        free.iter().filter(|c| c.path == route.path || same_template(&c.path, &route.path)).map(|c| (*c).clone()).collect();
                }
                differences.push(Difference::Ambiguous { route: route.clone(), candidates, inferred: is_inferred });
            }
        }
    }
    used.retain(|r| *r != Resolution::DropRemoved(None));
    Followed { overlay: rewritten, differences, used }
}

/// Every operation of `document`.
fn routes_of(document: &Value) -> BTreeSet<Route> {
    let mut routes = BTreeSet::new();
    let Some(Value::Mapping(paths)) = document.get("paths") else { return routes };
    for (path, item) in paths {
        for method in METHODS {
            if let (Some(path), Some(_)) = (path.as_str(), item.get(*method)) {
                routes.insert(Route { method: (*method).to_owned(), path: path.to_owned() });
            }
        }
    }
    routes
}

/// `$.paths['P'].m…` → (route, the rest of the target).
fn target_route(target: &str) -> Option<(Route, &str)> {
    let rest = target.strip_prefix("$.paths['")?;
    let (path, rest) = rest.split_once("']")?;
    let rest = rest.strip_prefix('.')?;
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    let method = &rest[..end];
    METHODS.contains(&method).then(|| (Route { method: method.to_owned(), path: path.to_owned() }, &rest[end..]))
}

fn target_of(route: &Route, rest: &str) -> String {
    format!("$.paths['{}'].{}{rest}", route.path, route.method)
}

/// The routes named by action targets and schema pins.
fn referenced_routes(overlay: &Overlay) -> BTreeSet<Route> {
    let targets = overlay.actions.iter().filter_map(|a| target_route(&a.target).map(|(route, _)| route));
    let pins = overlay.schema_pins.iter().filter_map(|p| Route::parse(p.at.split("->").next().unwrap_or_default()));
    targets.chain(pins).collect()
}

/// The routes `$.paths` inferences add.
fn inferred_routes(overlay: &Overlay) -> BTreeSet<Route> {
    let mut routes = BTreeSet::new();
    for action in overlay.actions.iter().filter(|a| a.target == "$.paths" && a.kind == Kind::Inference) {
        let Some(Value::Mapping(paths)) = &action.update else { continue };
        for (path, item) in paths {
            for method in METHODS {
                if let (Some(path), Some(_)) = (path.as_str(), item.get(*method)) {
                    routes.insert(Route { method: (*method).to_owned(), path: path.to_owned() });
                }
            }
        }
    }
    routes
}

/// Whether an operation may have moved from one method to the other: among the writes that
/// carry a body (`POST`, `PUT`, `PATCH`), which servers and bundles swap. A read never becomes
/// a write, nor a `DELETE` anything else.
fn interchangeable(a: &str, b: &str) -> bool {
    const BODY_WRITES: [&str; 3] = ["post", "put", "patch"];
    BODY_WRITES.contains(&a) && BODY_WRITES.contains(&b)
}

/// Whether two paths differ at most in their parameters' names.
fn same_template(a: &str, b: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x == y || (is_param(x) && is_param(y)))
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// `from`'s path parameter names → `to`'s, by position.
fn renamed_params(from: &str, to: &str) -> Vec<(String, String)> {
    from.split('/')
        .zip(to.split('/'))
        .filter(|(a, b)| is_param(a) && is_param(b) && a != b)
        .map(|(a, b)| (a[1..a.len() - 1].to_owned(), b[1..b.len() - 1].to_owned()))
        .collect()
}

/// Rewrites every mention of `from` to `to`, path parameters renamed with it.
fn move_route(overlay: &mut Overlay, from: &Route, to: &Route) {
    let renames = renamed_params(&from.path, &to.path);
    for action in &mut overlay.actions {
        if let Some((route, rest)) = target_route(&action.target)
            && route == *from
        {
            let mut rest = rest.to_owned();
            for (old, new) in &renames {
                rest = rest.replace(&format!("@.name=='{old}'"), &format!("@.name=='{new}'"));
            }
            action.target = target_of(to, &rest);
        }
        if action.target == "$.paths"
            && let Some(Value::Mapping(paths)) = &mut action.update
            && let Some(mut operation) = take_operation(paths, from)
        {
            rename_parameters(&mut operation, &renames);
            let item = paths.entry(to.path.clone().into()).or_insert_with(|| Value::Mapping(Mapping::new()));
            if let Value::Mapping(item) = item {
                item.insert(to.method.clone().into(), operation);
            }
        }
    }
    let from_text = from.to_string();
    for pin in &mut overlay.schema_pins {
        let mut steps: Vec<String> = pin.at.split("->").map(|s| s.trim().to_owned()).collect();
        if steps.first().map(String::as_str) == Some(from_text.as_str()) {
            steps[0] = to.to_string();
            for step in steps.iter_mut().skip(1) {
                for (old, new) in &renames {
                    if *step == format!("param {old}") {
                        *step = format!("param {new}");
                    }
                }
            }
            pin.at = steps.join(" -> ");
        }
    }
}

/// Drops every action and schema pin about `route`.
fn drop_route(overlay: &mut Overlay, route: &Route) {
    overlay.actions.retain(|a| target_route(&a.target).is_none_or(|(r, _)| r != *route));
    for action in overlay.actions.iter_mut().filter(|a| a.target == "$.paths") {
        if let Some(Value::Mapping(paths)) = &mut action.update {
            take_operation(paths, route);
        }
    }
    let text = route.to_string();
    overlay.schema_pins.retain(|p| p.at.split("->").next().map(str::trim) != Some(text.as_str()));
}

/// Removes `route`'s operation from a `$.paths` update (and its path, if left empty).
fn take_operation(paths: &mut Mapping, route: &Route) -> Option<Value> {
    let Some(Value::Mapping(item)) = paths.get_mut(route.path.as_str()) else { return None };
    let operation = item.shift_remove(route.method.as_str())?;
    if item.is_empty() {
        paths.shift_remove(route.path.as_str());
    }
    Some(operation)
}

fn rename_parameters(operation: &mut Value, renames: &[(String, String)]) {
    let Some(Value::Sequence(params)) = operation.get_mut("parameters") else { return };
    for param in params {
        let Value::Mapping(param) = param else { continue };
        let is_path = param.get("in").and_then(Value::as_str) == Some("path");
        if let (true, Some(name)) = (is_path, param.get("name").and_then(Value::as_str).map(str::to_owned))
            && let Some((_, new)) = renames.iter().find(|(old, _)| *old == name)
        {
            param.insert("name".into(), new.clone().into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decisions::Resolution;

    const OVERLAY: &str = "overlay: 1.0.0
info: {title: t, version: '1'}
x-hero-schema-pins:
- {name: Admin, at: 'PATCH /v1/admins/{id} -> param id', description: the id}
- {name: Coupon, at: 'GET /v1/coupons -> 200', description: a coupon}
actions:
- {target: \"$.paths['/v1/admins/{id}'].patch\", description: pin updateAdmin, x-hero-kind: pin, update: {operationId: updateAdmin}}
- {target: \"$.paths['/v1/admins/{id}'].patch.parameters[?@.name=='id'].schema\", description: type, x-hero-kind: pin, update: {$ref: '#/components/schemas/Id'}}
- {target: \"$.paths['/v1/coupons'].get\", description: pin listCoupons, x-hero-kind: pin, update: {operationId: listCoupons}}
- {target: \"$.paths['/v1/slots'].get\", description: pin listSlots, x-hero-kind: pin, update: {operationId: listSlots}}
- target: $.paths
  description: book, a guess
  update:
    /v1/appointments/{id}/book:
      post: {operationId: bookAppointment, parameters: [{name: id, in: path, required: true}]}
    /v1/webhooks/{id}:
      delete: {operationId: deleteWebhook}
- {target: \"$.paths['/v1/appointments/{id}/book'].post\", description: pin bookAppointment, x-hero-kind: pin, update: {operationId: bookAppointment}}
";

    fn bundle(paths: &str) -> Value {
        yaml_serde::from_str(&format!("paths:\n{paths}")).unwrap()
    }

    #[test]
    fn a_renamed_parameter_and_a_new_method_are_followed_and_a_truly_absent_operation_is_removed() {
        let overlay = crate::overlay::parse(OVERLAY).unwrap();
        let doc = bundle(
            "  /v1/admins/{admin_id}: {patch: {}}\n  /v1/slots: {get: {}}\n  /v1/appointments/{appointment_id}/book: {patch: {}}\n  /v1/webhooks/{id}: {get: {}}\n",
        );
        let followed = follow(&doc, &overlay, &[]);
        let moved = |from: &str, to: &str, inferred| Difference::Moved {
            from: Route::parse(from).unwrap(),
            to: Route::parse(to).unwrap(),
            inferred,
            accepted: false,
        };
        assert!(
            followed.differences.contains(&moved("PATCH /v1/admins/{id}", "PATCH /v1/admins/{admin_id}", false)),
            "{:?}",
            followed.differences
        );
        // Book: the path's parameter is renamed *and* the method differs: too far to follow on
        // its own (it stays inferred). Delete-webhook: a free GET at its path is no candidate.
        let targets: Vec<&str> = followed.overlay.actions.iter().map(|a| a.target.as_str()).collect();
        assert!(targets.contains(&"$.paths['/v1/admins/{admin_id}'].patch.parameters[?@.name=='admin_id'].schema"), "{targets:?}");
        assert_eq!(followed.overlay.schema_pins[0].at, "PATCH /v1/admins/{admin_id} -> param admin_id");
        assert!(followed.differences.contains(&Difference::Removed { route: Route::parse("GET /v1/coupons").unwrap(), accepted: false }));
        assert!(!targets.iter().any(|t| t.contains("/v1/coupons")), "a removed operation's actions are dropped: {targets:?}");
        assert_eq!(followed.differences.iter().filter(|d| d.blocks()).count(), 1, "{:?}", followed.differences);

        let accepted = follow(&doc, &overlay, &[Resolution::DropRemoved(None)]);
        assert_eq!(accepted.differences.iter().filter(|d| d.blocks()).count(), 0);
        assert_eq!(accepted.used, [Resolution::DropRemoved(Some(Route::parse("GET /v1/coupons").unwrap()))], "kept by name");
    }

    #[test]
    fn an_inferred_operation_published_at_another_method_gives_way_and_its_pins_follow() {
        let overlay = crate::overlay::parse(OVERLAY).unwrap();
        let doc = bundle(
            "  /v1/admins/{id}: {patch: {}}\n  /v1/slots: {get: {}}\n  /v1/coupons: {get: {}}\n  /v1/appointments/{id}/book: {patch: {}}\n",
        );
        let followed = follow(&doc, &overlay, &[]);
        assert_eq!(
            followed.differences,
            [Difference::Moved {
                from: Route::parse("POST /v1/appointments/{id}/book").unwrap(),
                to: Route::parse("PATCH /v1/appointments/{id}/book").unwrap(),
                inferred: true,
                accepted: false
            }],
            "delete-webhook has no candidate and stays inferred, silently"
        );
        let paths = followed.overlay.actions.iter().find(|a| a.target == "$.paths").and_then(|a| a.update.clone()).unwrap();
        assert!(paths["/v1/appointments/{id}/book"].get("patch").is_some() && paths["/v1/appointments/{id}/book"].get("post").is_none());
        assert!(followed.overlay.actions.iter().any(|a| a.target == "$.paths['/v1/appointments/{id}/book'].patch"));
    }

    #[test]
    fn two_candidates_are_ambiguous_until_a_maintainer_picks_one() {
        let overlay = crate::overlay::parse(OVERLAY).unwrap();
        let doc = bundle("  /v1/admins/{id}: {put: {}, post: {}}\n  /v1/slots: {get: {}}\n  /v1/coupons: {get: {}}\n");
        let followed = follow(&doc, &overlay, &[]);
        let route = Route::parse("PATCH /v1/admins/{id}").unwrap();
        assert!(
            followed.differences.iter().any(
                |d| matches!(d, Difference::Ambiguous { route: r, candidates, inferred: false } if *r == route && candidates.len() == 2)
            ),
            "{:?}",
            followed.differences
        );
        let pick = Resolution::Follow(route.clone(), Route::parse("PUT /v1/admins/{id}").unwrap());
        let decided = follow(&doc, &overlay, std::slice::from_ref(&pick));
        assert!(decided.differences.iter().all(|d| !d.blocks()), "{:?}", decided.differences);
        assert_eq!(decided.used, [pick]);
    }
}
