//! AdmissionReview → findings → AdmissionResponse.
//!
//! The object under review becomes an in-memory input ([`Input::Text`]) for the same
//! engine as files. Alone, it runs the rules that judge an object by itself. With a view
//! of its namespace (`--watch`), the namespace runs twice, as it is and with the change
//! applied on top (CREATE adds, UPDATE replaces, DELETE removes), and the review reports
//! the findings about the object itself plus those the change brings to the others: a
//! namespace's old problems do not block an unrelated change.

use std::collections::HashSet;
use std::sync::Arc;

use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube::core::{DynamicObject, Status, TypeMeta};
use serde::Deserialize;
use serde_json::Value;

use crate::load::kinds;
use crate::load::kubernetes::{DEFAULT_NAMESPACE, strip_bookkeeping};
use crate::model::Protocol;
use crate::model::{Finding, Needs, Rule, Severity};
use crate::webhook::Mode;
use crate::webhook::limits::{self, TooManyValues};
use crate::{Engine, Rules};

/// The AdmissionReview version the webhook speaks (the only one the API server still sends
/// when `admissionReviewVersions: [v1]`).
pub const REVIEW_API_VERSION: &str = "admission.k8s.io/v1";
pub const REVIEW_KIND: &str = "AdmissionReview";

/// A body that is not an AdmissionReview the webhook can answer: the server answers 400.
#[derive(Debug, thiserror::Error)]
pub enum BadReview {
    #[error("the body is not a valid AdmissionReview: {0}")]
    Json(String),
    #[error("expected apiVersion `{REVIEW_API_VERSION}`, got `{0}`")]
    ApiVersion(String),
    #[error("expected kind `{REVIEW_KIND}`, got `{0}`")]
    Kind(String),
    #[error("the AdmissionReview has no `request`")]
    NoRequest,
    #[error("a {operation} request for {kind} must carry `{field}`")]
    NoObject {
        operation: &'static str,
        kind: String,
        field: &'static str,
    },
}

/// Why a body gets no AdmissionResponse: the server answers it with [`Unanswerable::status`]
/// and the reason, and the API server applies the webhook's `failurePolicy`.
#[derive(Debug, thiserror::Error)]
pub enum Unanswerable {
    #[error(transparent)]
    TooManyValues(#[from] TooManyValues),
    #[error(transparent)]
    Bad(#[from] BadReview),
}

impl Unanswerable {
    /// 413 for a review too big to build, 400 for one that is not a review.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Unanswerable::TooManyValues(_) => http::StatusCode::PAYLOAD_TOO_LARGE,
            Unanswerable::Bad(_) => http::StatusCode::BAD_REQUEST,
        }
    }
}

/// A request body as the server reads it: its JSON values counted before any is built
/// ([`limits::check_values`]), then parsed as an AdmissionReview. The server and the fuzz
/// test (`tests/fuzz.rs`) both go through here, so what is fuzzed is what is served.
pub fn read(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, Unanswerable> {
    limits::check_values(body)?;
    Ok(parse(body)?)
}

/// The two fields checked before the rest, so that a wrong one is named as such.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
}

/// Reads an AdmissionReview `admission.k8s.io/v1` and returns its request.
pub fn parse(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, BadReview> {
    let head: Head = serde_json::from_slice(body).map_err(|e| BadReview::Json(e.to_string()))?;
    let api_version = head.api_version.unwrap_or_default();
    if api_version != REVIEW_API_VERSION {
        return Err(BadReview::ApiVersion(api_version));
    }
    let kind = head.kind.unwrap_or_default();
    if kind != REVIEW_KIND {
        return Err(BadReview::Kind(kind));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let review: AdmissionReview<DynamicObject> =
        serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| BadReview::Json(format!("at `{}`: {}", e.path(), e.inner())))?;
    // The conversion copies the review's apiVersion and kind into the request, which the
    // response echoes.
    review.try_into().map_err(|_| BadReview::NoRequest)
}

/// An object as the cluster holds it, for the namespace view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedObject {
    pub key: ObjectKey,
    /// The object as the API server sent it, without its bookkeeping fields.
    pub value: Value,
}

