//! The CEL of the generated policies. Each expression mirrors what `check` does with one
//! object alone (src/inventory/kubernetes.rs and the single-object rules), using only the
//! standard CEL macros and functions plus `lowerAscii()` from the strings extension that
//! Kubernetes enables, so that the tests can run it in cel-rust and cel-python as well.
//!
//! Catalogue facts come from the params ConfigMap: its keys are `<fact>.<port>.<protocol>`
//! (`scope.3306.TCP: internal`), so each lookup is one map access and the cost grows
//! with the object's ports, not with the catalogue.

use crate::model::{INTERNAL_LOAD_BALANCER_ANNOTATIONS, Rule};

/// A policy variable: its name and its expression.
pub struct Variable {
    pub name: &'static str,
    pub expression: String,
}

/// A validation: the expression that must hold and the message when it does not.
pub struct Validation {
    pub rule: Rule,
    pub expression: String,
    pub message: String,
}

/// The ignore annotation's rule entries, as `Ignore::parse_entries` reads them (the reason
/// is required, as `check` requires it).
const IGNORE: &str = "has(object.metadata.annotations) \
    && 'iredmail-ports.io/ignore' in object.metadata.annotations \
    && 'iredmail-ports.io/ignore-reason' in object.metadata.annotations \
    && object.metadata.annotations['iredmail-ports.io/ignore-reason'].matches('\\\\S') \
    ? object.metadata.annotations['iredmail-ports.io/ignore'] : ''";

/// Whether the annotation ignores `rule` for the port given by the CEL expression
/// `port` (a string), or altogether.
fn ignored(rule: Rule, port: Option<&str>) -> String {
    let whole = format!("variables.ignore.matches('(^|,)\\\\s*{rule}\\\\s*(,|$)')");
    match port {
        None => whole,
        Some(port) => format!(
            "({whole} || variables.ignore.matches('(^|,)\\\\s*{rule}\\\\s*:\\\\s*' + {port} + '\\\\s*(,|$)'))"
        ),
    }
}

/// A host address's scope, as `Scope::of_host_address` decides it: loopback, private
/// (RFC 1918, link-local, CGNAT, IPv6 ULA and link-local) is `cluster`, anything else
/// (unset, unspecified, public) `external`.
const HOST_SCOPE: &str = "!has(p.hostIP) ? 'external' \
    : p.hostIP.matches('^(127\\\\.[0-9]{1,3}\\\\.[0-9]{1,3}\\\\.[0-9]{1,3}|::1)$') ? 'loopback' \
    : p.hostIP.matches('^(10\\\\.|192\\\\.168\\\\.|172\\\\.(1[6-9]|2[0-9]|3[01])\\\\.|169\\\\.254\\\\.|100\\\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\\\.|[fF][cCdD][0-9a-fA-F]{2}:|[fF][eE][89abAB][0-9a-fA-F]:)') ? 'cluster' \
    : 'external'";

const PROTOCOL: &str = "(has(p.protocol) ? p.protocol : 'TCP')";

