//! `serve --watch --audit-interval DURATION`: a background scan of the whole watched
//! cluster, written into it as wg-policy reports.
//!
//! Every interval the engine judges every object the `--watch` cache holds, as
//! `iredmail-ports cluster -A` judges what it lists, and [`policyreport::reports`] (the
//! one source of `--format policyreport`) turns the findings into one `PolicyReport` per
//! namespace with findings and a `ClusterPolicyReport`. Then the cluster is reconciled:
//! reports this tool wrote (they carry `app.kubernetes.io/managed-by: iredmail-ports`) are
//! updated by server-side apply, missing ones created, and those no longer produced (the
//! namespace is clean now, or gone) deleted. A report without that label is never written
//! or deleted, even when it has our name.
//!
//! An API error is logged and counted; the rest of the run goes on and the next interval
//! tries again. The audit runs beside the reviews: the engine on a blocking thread, the
//! requests on the async workers, one run at a time.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
    Preconditions,
};
use kube::{Client, ResourceExt};
use serde_json::Value;
use tokio::time::MissedTickBehavior;

use super::cache::Cache;
use super::metrics::Metrics;
use crate::report::policyreport::{self, MANAGED_BY_LABEL, SOURCE};
use crate::{Engine, Report, Rules};

/// The field manager of the audit's server-side applies.
pub const FIELD_MANAGER: &str = "iredmail-ports";
/// The longest one request of the audit may take; a hung API server fails the request,
/// not the loop.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const GROUP: &str = "wgpolicyk8s.io";
const VERSION: &str = "v1alpha2";

/// Why one step of an audit failed. The run goes on with the other reports.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "the API server does not serve {plural}.{GROUP}/{VERSION}: install the wg-policy \
         PolicyReport CRDs (Kyverno and Policy Reporter ship them)"
    )]
    NotInstalled { plural: &'static str },
    #[error("cannot {what}: the API server answered {code} {reason}: {message}")]
    Refused {
        what: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("cannot {what}: {source}")]
    Request {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot {what}: no answer within {} s", .timeout.as_secs())]
    Timeout { what: String, timeout: Duration },
    #[error("the check of the cluster did not finish: {0}")]
    Check(String),
    #[error("the report is not a Kubernetes object: {0}")]
    Report(#[source] serde_json::Error),
}

/// The two report kinds: one per namespace, one for the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ReportKind {
    Namespaced,
    Cluster,
}

impl ReportKind {
    fn kind(self) -> &'static str {
        match self {
            ReportKind::Namespaced => "PolicyReport",
            ReportKind::Cluster => "ClusterPolicyReport",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            ReportKind::Namespaced => "policyreports",
            ReportKind::Cluster => "clusterpolicyreports",
        }
    }

    fn resource(self) -> ApiResource {
        ApiResource {
            group: GROUP.to_string(),
            version: VERSION.to_string(),
            api_version: policyreport::API_VERSION.to_string(),
            kind: self.kind().to_string(),
            plural: self.plural().to_string(),
        }
    }
}

/// Which report: `namespace` is `None` for the ClusterPolicyReport.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ReportKey {
    namespace: Option<String>,
    name: String,
}

impl ReportKey {
    fn of(value: &Value) -> ReportKey {
        let text = |field: &str| value["metadata"][field].as_str().map(str::to_string);
        ReportKey {
            namespace: text("namespace"),
            name: text("name").unwrap_or_default(),
        }
    }

    fn kind(&self) -> ReportKind {
        match self.namespace {
            Some(_) => ReportKind::Namespaced,
            None => ReportKind::Cluster,
        }
    }

    /// `PolicyReport mail/iredmail-ports`, for messages.
    fn describe(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("PolicyReport {namespace}/{}", self.name),
            None => format!("ClusterPolicyReport {}", self.name),
        }
    }
}

/// A report of ours found in the cluster, with what a delete must match.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Existing {
    uid: Option<String>,
    resource_version: Option<String>,
}

/// What one audit does to one report.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// Ours exists: server-side apply the new content.
    Update(ReportKey, Value, Existing),
    /// None of ours: create it, unless a report of that name that is not ours is there.
    Create(ReportKey, Value),
    /// Ours, and no longer produced.
    Delete(ReportKey, Existing),
}