/// Which object: kind, namespace (empty for a Namespace) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    /// `Kind/namespace/name`, as reports name objects.
    pub fn id(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The rest of the cluster as a review needs it.
pub trait NamespaceView: Send + Sync {
    /// The objects of `namespace` and every Namespace object (their labels decide
    /// NetworkPolicies' namespace selectors).
    fn objects(&self, namespace: &str) -> Vec<CachedObject>;
}

/// How a review ended, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing found.
    Allowed,
    /// Allowed, with the findings as warnings.
    Warned,
    Denied,
    /// Allowed silently; findings only logged and counted.
    Audited,
    /// Not a kind or operation the webhook judges (or cannot judge without `--watch`).
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Warned => "warned",
            Outcome::Denied => "denied",
            Outcome::Audited => "audited",
            Outcome::Skipped => "skipped",
        }
    }
}

/// The answer to one request, with what the server logs and counts.
#[derive(Debug)]
pub struct Verdict {
    pub response: AdmissionResponse,
    pub outcome: Outcome,
    /// `Kind/namespace/name` of the object under review.
    pub object: String,
    /// The findings reported, suppressed ones left out.
    pub findings: Vec<Finding>,
}

/// Judges AdmissionRequests with one engine and mode.
pub struct Reviewer {
    /// Shared with the audit (`--audit-interval`): one engine for both.
    pub engine: Arc<Engine>,
    pub mode: Mode,
    /// In `enforce` mode, the severity from which a finding denies.
    pub deny_at: Option<Severity>,
}

/// The object under review, ready for the engine.
struct Subject {
    key: ObjectKey,
    operation: Operation,
    /// The object after the change (`None` for a DELETE).
    after: Option<Value>,
    /// The object before the change (UPDATE and DELETE).
    before: Option<Value>,
}

impl Reviewer {
    pub fn review(
        &self,
        request: &AdmissionRequest<DynamicObject>,
        view: Option<&dyn NamespaceView>,
    ) -> Result<Verdict, BadReview> {
        let Some(subject) = subject(request)? else {
            return Ok(skipped(request, Vec::new()));
        };
        let object = subject.key.id();
        let (reported, notes) = match view {
            Some(view) => (self.findings_in_namespace(&subject, view), Vec::new()),
            None if subject.operation == Operation::Delete => {
                let note = format!(
                    "iredmail-ports runs without --watch: the DELETE of {object} was not judged, \
                     it needs the rest of the namespace"
                );
                return Ok(skipped(request, vec![note]));
            }
            None => {
                let (findings, skipped) = self.findings_alone(&subject);
                let notes = skipped_note(&object, &skipped).into_iter().collect();
                (findings, notes)
            }
        };
        let findings: Vec<Finding> = reported
            .into_iter()
            .filter(|f| f.suppressed.is_none())
            .collect();
        Ok(self.decide(request, &subject, object, findings, notes))
    }

    /// The object alone, with the rules that need nothing else; and those that need
    /// more and could have judged it.
    fn findings_alone(&self, subject: &Subject) -> (Vec<Finding>, Vec<Rule>) {
        let objects: Vec<Value> = subject.after.iter().cloned().collect();
        let (report, skipped) = self.engine.check_object_alone(&objects);
        (report.findings, skipped)
    }

    /// The namespace with the change applied, minus what it already had.
    fn findings_in_namespace(&self, subject: &Subject, view: &dyn NamespaceView) -> Vec<Finding> {
        let others: Vec<Value> = view
            .objects(&subject.key.namespace)
            .into_iter()
            .filter(|o| o.key != subject.key)
            .map(|o| o.value)
            .collect();
        let with = |own: &Option<Value>| {
            let mut objects = others.clone();
            objects.extend(own.iter().cloned());
            self.engine
                .check_live(&objects, Vec::new(), Rules::All)
                .findings
        };
        let before: HashSet<FindingKey> = with(&subject.before).iter().map(key_of).collect();
        let object = subject.key.id();
        with(&subject.after)
            .into_iter()
            .filter(|f| {
                let own = f.object.as_deref() == Some(object.as_str());
                own || !before.contains(&key_of(f))
            })
            .collect()
    }

