//! The HTTPS server: routes, limits, readiness and shutdown.
//!
//! `POST /validate` answers AdmissionReviews; `/healthz`, `/readyz` and `/metrics` are for
//! the kubelet and Prometheus. HTTP/1.1 and HTTP/2 are offered by ALPN. A body over 3 MiB
//! gets 413 (at once when its declared length says so), a review with too many JSON values
//! 413, an unreadable review 400, a review slower than `--request-timeout` 503: the API
//! server then applies the webhook's `failurePolicy`, and the listener stays up. What
//! bounds connections and memory is in [`super::limits`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_server::Handle;
use kube::core::admission::Operation;
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::audit::Auditor;
use super::cache::{self, Cache};
use super::limits::{Guard, ReviewMemory};
use super::metrics::{self, Metrics};
use super::review::{self, NamespaceView, Outcome, Reviewer, Verdict};
use super::tls::CertFiles;
use super::{BODY_LIMIT, Mode, ServeError, Settings};
use crate::Engine;

/// What every handler shares.
struct Shared {
    reviewer: Reviewer,
    cache: Option<Arc<Cache>>,
    metrics: Arc<Metrics>,
    request_timeout: Duration,
    review_memory: ReviewMemory,
    connections: Guard,
    /// Set once the `--watch` caches have synced (at once without `--watch`).
    synced: AtomicBool,
    /// Set on SIGTERM: the kubelet should stop sending traffic.
    stopping: AtomicBool,
}

/// Serves until SIGTERM or SIGINT, then lets the reviews in flight finish.
pub async fn serve(settings: Settings) -> Result<(), ServeError> {
    // kube and axum-server share one rustls built with ring only; another crate may have
    // installed it already, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let files = CertFiles {
        cert: settings.tls_cert.clone(),
        key: settings.tls_key.clone(),
    };
    let tls = files.load().await?;
    let metrics = Arc::new(Metrics::new());
    // Said once here and kept in /metrics, rather than in every review: a review warns
    // only when a skipped rule had something of its object to judge.
    if !settings.watch {
        metrics.set_rules_skipped(&review::rules_needing_the_namespace());
        tracing::warn!("{}", review::no_context_note());
    }
    let client = match settings.watch {
        true => Some(cache::client().await?),
        false => None,
    };
    let cache = client.as_ref().map(|client| Arc::new(Cache::start(client)));
    let engine = Arc::new(Engine::new(&settings.catalogue, settings.config).with_graph(false));
    let shared = Arc::new(Shared {
        reviewer: Reviewer {
            engine: engine.clone(),
            mode: settings.mode,
            deny_at: settings.deny_at,
        },
        synced: AtomicBool::new(cache.is_none()),
        cache,
        metrics: metrics.clone(),
        request_timeout: settings.request_timeout,
        review_memory: ReviewMemory::new(settings.review_memory),
        connections: Guard::new(
            settings.max_connections,
            settings.idle_timeout,
            settings.header_read_timeout,
            metrics.clone(),
        ),
        stopping: AtomicBool::new(false),
    });
    if shared.cache.is_some() {
        tokio::spawn(follow_cache(shared.clone()));
    }
    if let (Some(client), Some(cache), Some(interval)) =
        (client, &shared.cache, settings.audit_interval)
    {
        let auditor = Auditor {
            client,
            cache: cache.clone(),
            engine,
            metrics: metrics.clone(),
            interval,
        };
        tracing::info!(
            interval_seconds = interval.as_secs_f64(),
            "auditing the cluster into PolicyReports"
        );
        tokio::spawn(auditor.run());
    }
    tokio::spawn(files.reload_on_change(tls.clone(), settings.cert_poll_interval, metrics.clone()));

    let handle: Handle<SocketAddr> = Handle::new();
    let terminate = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    tokio::spawn(stop_on_signal(
        terminate,
        handle.clone(),
        shared.clone(),
        settings.shutdown_grace,
    ));
    tokio::spawn(log_address(handle.clone(), settings.mode, settings.watch));

    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
        .handshake_timeout(settings.header_read_timeout)
        .acceptor(shared.connections.clone());
    let mut server = axum_server::bind(settings.listen)
        .acceptor(acceptor)
        .handle(handle)
        .first_request_timeout(settings.header_read_timeout);
    tune_protocols(server.http_builder(), settings.header_read_timeout);
    server
        .serve(router(shared).into_make_service())
        .await
        .map_err(|source| ServeError::Serve {
            address: settings.listen,
            source,
        })?;
    tracing::info!("stopped");
    Ok(())
}