/// The steps that bring the cluster's reports of ours to `desired`, in key order.
fn plan(desired: Vec<Value>, mut ours: BTreeMap<ReportKey, Existing>) -> Vec<Step> {
    let mut steps: Vec<Step> = desired
        .into_iter()
        .map(|report| {
            let key = ReportKey::of(&report);
            match ours.remove(&key) {
                Some(existing) => Step::Update(key, report, existing),
                None => Step::Create(key, report),
            }
        })
        .collect();
    steps.extend(
        ours.into_iter()
            .map(|(key, existing)| Step::Delete(key, existing)),
    );
    steps
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
    Unchanged,
    Deleted,
    /// A report of that name without our label: left alone.
    NotOurs,
}

impl Written {
    pub fn as_str(self) -> &'static str {
        match self {
            Written::Created => "created",
            Written::Updated => "updated",
            Written::Unchanged => "unchanged",
            Written::Deleted => "deleted",
            Written::NotOurs => "not_ours",
        }
    }
}

/// What one audit run did, for the log and the metrics.
#[derive(Debug, Default)]
pub struct Summary {
    pub findings: usize,
    pub written: BTreeMap<&'static str, usize>,
    pub failures: usize,
}

/// The audit loop's parts.
pub struct Auditor {
    pub client: Client,
    pub cache: Arc<Cache>,
    pub engine: Arc<Engine>,
    pub metrics: Arc<Metrics>,
    pub interval: Duration,
}