    fn decide(
        &self,
        request: &AdmissionRequest<DynamicObject>,
        subject: &Subject,
        object: String,
        findings: Vec<Finding>,
        notes: Vec<String>,
    ) -> Verdict {
        let mut response = AdmissionResponse::from(request);
        let (blocking, below): (Vec<&Finding>, Vec<&Finding>) = findings
            .iter()
            .partition(|f| self.blocks(f, &subject.operation));
        let outcome = if !blocking.is_empty() {
            Outcome::Denied
        } else if findings.is_empty() {
            Outcome::Allowed
        } else if self.mode == Mode::Audit {
            Outcome::Audited
        } else {
            Outcome::Warned
        };
        let mut warnings = Vec::new();
        match outcome {
            // The denial lists what denies; what is below the threshold stays a warning.
            Outcome::Denied => {
                let message = denial(&object, &blocking, self.deny_at);
                response.allowed = false;
                response.result = Status::failure(&message, "Forbidden").with_code(403);
                warnings.extend(below.into_iter().map(finding_line));
            }
            Outcome::Warned => warnings.extend(findings.iter().map(finding_line)),
            Outcome::Allowed | Outcome::Audited | Outcome::Skipped => {}
        }
        if self.mode != Mode::Audit {
            warnings.extend(notes);
        }
        let warnings = bounded_warnings(warnings);
        response.warnings = (!warnings.is_empty()).then_some(warnings);
        Verdict {
            response,
            outcome,
            object,
            findings,
        }
    }

    /// Whether a finding denies the request: only in `enforce` mode, at or above the
    /// threshold, and not for what a namespace lacks while it is being created.
    fn blocks(&self, finding: &Finding, operation: &Operation) -> bool {
        let absence_on_create =
            *operation == Operation::Create && finding.rule.info().needs == Needs::Absence;
        self.mode == Mode::Enforce
            && self.deny_at.is_some_and(|t| finding.severity >= t)
            && !absence_on_create
    }
}

/// The rules a webhook without `--watch` never runs: they need the rest of the namespace.
pub fn rules_needing_the_namespace() -> Vec<Rule> {
    Rule::ALL
        .into_iter()
        .filter(|rule| rule.info().needs != Needs::Object)
        .collect()
}

/// What the server logs once at start without `--watch`.
pub fn no_context_note() -> String {
    let skipped: Vec<&str> = rules_needing_the_namespace()
        .iter()
        .map(|rule| rule.id())
        .collect();
    format!(
        "iredmail-ports runs without --watch: {} are not checked, they need the rest of the \
         namespace",
        skipped.join(", ")
    )
}

/// The warning of a review without `--watch` when a rule it could not run had something
/// of this object to judge; none when no such rule had.
fn skipped_note(object: &str, skipped: &[Rule]) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    let ids: Vec<&str> = skipped.iter().map(|rule| rule.id()).collect();
    let (verb, pronoun) = if ids.len() == 1 {
        ("was", "it needs")
    } else {
        ("were", "they need")
    };
    Some(format!(
        "iredmail-ports runs without --watch: {} {verb} not checked on {object}, {pronoun} \
         the rest of the namespace",
        ids.join(", ")
    ))
}

/// One finding as a warning line or a line of the denial.
pub fn finding_line(finding: &Finding) -> String {
    match &finding.object {
        Some(object) => format!(
            "{} ({}) on {object}: {}",
            finding.rule, finding.severity, finding.message
        ),
        None => format!(
            "{} ({}): {}",
            finding.rule, finding.severity, finding.message
        ),
    }
}

/// The longest denial message: kubectl prints it whole on one error line, and the API
/// server keeps it in its audit log.
pub const MAX_DENIAL_BYTES: usize = 4096;
/// The longest line of a denial or warning.
pub const MAX_LINE_BYTES: usize = 512;
/// The most warnings a response carries; the API server itself keeps 4 KiB of them.
pub const MAX_WARNINGS: usize = 20;

