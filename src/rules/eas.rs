//! Exchange ActiveSync rules: SOGo's `/Microsoft-Server-ActiveSync` must be routed over
//! HTTPS on 443 to SOGo or to the web front end that proxies to it, never served on plain
//! HTTP, and the proxy in front must let SOGo's long-poll requests stay open (3540 s).
//!
//! The catalogue's `http_paths` with `activesync: true` are checked, and its
//! `web_backends` recognise SOGo and the web front end. For each host, the route that
//! wins the path (exact before prefix, longer prefix first, a default backend last) is
//! the one judged, on its TLS side and on its plain-HTTP side separately.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::catalogue::{Catalogue, HttpPath, WebBackend};
use crate::model::{
    Finding, HttpRoute, Https, Inventory, Location, PlainHttp, Protocol, RouteBackend, Rule, Scope,
    Unit, Workload,
};

/// The `web_backends` id that marks SOGo itself: a deployment that runs it must route
/// the required paths.
const SOGO: &str = "sogo";

/// What a route's backend is, for one catalogue path.
enum Served {
    /// A backend the path may be served by (SOGo, the web front end).
    Allowed,
    /// Something else, named.
    Elsewhere(String),
    /// A rule that only redirects.
    Redirect,
}

/// The ports a workload listens on that may tell a web backend: every single port, and
/// of a range only the web backends' own ports inside it (never the whole range).
fn listening(catalogue: &Catalogue, workload: &Workload) -> Vec<u16> {
    let mut ports = Vec::new();
    for l in &workload.listeners {
        if l.last == l.port {
            ports.push(l.port);
        } else {
            let web = catalogue.web_backends.iter().flat_map(|b| b.ports.iter());
            ports.extend(web.copied().filter(|p| l.covers(*p)));
        }
    }
    ports
}

/// The web backend a workload is, among those that may serve the path.
fn recognise<'a>(
    catalogue: &'a Catalogue,
    path: &HttpPath,
    workload: &Workload,
    target: Option<u16>,
) -> Option<&'a WebBackend> {
    let mut listening = listening(catalogue, workload);
    listening.extend(target);
    path.served_by
        .iter()
        .filter_map(|id| catalogue.web_backend(id))
        .find(|b| b.recognises(&listening, &workload.images, &workload.labels))
}

fn served_by(
    inventory: &Inventory,
    catalogue: &Catalogue,
    path: &HttpPath,
    route: &HttpRoute,
) -> Served {
    let Some(backend) = &route.backend else {
        return Served::Redirect;
    };
    let allowed = backend
        .workloads
        .iter()
        .filter_map(|id| inventory.workloads.get(*id))
        .find_map(|w| recognise(catalogue, path, w, backend.target));
    match allowed {
        Some(_) => Served::Allowed,
        None if is_sogo_by_port(catalogue, path, backend) => Served::Allowed,
        None => {
            let pods: Vec<&str> = backend
                .workloads
                .iter()
                .filter_map(|id| inventory.workloads.get(*id))
                .map(|w| w.object.as_str())
                .collect();
            Served::Elsewhere(if pods.is_empty() {
                backend.name.clone()
            } else {
                format!("{} ({})", backend.name, pods.join(", "))
            })
        }
    }
}

/// For each host and side (TLS or plain HTTP), the route that serves the path.
fn winning_routes<'a>(inventory: &'a Inventory, path: &str) -> Vec<&'a HttpRoute> {
    let mut best: BTreeMap<(Option<String>, bool), &HttpRoute> = BTreeMap::new();
    for route in inventory.routes.iter().filter(|r| r.path.matches(path)) {
        let group = (route.host.clone(), route.https.is_some());
        let rank = |r: &HttpRoute| (!r.fallback, r.path.precedence());
        match best.get(&group) {
            Some(current) if rank(current) >= rank(route) => {}
            _ => {
                best.insert(group, route);
            }
        }
    }
    best.into_values().collect()
}

fn activesync_paths(catalogue: &Catalogue) -> impl Iterator<Item = &HttpPath> {
    catalogue.http_paths.iter().filter(|p| p.activesync)
}

