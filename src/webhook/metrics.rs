//! The webhook's Prometheus metrics, served at `/metrics` in the OpenMetrics text format.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::audit::Summary;
use crate::model::{Finding, Rule};

/// What the Prometheus scrape endpoint answers with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// CREATE, UPDATE, DELETE, CONNECT, or `unknown` for a request that could not be read.
    operation: String,
    /// allowed, warned, denied, audited, skipped, invalid, timeout.
    result: String,
    dry_run: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
    severity: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SkippedLabels {
    rule: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuditLabels {
    /// success, or failure when any step of the run failed.
    result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuditWriteLabels {
    /// created, updated, unchanged, deleted, not_ours.
    operation: String,
}

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Histogram,
    findings: Family<RuleLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
    cached: Gauge,
    skipped: Family<SkippedLabels, Gauge>,
    connections: Gauge,
    refused: Counter,
    evicted: Counter,
    audits: Family<AuditLabels, Counter>,
    audit_writes: Family<AuditWriteLabels, Counter>,
    audit_last_run: Gauge,
    audit_last_success: Gauge,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("iredmail_ports_webhook");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "AdmissionReview requests by operation and result",
            requests.clone(),
        );
        // 0.1 ms to about 3 s: a review takes well under a millisecond alone, more with a
        // large namespace; the API server gives up at the webhook's timeoutSeconds.
        let duration = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register(
            "request_duration_seconds",
            "Time to answer an AdmissionReview, body read included",
            duration.clone(),
        );
        let findings = Family::<RuleLabels, Counter>::default();
        registry.register(
            "findings",
            "Findings reported by reviews that were not dry runs, by rule and severity",
            findings.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "certificate_reloads",
            "Reloads of the TLS certificate after its files changed",
            reloads.clone(),
        );
        let cached = Gauge::default();
        registry.register(
            "cached_objects",
            "Objects held by the --watch cache",
            cached.clone(),
        );
        let skipped = Family::<SkippedLabels, Gauge>::default();
        registry.register(
            "rules_skipped",
            "Rules this webhook does not run (1): without --watch, those that need the rest of \
             the namespace",
            skipped.clone(),
        );
        let connections = Gauge::default();
        registry.register(
            "connections",
            "Connections open now (at most --max-connections)",
            connections.clone(),
        );
        let refused = Counter::default();
        registry.register(
            "connections_refused",
            "Connections closed at once because --max-connections were open, none of them \
             half through --header-read-timeout without a request",
            refused.clone(),
        );
        let evicted = Counter::default();
        registry.register(
            "connections_evicted",
            "Connections that had sent no request in half of --header-read-timeout, closed to \
             make room for a new one when --max-connections were open",
            evicted.clone(),
        );
        let audits = Family::<AuditLabels, Counter>::default();
        registry.register(
            "audits",
            "Background audits (--audit-interval) by result; failure when any API request or \
             the check failed",
            audits.clone(),
        );
        let audit_writes = Family::<AuditWriteLabels, Counter>::default();
        registry.register(
            "audit_reports",
            "PolicyReports and ClusterPolicyReports handled by the audits, by what was done",
            audit_writes.clone(),
        );
        let audit_last_run = Gauge::default();
        registry.register(
            "audit_last_run_timestamp_seconds",
            "When the last audit ended, in seconds since the Unix epoch (0: none yet)",
            audit_last_run.clone(),
        );
        let audit_last_success = Gauge::default();
        registry.register(
            "audit_last_success_timestamp_seconds",
            "When the last audit without a failure ended, in seconds since the Unix epoch",
            audit_last_success.clone(),
        );
        Metrics {
            registry,
            audits,
            audit_writes,
            audit_last_run,
            audit_last_success,
            connections,
            refused,
            evicted,
            requests,
            duration,
            findings,
            reloads,
            cached,
            skipped,
        }
    }

    pub fn record_request(&self, operation: &str, result: &str, dry_run: bool, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                operation: operation.to_string(),
                result: result.to_string(),
                dry_run: dry_run.to_string(),
            })
            .inc();
        self.duration.observe(took.as_secs_f64());
    }

    pub fn record_findings(&self, findings: &[Finding]) {
        for finding in findings {
            self.findings
                .get_or_create(&RuleLabels {
                    rule: finding.rule.id().to_string(),
                    severity: finding.severity.as_str().to_string(),
                })
                .inc();
        }
    }

    pub fn record_reload(&self, success: bool) {
        let result = if success { "success" } else { "failure" };
        self.reloads
            .get_or_create(&ReloadLabels {
                result: result.to_string(),
            })
            .inc();
    }

    pub fn set_cached_objects(&self, count: usize) {
        self.cached.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub fn set_connections(&self, count: usize) {
        self.connections
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub fn record_connection_refused(&self) {
        self.refused.inc();
    }

    pub fn record_connection_evicted(&self) {
        self.evicted.inc();
    }

    /// One audit run: its result, what it wrote, and when it ended (`now`, Unix seconds).
    pub fn record_audit(&self, summary: &Summary, now: u64) {
        let success = summary.failures == 0;
        let result = if success { "success" } else { "failure" };
        self.audits
            .get_or_create(&AuditLabels {
                result: result.to_string(),
            })
            .inc();
        for (operation, count) in &summary.written {
            self.audit_writes
                .get_or_create(&AuditWriteLabels {
                    operation: operation.to_string(),
                })
                .inc_by(*count as u64);
        }
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        self.audit_last_run.set(now);
        if success {
            self.audit_last_success.set(now);
        }
    }

    /// The rules the webhook does not run, each a series at 1.
    pub fn set_rules_skipped(&self, rules: &[Rule]) {
        for rule in rules {
            self.skipped
                .get_or_create(&SkippedLabels {
                    rule: rule.id().to_string(),
                })
                .set(1);
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