/// The denial: how many findings deny, and those that fit in [`MAX_DENIAL_BYTES`]; the
/// rest are counted (the log lists them all).
fn denial(object: &str, blocking: &[&Finding], deny_at: Option<Severity>) -> String {
    let threshold = deny_at.map_or("error", Severity::as_str);
    let count = blocking.len();
    let plural = if count == 1 { "" } else { "s" };
    let mut message = format!(
        "{} has {count} iredmail-ports finding{plural} at severity {threshold} or above:",
        truncated(object, MAX_LINE_BYTES)
    );
    // Room for the closing line, whatever the count.
    let budget = MAX_DENIAL_BYTES - 100;
    for (shown, finding) in blocking.iter().enumerate() {
        let line = truncated(&finding_line(finding), MAX_LINE_BYTES);
        if message.len() + 3 + line.len() > budget {
            let left = count - shown;
            message.push_str(&format!(
                "\n- ... and {left} more (the webhook's log lists every finding)"
            ));
            break;
        }
        message.push_str("\n- ");
        message.push_str(&line);
    }
    message
}

/// At most [`MAX_WARNINGS`] warnings of at most [`MAX_LINE_BYTES`] each, the last one
/// counting those left out.
fn bounded_warnings(warnings: Vec<String>) -> Vec<String> {
    let total = warnings.len();
    let mut kept: Vec<String> = warnings
        .into_iter()
        .take(MAX_WARNINGS)
        .map(|w| truncated(&w, MAX_LINE_BYTES))
        .collect();
    if total > MAX_WARNINGS {
        kept.truncate(MAX_WARNINGS - 1);
        let left = total - kept.len();
        kept.push(format!(
            "... and {left} more warnings (the webhook's log lists every finding)"
        ));
    }
    kept
}