/// A finding about a path, on its catalogue port.
fn finding(
    rule: Rule,
    catalogue: &Catalogue,
    path: &HttpPath,
    object: &str,
    location: Option<Location>,
    message: String,
) -> Finding {
    let entry = catalogue.entry(path.port, Protocol::Tcp);
    Finding {
        port: Some(path.port),
        protocol: Some(Protocol::Tcp),
        service: entry.map(|e| e.service.clone()),
        allowed_scope: entry.map(|e| e.scope),
        object: Some(object.to_string()),
        location,
        ..Finding::new(rule, message)
    }
}

fn host_phrase(route: &HttpRoute) -> String {
    route
        .host
        .as_deref()
        .map_or_else(|| "every host".to_string(), |h| format!("host {h}"))
}

/// `eas-unreachable`: SOGo runs, but no HTTPS route on the path's port reaches SOGo or the
/// web front end for it; or a route sends the path somewhere else.
pub fn eas_unreachable(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    let mut findings = Vec::new();
    for path in activesync_paths(catalogue) {
        let winners = winning_routes(inventory, &path.path);
        let misroute = |route: &HttpRoute, elsewhere: &str| {
            let message = format!(
                "{} ({}) on {} goes to {elsewhere} through {} path `{}`; it must reach {}",
                path.name,
                path.path,
                host_phrase(route),
                route.by,
                route.path.value,
                allowed_names(catalogue, path)
            );
            finding(
                Rule::EasUnreachable,
                catalogue,
                path,
                &route.object,
                Some(route.location.clone()),
                message,
            )
        };
        // A route that names the path itself and sends it elsewhere is a mistake whether
        // or not SOGo is in the input.
        for route in &winners {
            if let Served::Elsewhere(elsewhere) = served_by(inventory, catalogue, path, route)
                && route.path.is_within(&path.path)
                && route
                    .backend
                    .as_ref()
                    .is_some_and(|b| !b.workloads.is_empty())
            {
                findings.push(misroute(route, &elsewhere));
            }
        }
        if !path.required {
            continue;
        }
        let routed = units_routed_over_https(inventory, catalogue, path, &winners);
        let published = units_publishing_https(inventory, catalogue, path);
        // A mail stack that offers no 443 at all gets `missing-port 443`, which says so; one
        // with a port that could not be resolved may offer it there.
        let not_offering = super::required::units_not_offering(inventory, catalogue, path.port);
        for (unit, sogo) in sogo_deployments(inventory, catalogue, path) {
            if routed.contains(unit) || published.contains(unit) {
                continue;
            }
            let namespace = match unit {
                Unit::Namespace(ns) => Some(ns.as_str()),
                Unit::ComposeProject(_) => None,
            };
            let wrong: Vec<(&HttpRoute, String)> = winners
                .iter()
                .filter(|r| matches!(r.https, Some((_, port)) if port == path.port))
                .filter(|r| {
                    Some(r.namespace.as_str()) == namespace
                        || r.backend.as_ref().map(|b| b.namespace.as_str()) == namespace
                })
                .filter_map(|r| match served_by(inventory, catalogue, path, r) {
                    Served::Elsewhere(elsewhere) => Some((*r, elsewhere)),
                    _ => None,
                })
                .collect();
            if wrong.is_empty() {
                if !not_offering.contains(unit) && !inventory.unresolved.contains(unit) {
                    findings.push(unrouted(catalogue, path, sogo, unit));
                }
            } else {
                findings.extend(wrong.iter().map(|(r, e)| misroute(r, e)));
            }
        }
    }
    findings
}

fn allowed_names(catalogue: &Catalogue, path: &HttpPath) -> String {
    let names: Vec<&str> = path
        .served_by
        .iter()
        .filter_map(|id| catalogue.web_backend(id))
        .map(|b| b.name.as_str())
        .collect();
    format!("{} over HTTPS on {}", names.join(" or "), path.port)
}