/// hyper's own limits. HTTP/2 keep-alive pings stay off: they would count as traffic and
/// keep idle connections open; `--idle-timeout` closes dead peers too.
fn tune_protocols(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    header_read_timeout: Duration,
) {
    builder.http1().header_read_timeout(header_read_timeout);
    // A stream waiting for --review-memory leaves its body unread. The connection window
    // covers every stream's window, so such streams can never starve the one being read
    // (which would stall them all until --request-timeout); and it bounds what one
    // connection buffers unread to 1 MiB.
    builder
        .http2()
        .max_concurrent_streams(H2_STREAMS)
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .initial_connection_window_size(H2_STREAMS * H2_STREAM_WINDOW)
        .max_header_list_size(64 * 1024);
}

/// The API server sends one review per stream and few at once on a connection.
const H2_STREAMS: u32 = 16;
const H2_STREAM_WINDOW: u32 = 64 * 1024;

fn router(shared: Arc<Shared>) -> Router {
    let validate = Router::new()
        .route("/validate", post(validate))
        .route_layer(middleware::from_fn_with_state(shared.clone(), admit))
        .route_layer(middleware::from_fn_with_state(shared.clone(), limit_time))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    Router::new()
        .merge(validate)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .fallback(not_found)
        .with_state(shared)
}

async fn validate(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let status = StatusCode::PAYLOAD_TOO_LARGE;
            return refuse(&shared, status, too_large_message(), started);
        }
        Err(rejection) => {
            let message = format!("cannot read the request body: {}", rejection.body_text());
            return refuse(&shared, rejection.status(), message, started);
        }
    };
    let request = match review::read(&body) {
        Ok(request) => request,
        Err(unanswerable) => {
            let status = unanswerable.status();
            return refuse(&shared, status, unanswerable.to_string(), started);
        }
    };
    let uid = request.uid.clone();
    let operation = operation_name(&request.operation);
    let dry_run = request.dry_run;
    // The engine is CPU work: off the async workers, so that a slow review cannot stall
    // the others and the time limit can answer while it runs.
    let worker = shared.clone();
    let judged = tokio::task::spawn_blocking(move || {
        let view = worker.cache.as_deref().map(|c| c as &dyn NamespaceView);
        worker.reviewer.review(&request, view)
    })
    .await;
    let verdict = match judged {
        Ok(Ok(verdict)) => verdict,
        Ok(Err(bad)) => return refuse(&shared, StatusCode::BAD_REQUEST, bad.to_string(), started),
        Err(error) => {
            tracing::error!(%uid, %error, "the review failed");
            shared
                .metrics
                .record_request(operation, "error", dry_run, started.elapsed());
            let message = "the review failed inside iredmail-ports; see its log";
            return (StatusCode::INTERNAL_SERVER_ERROR, message).into_response();
        }
    };
    let took = started.elapsed();
    log_verdict(
        &verdict,
        &uid,
        operation,
        dry_run,
        shared.reviewer.mode,
        took,
    );
    shared
        .metrics
        .record_request(operation, verdict.outcome.as_str(), dry_run, took);
    // A dry run changes nothing in the cluster; it is answered alike but its findings are
    // not counted as if they had been admitted or refused.
    if !dry_run {
        shared.metrics.record_findings(&verdict.findings);
    }
    axum::Json(verdict.response.into_review()).into_response()
}

fn operation_name(operation: &Operation) -> &'static str {
    match operation {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
        Operation::Connect => "CONNECT",
    }
}