/// `text` cut to at most `max` bytes on a character boundary, marked with `...`.
fn truncated(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

fn skipped(request: &AdmissionRequest<DynamicObject>, notes: Vec<String>) -> Verdict {
    let mut response = AdmissionResponse::from(request);
    // A note names the object, whose name the client chose: bounded like any warning.
    let notes = bounded_warnings(notes);
    response.warnings = (!notes.is_empty()).then_some(notes);
    let namespace = request.namespace.clone().unwrap_or_default();
    let object = ObjectKey {
        kind: request.kind.kind.clone(),
        namespace,
        name: request.name.clone(),
    }
    .id();
    Verdict {
        response,
        outcome: Outcome::Skipped,
        object,
        findings: Vec::new(),
    }
}

/// What identifies a finding across the two runs of a namespace; the location is left
/// out, as the object under review is not at the same place in both.
type FindingKey = (Rule, Option<String>, Option<u16>, Option<Protocol>, String);

fn key_of(finding: &Finding) -> FindingKey {
    (
        finding.rule,
        finding.object.clone(),
        finding.port,
        finding.protocol,
        finding.message.clone(),
    )
}

/// The object under review, or `None` when the webhook does not judge this request.
fn subject(request: &AdmissionRequest<DynamicObject>) -> Result<Option<Subject>, BadReview> {
    let kind = &request.kind;
    let Some(judged) = kinds::judged(&kind.group, &kind.kind)
        .filter(|k| k.judged_at_admission() && k.judges_name(&request.name))
    else {
        return Ok(None);
    };
    let missing = |operation: &'static str, field: &'static str| BadReview::NoObject {
        operation,
        kind: kind.kind.clone(),
        field,
    };
    let (object, old) = match request.operation {
        Operation::Create => (
            Some(request.object.as_ref().ok_or(missing("CREATE", "object"))?),
            None,
        ),
        Operation::Update => (
            Some(request.object.as_ref().ok_or(missing("UPDATE", "object"))?),
            request.old_object.as_ref(),
        ),
        // Only a NetworkPolicy's removal can widen what reaches a port; removing a
        // Service or a workload must stay possible (an uninstall deletes them all).
        Operation::Delete if judged.judged_on_delete() => (
            None,
            Some(
                request
                    .old_object
                    .as_ref()
                    .ok_or(missing("DELETE", "oldObject"))?,
            ),
        ),
        Operation::Delete | Operation::Connect => return Ok(None),
    };
    let key = key_for(request, object.or(old));
    let input = |o: &DynamicObject| object_json(o, request, &key);
    Ok(Some(Subject {
        operation: request.operation.clone(),
        after: object.map(input),
        before: old.map(input),
        key,
    }))
}

fn key_for(request: &AdmissionRequest<DynamicObject>, object: Option<&DynamicObject>) -> ObjectKey {
    let metadata = object.map(|o| &o.metadata);
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let namespace = metadata
        .and_then(|m| non_empty(&m.namespace))
        .or_else(|| non_empty(&request.namespace))
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
    // A Pod a ReplicaSet creates has only `generateName` when it is admitted.
    let name = metadata
        .and_then(|m| non_empty(&m.name))
        .or_else(|| Some(request.name.clone()).filter(|n| !n.is_empty()))
        .or_else(|| metadata.and_then(|m| non_empty(&m.generate_name)))
        .unwrap_or_default();
    ObjectKey {
        kind: request.kind.kind.clone(),
        namespace,
        name,
    }
}

/// The object as the engine reads it: with its kind, namespace and name filled in as the
/// API server will store it, and without the bookkeeping fields, which say nothing about
/// ports.
fn object_json(
    object: &DynamicObject,
    request: &AdmissionRequest<DynamicObject>,
    key: &ObjectKey,
) -> Value {
    let mut object = object.clone();
    if object.types.is_none() {
        let gvk = &request.kind;
        let api_version = if gvk.group.is_empty() {
            gvk.version.clone()
        } else {
            format!("{}/{}", gvk.group, gvk.version)
        };
        object.types = Some(TypeMeta {
            api_version,
            kind: gvk.kind.clone(),
        });
    }
    object.metadata.namespace = Some(key.namespace.clone());
    object.metadata.name = Some(key.name.clone());
    strip_bookkeeping(&mut object.metadata);
    // A DynamicObject is a JSON value with string keys: converting it cannot fail, and a
    // null would only make the engine report the object as unreadable.
    serde_json::to_value(&object).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A namespace view from a fixed list, as the `--watch` cache would hold it.
    struct Fixed(Vec<CachedObject>);

    impl NamespaceView for Fixed {
        fn objects(&self, namespace: &str) -> Vec<CachedObject> {
            self.0
                .iter()
                .filter(|o| o.key.namespace == namespace || o.key.namespace.is_empty())
                .cloned()
                .collect()
        }
    }

    fn cached(object: &Value) -> CachedObject {
        let text = |field: &str| object["metadata"][field].as_str().unwrap_or_default();
        CachedObject {
            key: ObjectKey {
                kind: object["kind"].as_str().unwrap_or_default().to_string(),
                namespace: text("namespace").to_string(),
                name: text("name").to_string(),
            },
            value: object.clone(),
        }
    }

    fn reviewer() -> Reviewer {
        let catalogue = crate::Catalogue::embedded_default().expect("embedded catalogue");
        Reviewer {
            engine: Arc::new(Engine::new(&catalogue, crate::Config::default())),
            mode: Mode::Enforce,
            deny_at: Some(Severity::Error),
        }
    }

    fn mail_service(kind: &str) -> Value {
        let ports: Vec<Value> = [25, 587, 143, 443]
            .iter()
            .map(|p| json!({"port": p, "targetPort": p}))
            .collect();
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "iredmail", "namespace": "mail"},
               "spec": {"type": kind, "selector": {"app": "iredmail"}, "ports": ports}})
    }

    fn request(operation: &str, object: &Value, old: &Value) -> AdmissionRequest<DynamicObject> {
        let review = json!({"apiVersion": REVIEW_API_VERSION, "kind": REVIEW_KIND,
            "request": {"uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Service"},
                        "resource": {"group": "", "version": "v1", "resource": "services"},
                        "name": "iredmail", "namespace": "mail", "operation": operation,
                        "userInfo": {}, "object": object, "oldObject": old, "dryRun": false}});
        parse(review.to_string().as_bytes()).expect("a valid review")
    }

    fn rules_of(verdict: &Verdict) -> Vec<(Rule, Option<u16>)> {
        verdict.findings.iter().map(|f| (f.rule, f.port)).collect()
    }

    #[test]
    fn what_a_namespace_lacks_while_it_is_created_warns_but_does_not_deny() {
        let alone = mail_service("ClusterIP");
        let verdict = reviewer()
            .review(
                &request("CREATE", &alone, &Value::Null),
                Some(&Fixed(vec![])),
            )
            .expect("review");
        assert_eq!(verdict.outcome, Outcome::Warned);
        assert_eq!(
            rules_of(&verdict),
            [
                (Rule::MissingPort, Some(25)),
                (Rule::MissingPort, Some(587)),
                (Rule::MissingPort, Some(143)),
                (Rule::MissingPort, Some(443)),
            ]
        );
        assert!(verdict.response.allowed);
    }

    #[test]
    fn an_update_that_takes_a_required_port_away_is_denied() {
        let before = mail_service("LoadBalancer");
        let after = mail_service("ClusterIP");
        let view = Fixed(vec![cached(&before)]);
        let verdict = reviewer()
            .review(&request("UPDATE", &after, &before), Some(&view))
            .expect("review");
        assert_eq!(verdict.outcome, Outcome::Denied);
        assert_eq!(rules_of(&verdict).len(), 4);
        assert!(!verdict.response.allowed);
        assert_eq!(verdict.response.result.code, 403);
    }

    #[test]
    fn an_update_that_changes_nothing_port_related_passes_even_in_a_broken_namespace() {
        // The namespace already lacks 587, 143 and 443; relabelling the Service changes
        // none of it.
        let mut before = mail_service("LoadBalancer");
        before["spec"]["ports"] = json!([{"port": 25, "targetPort": 25}]);
        let mut after = before.clone();
        after["metadata"]["labels"] = json!({"team": "mail"});
        let view = Fixed(vec![cached(&before)]);
        let verdict = reviewer()
            .review(&request("UPDATE", &after, &before), Some(&view))
            .expect("review");
        assert_eq!(verdict.outcome, Outcome::Allowed, "{:?}", verdict.findings);
    }

    #[test]
    fn without_a_view_only_the_rules_that_judge_an_object_alone_run() {
        assert_eq!(
            no_context_note(),
            "iredmail-ports runs without --watch: missing-port, eas-unreachable, eas-insecure, \
             eas-timeout, network-policy-missing, network-policy-too-open are not checked, \
             they need the rest of the namespace"
        );
        // The Service publishes required ports and 443: the rules that would judge them
        // are named.
        let alone = mail_service("ClusterIP");
        let verdict = reviewer()
            .review(&request("CREATE", &alone, &Value::Null), None)
            .expect("review");
        assert_eq!(verdict.outcome, Outcome::Allowed);
        assert_eq!(
            verdict.response.warnings,
            Some(vec![
                "iredmail-ports runs without --watch: missing-port, eas-unreachable, \
                 eas-insecure, eas-timeout were not checked on Service/mail/iredmail, they need \
                 the rest of the namespace"
                    .to_string()
            ])
        );
        // A clean Service on a port no skipped rule judges (POP3) gets no warning at all.
        let mut metrics = mail_service("ClusterIP");
        metrics["spec"]["type"] = json!("LoadBalancer");
        metrics["spec"]["ports"] = json!([{"port": 110, "targetPort": 110}]);
        let verdict = reviewer()
            .review(&request("CREATE", &metrics, &Value::Null), None)
            .expect("review");
        assert_eq!(verdict.outcome, Outcome::Allowed);
        assert_eq!(verdict.response.warnings, None);
    }

    /// Thousands of findings, each naming a long object: the denial stays readable and
    /// says how many it leaves out; the warnings too.
    #[test]
    fn a_huge_denial_is_cut_to_what_kubectl_shows_well() {
        let mut service = mail_service("LoadBalancer");
        let ports: Vec<Value> = (0..3000)
            .map(|i| json!({"name": format!("p{i}"), "port": 3306, "targetPort": 3306}))
            .chain((0..3000).map(|i| json!({"port": 20000 + i, "targetPort": 20000 + i})))
            .collect();
        service["spec"]["ports"] = json!(ports);
        service["metadata"]["name"] = json!("x".repeat(5000));
        let verdict = reviewer()
            .review(&request("CREATE", &service, &Value::Null), None)
            .expect("review");
        assert_eq!(verdict.outcome, Outcome::Denied);
        let message = verdict.response.result.message.clone();
        assert!(message.len() <= MAX_DENIAL_BYTES, "{}", message.len());
        let blocking = verdict
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Error)
            .count();
        assert!(blocking > 10, "{blocking}");
        assert!(
            message.contains(&format!("has {blocking} iredmail-ports findings")),
            "{message}"
        );
        let shown = message.matches("\n- ").count() - 1;
        assert!(
            message.ends_with(&format!(
                "\n- ... and {} more (the webhook's log lists every finding)",
                blocking - shown
            )),
            "{message}"
        );
        assert!(
            message
                .lines()
                .all(|line| line.len() <= MAX_LINE_BYTES + 80)
        );
        let warnings = verdict.response.warnings.clone().unwrap_or_default();
        assert_eq!(warnings.len(), MAX_WARNINGS);
        assert!(warnings.iter().all(|w| w.len() <= MAX_LINE_BYTES));
        assert!(
            warnings[MAX_WARNINGS - 1].starts_with("... and ")
                && warnings[MAX_WARNINGS - 1]
                    .ends_with(" more warnings (the webhook's log lists every finding)"),
            "{warnings:?}"
        );
    }

    /// Found by tests/fuzz.rs: the note on a DELETE the webhook cannot judge without
    /// `--watch` names the object, and was sent whole, past the bound on a warning.
    #[test]
    fn the_note_on_an_unjudged_delete_is_bounded_too() {
        let name = "é".repeat(700);
        let policy = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                            "metadata": {"name": name, "namespace": "mail"}, "spec": {}});
        let review = json!({"apiVersion": REVIEW_API_VERSION, "kind": REVIEW_KIND,
            "request": {"uid": "u-2",
                        "kind": {"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"},
                        "resource": {"group": "networking.k8s.io", "version": "v1", "resource": "networkpolicies"},
                        "name": name, "namespace": "mail", "operation": "DELETE",
                        "userInfo": {}, "oldObject": policy, "dryRun": false}});
        let request = parse(review.to_string().as_bytes()).expect("a valid review");
        let verdict = reviewer().review(&request, None).expect("review");
        assert_eq!(verdict.outcome, Outcome::Skipped);
        let warnings = verdict.response.warnings.unwrap_or_default();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].len() <= MAX_LINE_BYTES, "{}", warnings[0].len());
        assert!(
            warnings[0].starts_with(
                "iredmail-ports runs without --watch: the DELETE of NetworkPolicy/mail/éé"
            ),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn truncation_cuts_on_a_character_boundary() {
        assert_eq!(truncated("short", 10), "short");
        assert_eq!(truncated("ééééé", 8), "éé...");
    }

    /// The denial counts and lists the findings that deny; one below the threshold stays a
    /// warning.
    #[test]
    fn a_denial_lists_exactly_the_findings_it_counts() {
        let mut service = mail_service("LoadBalancer");
        service["spec"]["ports"] = json!([
            {"port": 3306, "targetPort": 3306},
            {"port": 8080, "targetPort": 8080}
        ]);
        let verdict = reviewer()
            .review(&request("CREATE", &service, &Value::Null), None)
            .expect("review");
        assert_eq!(verdict.outcome, Outcome::Denied);
        let message = verdict.response.result.message.clone();
        assert!(
            message.starts_with(
                "Service/mail/iredmail has 1 iredmail-ports finding at severity error or above:"
            ),
            "{message}"
        );
        assert_eq!(message.matches("\n- ").count(), 1, "{message}");
        assert!(
            message.contains("\n- internal-port-exposed (error)"),
            "{message}"
        );
        let warnings = verdict.response.warnings.clone().unwrap_or_default();
        assert!(
            warnings[0].starts_with("unknown-port (warning) on Service/mail/iredmail"),
            "{warnings:?}"
        );
    }
}