impl Auditor {
    /// Audits every interval, for as long as the server runs.
    pub async fn run(self) {
        // A half-listed cluster would make the reports of the namespaces not listed yet
        // look stale: wait for every kind.
        self.cache.synced().await;
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let started = Instant::now();
            let summary = self.audit_once().await;
            self.record(&summary, started.elapsed());
        }
    }

    /// One audit: judge the cache, then reconcile the reports. Never fails: what failed is
    /// logged and counted in the summary.
    pub async fn audit_once(&self) -> Summary {
        let mut summary = Summary::default();
        let report = match self.check().await {
            Ok(report) => report,
            Err(error) => {
                tracing::error!(%error, "audit: the check failed; retried at the next interval");
                summary.failures += 1;
                return summary;
            }
        };
        summary.findings = report.findings.len();
        let ours = match self.list_ours().await {
            Ok(ours) => ours,
            Err(error) => {
                // Without knowing which reports are ours, nothing is written or deleted.
                tracing::warn!(%error, "audit: listing the reports failed; retried at the next interval");
                summary.failures += 1;
                return summary;
            }
        };
        let desired = policyreport::reports(&report);
        for omitted in desired.iter().filter_map(omitted_results) {
            tracing::warn!(report = %omitted.0, omitted = %omitted.1, "audit: a report over the size budget leaves results out; `iredmail-ports cluster` lists them all");
        }
        for step in plan(desired, ours) {
            match self.execute(&step).await {
                Ok(written) => *summary.written.entry(written.as_str()).or_default() += 1,
                Err(error) => {
                    let (operation, key) = describe(&step);
                    tracing::warn!(operation, report = %key.describe(), %error, "audit: writing a report failed; retried at the next interval");
                    summary.failures += 1;
                }
            }
        }
        summary
    }

    /// The engine over every watched object, off the async workers so that reviews keep
    /// their latency.
    async fn check(&self) -> Result<Report, AuditError> {
        let values: Vec<Value> = self
            .cache
            .all_objects()
            .into_iter()
            .map(|o| o.value)
            .collect();
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.check_live(&values, Vec::new(), Rules::All))
            .await
            .map_err(|error| AuditError::Check(error.to_string()))
    }

    /// The reports of both kinds that carry our label.
    async fn list_ours(&self) -> Result<BTreeMap<ReportKey, Existing>, AuditError> {
        let params = ListParams::default().labels(&format!("{MANAGED_BY_LABEL}={SOURCE}"));
        let mut ours = BTreeMap::new();
        for kind in [ReportKind::Namespaced, ReportKind::Cluster] {
            let api = Api::<DynamicObject>::all_with(self.client.clone(), &kind.resource());
            let what = format!("list {}.{GROUP}", kind.plural());
            let listed = within(&what, api.list(&params))
                .await
                .map_err(|error| not_installed(error, kind))?;
            for object in listed.items {
                let key = ReportKey {
                    namespace: match kind {
                        ReportKind::Namespaced => object.namespace(),
                        ReportKind::Cluster => None,
                    },
                    name: object.name_any(),
                };
                ours.insert(key, existing(&object));
            }
        }
        Ok(ours)
    }

    async fn execute(&self, step: &Step) -> Result<Written, AuditError> {
        match step {
            Step::Update(key, report, existing) => self.update(key, report, existing).await,
            Step::Create(key, report) => self.create(key, report).await,
            Step::Delete(key, existing) => self.delete(key, existing).await,
        }
    }

    fn api(&self, key: &ReportKey) -> Api<DynamicObject> {
        let resource = key.kind().resource();
        match &key.namespace {
            Some(namespace) => Api::namespaced_with(self.client.clone(), namespace, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        }
    }

    /// Server-side apply, forced: the report is ours, and another manager's fields in it
    /// (a `kubectl apply` of `--format policyreport`) must not block it. The API server
    /// keeps the resourceVersion when nothing changed.
    async fn update(
        &self,
        key: &ReportKey,
        report: &Value,
        existing: &Existing,
    ) -> Result<Written, AuditError> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let what = format!("apply {}", key.describe());
        let applied = within(
            &what,
            self.api(key)
                .patch(&key.name, &params, &Patch::Apply(report)),
        )
        .await?;
        Ok(
            match applied.resource_version() == existing.resource_version {
                true => Written::Unchanged,
                false => Written::Updated,
            },
        )
    }

    /// Creates the report, unless one of that name is there already: ours (another replica
    /// was quicker) is updated, anyone else's left alone.
    async fn create(&self, key: &ReportKey, report: &Value) -> Result<Written, AuditError> {
        let api = self.api(key);
        let found = within(&format!("get {}", key.describe()), api.get_opt(&key.name)).await?;
        if let Some(found) = found {
            if !is_ours(&found) {
                tracing::warn!(report = %key.describe(), "audit: a report of this name without the label {MANAGED_BY_LABEL}={SOURCE} is not ours; left alone");
                return Ok(Written::NotOurs);
            }
            return self.update(key, report, &existing(&found)).await;
        }
        let object: DynamicObject =
            serde_json::from_value(report.clone()).map_err(AuditError::Report)?;
        let what = format!("create {}", key.describe());
        within(&what, api.create(&PostParams::default(), &object)).await?;
        Ok(Written::Created)
    }

    /// Deletes a stale report of ours, only if it is still the one listed (uid and
    /// resourceVersion): one that changed hands meanwhile is left for the next run.
    async fn delete(&self, key: &ReportKey, existing: &Existing) -> Result<Written, AuditError> {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: existing.uid.clone(),
                resource_version: existing.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        let what = format!("delete {}", key.describe());
        match within(&what, self.api(key).delete(&key.name, &params)).await {
            Ok(_) => Ok(Written::Deleted),
            // Gone already: another replica, or its namespace was deleted.
            Err(AuditError::Refused { code: 404, .. }) => Ok(Written::Unchanged),
            Err(error) => Err(error),
        }
    }

    fn record(&self, summary: &Summary, took: Duration) {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.metrics.record_audit(summary, now);
        let took_ms = took.as_secs_f64() * 1000.0;
        let count = |what: Written| summary.written.get(what.as_str()).copied().unwrap_or(0);
        tracing::info!(
            findings = summary.findings,
            created = count(Written::Created),
            updated = count(Written::Updated),
            unchanged = count(Written::Unchanged),
            deleted = count(Written::Deleted),
            not_ours = count(Written::NotOurs),
            failures = summary.failures,
            took_ms,
            "audit"
        );
    }
}