fn unrouted(catalogue: &Catalogue, path: &HttpPath, sogo: &Workload, unit: &Unit) -> Finding {
    let how = match unit {
        Unit::Namespace(_) => format!(
            "route it with an Ingress or HTTPRoute with TLS, or expose the web front end's {}",
            path.port
        ),
        Unit::ComposeProject(_) => format!("publish the web front end's {}", path.port),
    };
    let message = format!(
        "{} runs SOGo, but no HTTPS route on {} reaches it or the web front end for {} ({}): \
         {how}",
        sogo.object, path.port, path.name, path.path
    );
    let location = sogo
        .listeners
        .iter()
        .find(|l| sogo_port(catalogue).iter().any(|p| l.covers(*p)))
        .and_then(|l| l.location.clone())
        .or_else(|| sogo.location.clone());
    finding(
        Rule::EasUnreachable,
        catalogue,
        path,
        &sogo.object,
        location,
        message,
    )
}

/// A backend whose pods are not in the input, with SOGo's own port as its Service port or
/// its target: SOGo runs there (in another repository, or a chart not rendered here), and
/// a route to it is judged.
fn is_sogo_by_port(catalogue: &Catalogue, path: &HttpPath, backend: &RouteBackend) -> bool {
    let sogo = sogo_port(catalogue);
    backend.workloads.is_empty()
        && path.served_by.iter().any(|id| id == SOGO)
        && [backend.target, backend.service_port]
            .into_iter()
            .flatten()
            .any(|port| sogo.contains(&port))
}

fn sogo_port(catalogue: &Catalogue) -> Vec<u16> {
    catalogue
        .web_backend(SOGO)
        .map(|b| b.ports.clone())
        .unwrap_or_default()
}

/// Each deployment unit that runs SOGo, with its first SOGo workload.
fn sogo_deployments<'a>(
    inventory: &'a Inventory,
    catalogue: &Catalogue,
    path: &HttpPath,
) -> Vec<(&'a Unit, &'a Workload)> {
    let mut seen = BTreeSet::new();
    inventory
        .workloads
        .iter()
        .filter(|w| {
            recognise(catalogue, path, w, None).is_some_and(|b| b.id == SOGO)
                && seen.insert(&w.unit)
        })
        .map(|w| (&w.unit, w))
        .collect()
}

/// The deployment units whose SOGo or web front end a winning HTTPS route on the path's
/// port reaches.
fn units_routed_over_https<'a>(
    inventory: &'a Inventory,
    catalogue: &Catalogue,
    path: &HttpPath,
    winners: &[&HttpRoute],
) -> BTreeSet<&'a Unit> {
    let mut judged = HashSet::new();
    winners
        .iter()
        .filter(|route| matches!(route.https, Some((_, port)) if port == path.port))
        .filter(|route| {
            matches!(
                served_by(inventory, catalogue, path, route),
                Served::Allowed
            )
        })
        .filter_map(|route| route.backend.as_ref())
        // Routes sharing one set of backends add its units once.
        .filter(|b| judged.insert(b.workloads.key()))
        .flat_map(|b| b.workloads.iter())
        .filter_map(|id| inventory.workloads.get(*id))
        .map(|w| &w.unit)
        .collect()
}

/// The web front end's own TLS port published outside as 443 (a Compose `443:443`, a
/// LoadBalancer): it terminates TLS and proxies the path to SOGo itself. A pod that is
/// both SOGo and the front end (an all-in-one image listing 20000) counts as the front end.
fn units_publishing_https<'a>(
    inventory: &'a Inventory,
    catalogue: &Catalogue,
    path: &HttpPath,
) -> BTreeSet<&'a Unit> {
    let front_ends: Vec<&WebBackend> = path
        .served_by
        .iter()
        .filter(|id| id.as_str() != SOGO)
        .filter_map(|id| catalogue.web_backend(id))
        .collect();
    let mut fronted = HashMap::new();
    inventory
        .exposures
        .iter()
        .filter(|e| e.publishes(path.port) && e.scope == Scope::External && !e.via.is_http_route())
        .filter(|e| {
            // Thousands of LoadBalancers may share one set of pods: judged once.
            let target = e.target_of(path.port);
            *fronted
                .entry((e.backends.key(), target))
                .or_insert_with(|| {
                    e.backends
                        .iter()
                        .filter_map(|id| inventory.workloads.get(*id))
                        .any(|w| {
                            let mut listening = listening(catalogue, w);
                            listening.extend(target);
                            front_ends
                                .iter()
                                .any(|b| b.recognises(&listening, &w.images, &w.labels))
                        })
                })
        })
        .map(|e| &e.unit)
        .collect()
}