/// The variables both policies share, in evaluation order.
pub fn variables() -> Vec<Variable> {
    let v = |name, expression: &str| Variable {
        name,
        expression: expression.to_string(),
    };
    vec![
        v("catalogue", "has(params.data) ? params.data : {}"),
        v(
            "ranks",
            "{'loopback': 0, 'internal': 1, 'cluster': 2, 'external': 3}",
        ),
        v(
            "reach",
            "{'loopback': 'on loopback only', 'internal': 'from the mail stack', \
             'cluster': 'from every pod of the cluster', 'clusterip': 'from every pod of the cluster', \
             'external': 'from outside the cluster'}",
        ),
        v("ignore", IGNORE),
        v(
            "serviceType",
            "object.kind == 'Service' && has(object.spec) && has(object.spec.type) \
             ? object.spec.type : 'ClusterIP'",
        ),
        v(
            "externalIPs",
            "object.kind == 'Service' && has(object.spec) && has(object.spec.externalIPs) \
             && size(object.spec.externalIPs) > 0",
        ),
        Variable {
            name: "internalLoadBalancer",
            expression: internal_load_balancer(),
        },
        v(
            "serviceScope",
            "variables.serviceType == 'NodePort' ? 'external' \
             : variables.serviceType == 'LoadBalancer' \
               ? (variables.internalLoadBalancer && !variables.externalIPs ? 'cluster' : 'external') \
             : variables.externalIPs ? 'external' : 'clusterip'",
        ),
        v(
            "serviceVia",
            "variables.serviceType == 'NodePort' ? 'a NodePort Service' \
             : variables.serviceType == 'LoadBalancer' \
               ? (variables.serviceScope == 'cluster' ? 'an internal LoadBalancer Service' : 'a LoadBalancer Service') \
             : 'the externalIPs of a Service'",
        ),
        v(
            "servicePorts",
            "object.kind == 'Service' && has(object.spec) && has(object.spec.ports) \
             && variables.serviceType != 'ExternalName' ? object.spec.ports : []",
        ),
        // A named targetPort cannot be resolved from the Service alone: like `check` on
        // the Service alone, the port number stands for it.
        v(
            "serviceExposures",
            &format!(
                "variables.servicePorts.map(p, {{\
                 'key': string(has(p.targetPort) && type(p.targetPort) == int \
                   && p.targetPort > 0 && p.targetPort < 65536 ? p.targetPort : p.port) + '.' + {PROTOCOL}, \
                 'target': string(has(p.targetPort) && type(p.targetPort) == int \
                   && p.targetPort > 0 && p.targetPort < 65536 ? p.targetPort : p.port), \
                 'port': string(p.port), \
                 'scope': variables.serviceScope, \
                 'via': variables.serviceVia}})"
            ),
        ),
        v(
            "podSpec",
            "object.kind == 'Pod' ? (has(object.spec) ? object.spec : {}) \
             : object.kind == 'CronJob' \
               ? (has(object.spec) && has(object.spec.jobTemplate) && has(object.spec.jobTemplate.spec) \
                  && has(object.spec.jobTemplate.spec.template) \
                  && has(object.spec.jobTemplate.spec.template.spec) \
                  ? object.spec.jobTemplate.spec.template.spec : {}) \
             : object.kind != 'Service' && has(object.spec) && has(object.spec.template) \
               && has(object.spec.template.spec) ? object.spec.template.spec : {}",
        ),
        v(
            "containers",
            "(has(variables.podSpec.containers) ? variables.podSpec.containers : []) \
             + (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : [])",
        ),
        v(
            "hostNetwork",
            "has(variables.podSpec.hostNetwork) && variables.podSpec.hostNetwork == true",
        ),
        v(
            "containerPorts",
            "variables.containers.map(c, has(c.ports) ? c.ports : [])",
        ),
        v(
            "listeners",
            &format!(
                "variables.containerPorts.map(ports, ports.map(p, {{\
                 'key': string(p.containerPort) + '.' + {PROTOCOL}, \
                 'target': string(p.containerPort)}}))"
            ),
        ),
        v(
            "podExposures",
            &format!(
                "variables.containerPorts.map(ports, \
                 ports.filter(p, has(p.hostPort) && p.hostPort > 0).map(p, {{\
                   'key': string(p.containerPort) + '.' + {PROTOCOL}, \
                   'target': string(p.containerPort), \
                   'port': string(p.hostPort), \
                   'scope': {HOST_SCOPE}, \
                   'via': 'a hostPort'}}) \
                 + (variables.hostNetwork ? ports.map(p, {{\
                   'key': string(p.containerPort) + '.' + {PROTOCOL}, \
                   'target': string(p.containerPort), \
                   'port': string(p.containerPort), \
                   'scope': 'external', \
                   'via': 'hostNetwork'}}) : []))"
            ),
        ),
        v(
            "exposures",
            "[variables.serviceExposures] + variables.podExposures",
        ),
        Variable {
            name: "tooWide",
            expression: first_of_each(
                "variables.exposures",
                &format!(
                    "e.scope != 'clusterip' && ('scope.' + e.key) in variables.catalogue \
                     && variables.ranks[e.scope] > variables.ranks[variables.catalogue['scope.' + e.key]] \
                     && !{}",
                    ignored(Rule::InternalPortExposed, Some("e.target"))
                ),
            ),
        },
        Variable {
            name: "deprecated",
            expression: first_of_each(
                "variables.exposures",
                &format!(
                    "e.scope != 'loopback' && ('deprecated.' + e.key) in variables.catalogue && !{}",
                    ignored(Rule::DeprecatedPort, Some("e.target"))
                ),
            ),
        },
        Variable {
            name: "removed",
            expression: first_of_each(
                "(variables.listeners + variables.exposures)",
                &format!(
                    "('removed.' + e.key) in variables.catalogue && !{}",
                    ignored(Rule::RemovedService, Some("e.target"))
                ),
            ),
        },
    ]
}