fn describe(step: &Step) -> (&'static str, &ReportKey) {
    match step {
        Step::Update(key, ..) => ("update", key),
        Step::Create(key, _) => ("create", key),
        Step::Delete(key, _) => ("delete", key),
    }
}

/// The report and what its annotation says it left out, if it left anything out.
fn omitted_results(report: &Value) -> Option<(String, &str)> {
    let omitted = report["metadata"]["annotations"][policyreport::OMITTED_ANNOTATION].as_str()?;
    Some((ReportKey::of(report).describe(), omitted))
}

fn existing(object: &DynamicObject) -> Existing {
    Existing {
        uid: object.uid(),
        resource_version: object.resource_version(),
    }
}

fn is_ours(object: &DynamicObject) -> bool {
    object.labels().get(MANAGED_BY_LABEL).map(String::as_str) == Some(SOURCE)
}

/// A 404 on the list: the CRD is not installed, said as such.
fn not_installed(error: AuditError, kind: ReportKind) -> AuditError {
    match error {
        AuditError::Refused { code: 404, .. } => AuditError::NotInstalled {
            plural: kind.plural(),
        },
        other => other,
    }
}

/// One request, bounded by [`REQUEST_TIMEOUT`], its error named after `what` it did.
async fn within<T>(
    what: &str,
    request: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, AuditError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Err(_) => Err(AuditError::Timeout {
            what: what.to_string(),
            timeout: REQUEST_TIMEOUT,
        }),
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(kube::Error::Api(status))) => Err(AuditError::Refused {
            what: what.to_string(),
            code: status.code,
            reason: status.reason.clone(),
            message: status.message.clone(),
        }),
        Ok(Err(source)) => Err(AuditError::Request {
            what: what.to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn report(namespace: Option<&str>) -> Value {
        let mut metadata = json!({"name": "iredmail-ports"});
        if let Some(namespace) = namespace {
            metadata["namespace"] = json!(namespace);
        }
        json!({"apiVersion": policyreport::API_VERSION, "metadata": metadata})
    }

    fn key(namespace: Option<&str>) -> ReportKey {
        ReportKey {
            namespace: namespace.map(str::to_string),
            name: "iredmail-ports".to_string(),
        }
    }

    fn listed(version: &str) -> Existing {
        Existing {
            uid: Some(format!("uid-{version}")),
            resource_version: Some(version.to_string()),
        }
    }

    #[test]
    fn the_plan_updates_ours_creates_the_new_and_deletes_the_stale() {
        let desired = vec![report(Some("mail")), report(Some("web")), report(None)];
        let ours = BTreeMap::from([
            (key(Some("mail")), listed("1")),
            (key(Some("old")), listed("2")),
        ]);
        let steps = plan(desired, ours);
        assert_eq!(
            steps,
            vec![
                Step::Update(key(Some("mail")), report(Some("mail")), listed("1")),
                Step::Create(key(Some("web")), report(Some("web"))),
                Step::Create(key(None), report(None)),
                Step::Delete(key(Some("old")), listed("2")),
            ]
        );
    }

    #[test]
    fn a_clean_cluster_keeps_only_the_cluster_report() {
        let ours = BTreeMap::from([(key(None), listed("3")), (key(Some("mail")), listed("4"))]);
        let steps = plan(vec![report(None)], ours);
        assert_eq!(
            steps,
            vec![
                Step::Update(key(None), report(None), listed("3")),
                Step::Delete(key(Some("mail")), listed("4")),
            ]
        );
    }

    #[test]
    fn only_reports_with_our_label_are_ours() {
        let object = |labels: Value| -> DynamicObject {
            serde_json::from_value(json!({"apiVersion": policyreport::API_VERSION,
                "kind": "PolicyReport", "metadata": {"name": "iredmail-ports", "labels": labels}}))
            .expect("an object")
        };
        assert!(is_ours(&object(
            json!({"app.kubernetes.io/managed-by": "iredmail-ports"})
        )));
        assert!(!is_ours(&object(
            json!({"app.kubernetes.io/managed-by": "kyverno"})
        )));
        assert!(!is_ours(&object(json!({}))));
    }
}