/// Winning routes that serve the path to SOGo, or to a web front end that fronts SOGo:
/// iRedMail's own image, or a front end beside a SOGo of the same deployment. A generic
/// nginx elsewhere in the cluster serves no ActiveSync, and is not judged.
fn serving_routes<'a>(
    inventory: &'a Inventory,
    catalogue: &Catalogue,
    path: &HttpPath,
) -> Vec<&'a HttpRoute> {
    let sogo_units: BTreeSet<&Unit> = sogo_deployments(inventory, catalogue, path)
        .into_iter()
        .map(|(unit, _)| unit)
        .collect();
    let fronts_sogo = |w: &Workload, target: Option<u16>| {
        let Some(backend) = recognise(catalogue, path, w, target) else {
            return false;
        };
        backend.id == SOGO
            || sogo_units.contains(&w.unit)
            || w.images
                .iter()
                .any(|image| catalogue.images.iter().any(|i| image.contains(i.as_str())))
    };
    winning_routes(inventory, &path.path)
        .into_iter()
        .filter(|r| {
            r.backend.as_ref().is_some_and(|b| {
                is_sogo_by_port(catalogue, path, b)
                    || b.workloads
                        .iter()
                        .filter_map(|id| inventory.workloads.get(*id))
                        .any(|w| fronts_sogo(w, b.target))
            })
        })
        .collect()
}

/// `eas-insecure`: the path is served on plain HTTP without a redirect, or over TLS on a
/// host no certificate covers.
pub fn eas_insecure(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    let mut findings = Vec::new();
    // A catch-all route serves both EAS paths: one finding for it.
    let mut seen = BTreeSet::new();
    for path in activesync_paths(catalogue).filter(|p| p.tls_required) {
        for route in serving_routes(inventory, catalogue, path) {
            let mut problems = Vec::new();
            if route.plain == PlainHttp::Served {
                problems.push("is served on plain HTTP without a redirect to HTTPS".to_string());
            }
            if matches!(route.https, Some((Https::Uncovered, _))) {
                problems.push(format!(
                    "is served over TLS on {} with no `tls` entry covering it (the \
                     controller's default certificate)",
                    host_phrase(route)
                ));
            }
            if problems.is_empty() || !seen.insert((route.object.clone(), route.location.clone())) {
                continue;
            }
            let message = format!(
                "{} ({}) {} through {} path `{}`: EAS sends the user's password with every \
                 request",
                path.name,
                path.path,
                problems.join(" and "),
                route.by,
                route.path.value
            );
            findings.push(finding(
                Rule::EasInsecure,
                catalogue,
                path,
                &route.object,
                Some(route.location.clone()),
                message,
            ));
        }
    }
    findings
}

/// `eas-timeout`: the proxy in front of the path gives up before SOGo's long-poll.
pub fn eas_timeout(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen = BTreeSet::new();
    for path in activesync_paths(catalogue) {
        let Some(needed) = path.timeout else {
            continue;
        };
        for route in serving_routes(inventory, catalogue, path) {
            let Some(timeout) = route.timeout.as_ref().filter(|t| t.seconds < needed) else {
                continue;
            };
            let location = timeout
                .location
                .clone()
                .unwrap_or_else(|| route.location.clone());
            if !seen.insert((route.object.clone(), location.clone())) {
                continue;
            }
            let message = format!(
                "{} ({}) through {} path `{}` times out after {} s, set by {}; SOGo holds EAS \
                 long-poll requests for up to {needed} s, so push mail breaks",
                path.name, path.path, route.by, route.path.value, timeout.seconds, timeout.set_by
            );
            findings.push(finding(
                Rule::EasTimeout,
                catalogue,
                path,
                &route.object,
                Some(location),
                message,
            ));
        }
    }
    findings
}