/// Of a list of lists of exposures, the first of each list that `condition` (on `e`)
/// holds for: CEL has no flatMap, and one offender per container is enough to tell.
fn first_of_each(lists: &str, condition: &str) -> String {
    format!("{lists}.map(es, es.filter(e, {condition})).filter(es, size(es) > 0).map(es, es[0])")
}

fn internal_load_balancer() -> String {
    let annotations = "object.metadata.annotations";
    let any: Vec<String> = INTERNAL_LOAD_BALANCER_ANNOTATIONS
        .iter()
        .map(|(name, values)| {
            let values: Vec<String> = values
                .iter()
                .map(|v| format!("'{}'", v.to_ascii_lowercase()))
                .collect();
            format!(
                "('{name}' in {annotations} && {annotations}['{name}'].lowerAscii() in [{}])",
                values.join(", ")
            )
        })
        .collect();
    format!("has(object.metadata.annotations) && ({})", any.join(" || "))
}

/// The validations of the exposure policy, which `--action` enforces.
pub fn exposure_validations() -> Vec<Validation> {
    let first = "variables.tooWide[0]";
    vec![
        // `check` refuses to read an object whose suppression gives no reason.
        Validation {
            rule: Rule::InvalidInput,
            expression: "!has(object.metadata.annotations) \
                || !('iredmail-ports.io/ignore' in object.metadata.annotations) \
                || ('iredmail-ports.io/ignore-reason' in object.metadata.annotations \
                    && object.metadata.annotations['iredmail-ports.io/ignore-reason'].matches('\\\\S'))"
                .into(),
            message: format!(
                "'{rule}: the iredmail-ports.io/ignore annotation needs a reason in the \
                 iredmail-ports.io/ignore-reason annotation. Fix: say why the finding is accepted'",
                rule = Rule::InvalidInput,
            ),
        },
        Validation {
        rule: Rule::InternalPortExposed,
        expression: "size(variables.tooWide) == 0".into(),
        message: format!(
            "'{rule}: ' + variables.catalogue['name.' + {first}.key] + ' ' + {first}.target \
             + ' is reachable ' + variables.reach[{first}.scope] + ' through ' + {first}.via \
             + ({first}.port != {first}.target ? ' on port ' + {first}.port : '') \
             + '; ' + variables.catalogue['keep.' + {first}.key] \
             + '. Fix: reach it through a ClusterIP Service only, with a NetworkPolicy that admits the mail stack alone'",
            rule = Rule::InternalPortExposed,
        ),
    },
    ]
}

/// The validations of the life-cycle policy, always a warning (or an audit annotation).
pub fn lifecycle_validations() -> Vec<Validation> {
    let deprecated = "variables.deprecated[0]";
    let removed = "variables.removed[0]";
    vec![
        Validation {
            rule: Rule::DeprecatedPort,
            expression: "size(variables.deprecated) == 0".into(),
            message: format!(
                "'{rule}: ' + variables.catalogue['name.' + {deprecated}.key] + ' ' \
                 + {deprecated}.target + ' is reachable ' + variables.reach[{deprecated}.scope] \
                 + ' but ' + variables.catalogue['deprecated.' + {deprecated}.key]",
                rule = Rule::DeprecatedPort,
            ),
        },
        Validation {
            rule: Rule::RemovedService,
            expression: "size(variables.removed) == 0".into(),
            message: format!(
                "'{rule}: ' + variables.catalogue['name.' + {removed}.key] + ' ' \
                 + {removed}.target + ' ' + variables.catalogue['removed.' + {removed}.key]",
                rule = Rule::RemovedService,
            ),
        },
        Validation {
            rule: Rule::HostNetwork,
            expression: format!(
                "!variables.hostNetwork || {}",
                ignored(Rule::HostNetwork, None)
            ),
            message: format!(
                "'{rule}: ' + object.kind + ' ' + (has(object.metadata.name) ? object.metadata.name : '') \
                 + ' runs on the host network: every port it opens reaches the node addresses directly. \
                 Fix: drop hostNetwork and publish the mail ports through a Service'",
                rule = Rule::HostNetwork,
            ),
        },
    ]
}