fn log_verdict(
    verdict: &Verdict,
    uid: &str,
    operation: &str,
    dry_run: bool,
    mode: Mode,
    took: Duration,
) {
    let took_ms = took.as_secs_f64() * 1000.0;
    let result = verdict.outcome.as_str();
    if matches!(verdict.outcome, Outcome::Allowed | Outcome::Skipped) {
        tracing::debug!(uid, operation, object = %verdict.object, dry_run, mode = mode.as_str(), result, took_ms, "review");
        return;
    }
    tracing::info!(uid, operation, object = %verdict.object, dry_run, mode = mode.as_str(), result, findings = verdict.findings.len(), took_ms, "review");
    for finding in &verdict.findings {
        tracing::info!(
            uid,
            rule = finding.rule.id(),
            severity = finding.severity.as_str(),
            object = finding.object.as_deref().unwrap_or_default(),
            port = finding.port,
            text = %finding.message,
            "finding"
        );
    }
}

/// A request that is not a review the webhook can answer: a 4xx with the reason.
fn refuse(shared: &Shared, status: StatusCode, message: String, started: Instant) -> Response {
    tracing::warn!(status = status.as_u16(), reason = %message, "refused a request");
    shared
        .metrics
        .record_request("unknown", "invalid", false, started.elapsed());
    (status, message).into_response()
}

/// Refuses a body whose declared length is over the limit before reading it, then waits
/// for the memory the review may need, which it holds until it is answered.
async fn admit(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        return refuse(
            &shared,
            StatusCode::PAYLOAD_TOO_LARGE,
            too_large_message(),
            Instant::now(),
        );
    }
    // Without a declared length (chunked, or HTTP/2 without the header) the body may be
    // anything up to the limit.
    let length = declared.map_or(BODY_LIMIT, |l| usize::try_from(l).unwrap_or(BODY_LIMIT));
    let _memory = shared.review_memory.reserve(length).await;
    next.run(request).await
}

fn too_large_message() -> String {
    format!(
        "the AdmissionReview is larger than {BODY_LIMIT} bytes (3 MiB), the API server's own \
         limit for a request"
    )
}

/// Answers 503 when a review (body included) takes longer than `--request-timeout`.
async fn limit_time(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    match tokio::time::timeout(shared.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let seconds = shared.request_timeout.as_secs_f64();
            tracing::warn!(seconds, "a review took longer than --request-timeout");
            shared
                .metrics
                .record_request("unknown", "timeout", false, started.elapsed());
            let message = format!("the review took longer than {seconds} s (--request-timeout)");
            (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.stopping.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    if !shared.synced.load(Ordering::Relaxed) {
        let message = "not ready: the --watch caches have not listed the cluster yet\n";
        return (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    }
    "ready\n".into_response()
}

async fn render_metrics(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(cache) = &shared.cache {
        shared.metrics.set_cached_objects(cache.len());
    }
    let open = shared.connections.open();
    shared.metrics.set_connections(open);
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        shared.metrics.render(),
    )
        .into_response()
}

async fn not_found() -> (StatusCode, &'static str) {
    (
        StatusCode::NOT_FOUND,
        "not found: the webhook answers POST /validate, and GET /healthz, /readyz, /metrics\n",
    )
}

/// Marks the server ready once every reflector has listed its kind.
async fn follow_cache(shared: Arc<Shared>) {
    if let Some(cache) = &shared.cache {
        cache.synced().await;
        shared.synced.store(true, Ordering::Relaxed);
        tracing::info!(objects = cache.len(), "the --watch caches have synced");
    }
}

async fn stop_on_signal(
    mut terminate: Signal,
    handle: Handle<SocketAddr>,
    shared: Arc<Shared>,
    grace: Duration,
) {
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    };
    shared.stopping.store(true, Ordering::Relaxed);
    tracing::info!(
        signal = name,
        grace_seconds = grace.as_secs(),
        "shutting down: no new connections, finishing the reviews in flight"
    );
    handle.graceful_shutdown(Some(grace));
}

async fn log_address(handle: Handle<SocketAddr>, mode: Mode, watch: bool) {
    if let Some(address) = handle.listening().await {
        tracing::info!(%address, mode = mode.as_str(), watch, "listening");
    }
}
