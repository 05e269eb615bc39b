//! What bounds the webhook under hostile load: connections, time and memory.
//!
//! A client may open connections and never finish a header (slowloris), hold TLS
//! connections idle, or send many large reviews at once. Each connection holds a file
//! descriptor and each review memory, so both are capped: a connection needs one of
//! `--max-connections` permits to be served at all, is closed when it has moved no byte
//! for `--idle-timeout` with no review in flight, and a review needs a share of
//! `--review-memory` before its body is read. The JSON of a review is counted before it is
//! built ([`count_values`]): a small body can describe millions of values.
//!
//! When the cap is full, a new connection takes the place of the oldest one that has used
//! half of `--header-read-timeout` without sending a request (a slowloris, a silent or
//! idle TLS peer) rather than being refused: the API server opening a connection during a
//! flood of slow ones waits half as long for a slot. A younger connection is left to finish
//! its handshake and first request (a burst of real clients on a loaded node must not
//! reset one another), and when there is none to take the place of, the new one is
//! refused.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use futures::future::BoxFuture;
use futures::task::AtomicWaker;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::Service;

use super::metrics::Metrics;

/// How many JSON values (objects, arrays, strings, numbers...) one AdmissionReview may
/// hold. A Deployment with its managedFields has a few thousand; each value costs a few
/// hundred bytes once built, so this bounds a review's memory to about 25 MB.
pub const MAX_JSON_VALUES: usize = 50_000;

/// What a review is charged against `--review-memory` per byte of body: the body itself,
/// its parsed copies and the engine's input, measured with `benches/webhook_memory.rs`.
const BYTES_PER_BODY_BYTE: usize = 20;
/// ... and per JSON value it may hold (at least two bytes of body each: `0,`).
const BYTES_PER_VALUE: usize = 512;

/// How long a connection that made room waits for the slot it freed: the evicted one
/// gives it back as soon as its task runs, so this only bounds a stalled runtime.
const EVICTION_WAIT: Duration = Duration::from_secs(1);

/// The accepted connections: the cap, the idle timer, and the connections that may make
/// room for a new one.
#[derive(Clone)]
pub struct Guard {
    permits: Arc<Semaphore>,
    idle: Duration,
    metrics: Arc<Metrics>,
    /// The connections that had not sent a request when they were accepted, oldest
    /// first; those that have since sent one, or closed, are skipped and pruned.
    unproven: Arc<Mutex<VecDeque<Weak<Probation>>>>,
    max_connections: usize,
    /// How long a connection without a request is safe from eviction.
    evictable_after: Duration,
}

/// A connection's standing: when it was accepted, whether it has sent a request, and
/// whether it was closed to make room.
struct Probation {
    since: Instant,
    proven: AtomicBool,
    evicted: AtomicBool,
    /// The connection's task, woken to notice its eviction.
    waker: AtomicWaker,
}

impl Guard {
    /// `header_read_timeout` closes a connection that has not sent a request by then;
    /// half of it makes the connection evictable.
    pub fn new(
        max_connections: usize,
        idle: Duration,
        header_read_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Guard {
        Guard {
            permits: Arc::new(Semaphore::new(max_connections)),
            idle,
            metrics,
            unproven: Arc::default(),
            max_connections,
            evictable_after: header_read_timeout / 2,
        }
    }

    /// A permit for a new connection: a free one, or the one the oldest evictable
    /// connection gives back when it is closed. `None` when no open connection is
    /// evictable (each has sent a request, or is still young).
    async fn permit(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Some(permit);
        }
        if !self.evict_oldest_unproven() {
            return None;
        }
        let freed = tokio::time::timeout(EVICTION_WAIT, self.permits.clone().acquire_owned());
        freed.await.ok()?.ok()
    }

    fn evict_oldest_unproven(&self) -> bool {
        let mut unproven = self.unproven.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(entry) = unproven.front() {
            let Some(probation) = entry.upgrade() else {
                unproven.pop_front();
                continue;
            };
            if probation.proven.load(Ordering::Acquire) {
                unproven.pop_front();
                continue;
            }
            // The oldest is still young enough: so is every other one.
            if probation.since.elapsed() < self.evictable_after {
                return false;
            }
            unproven.pop_front();
            probation.evicted.store(true, Ordering::Release);
            probation.waker.wake();
            self.metrics.record_connection_evicted();
            return true;
        }
        false
    }

    fn on_probation(&self) -> Arc<Probation> {
        let probation = Arc::new(Probation {
            since: Instant::now(),
            proven: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        let mut unproven = self.unproven.lock().unwrap_or_else(|e| e.into_inner());
        // Entries of closed or proven connections pile up until an eviction pops them;
        // pruning when the list outgrows the cap keeps it in proportion.
        if unproven.len() >= 2 * self.max_connections.max(1) {
            unproven.retain(|entry| {
                entry
                    .upgrade()
                    .is_some_and(|p| !p.proven.load(Ordering::Acquire))
            });
        }
        unproven.push_back(Arc::downgrade(&probation));
        probation
    }

    /// How many connections are open now.
    pub fn open(&self) -> usize {
        self.max_connections
            .saturating_sub(self.permits.available_permits())
    }
}

impl<S: Send + 'static> Accept<TcpStream, S> for Guard {
    type Stream = Idle<TcpStream>;
    type Service = Tracked<S>;
    type Future = BoxFuture<'static, io::Result<(Self::Stream, Self::Service)>>;

    /// Over the cap, the connection replaces the oldest evictable one, or is closed at
    /// once when there is none: waiting would keep its file descriptor open, which is what
    /// the cap protects.
    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let guard = self.clone();
        Box::pin(async move {
            let Some(permit) = guard.permit().await else {
                guard.metrics.record_connection_refused();
                return Err(io::Error::other(
                    "connection refused: --max-connections are open, none of them half \
                     through --header-read-timeout without a request",
                ));
            };
            let in_flight = Arc::new(AtomicUsize::new(0));
            let probation = guard.on_probation();
            let stream = Idle {
                inner: stream,
                timeout: guard.idle,
                sleep: Box::pin(tokio::time::sleep(guard.idle)),
                in_flight: in_flight.clone(),
                probation: probation.clone(),
                _permit: permit,
            };
            let service = Tracked {
                inner: service,
                in_flight,
                probation,
            };
            Ok((stream, service))
        })
    }
}

/// A connection that fails once it has moved no byte for its timeout while no review was
/// in flight on it, or once it was evicted to make room; it holds its connection permit
/// until it is dropped.
pub struct Idle<T> {
    inner: T,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    in_flight: Arc<AtomicUsize>,
    probation: Arc<Probation>,
    _permit: OwnedSemaphorePermit,
}

impl<T> Idle<T> {
    fn moved(&mut self) {
        let deadline = Instant::now() + self.timeout;
        self.sleep.as_mut().reset(deadline);
    }

    fn evicted(&self) -> Option<io::Error> {
        self.probation.evicted.load(Ordering::Acquire).then(|| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed to make room: --max-connections were open and this one had sent no request",
            )
        })
    }

    /// Called when the peer has nothing for us (or takes nothing from us).
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        self.probation.waker.register(cx.waker());
        if let Some(error) = self.evicted() {
            return Poll::Ready(error);
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        // A review being judged is not idleness: wait for it, whatever it takes (it has
        // its own --request-timeout).
        if self.in_flight.load(Ordering::Acquire) > 0 {
            self.moved();
            let _ = self.sleep.as_mut().poll(cx);
            return Poll::Pending;
        }
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            "the connection was idle longer than --idle-timeout",
        ))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Idle<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(error) = this.evicted() {
            return Poll::Ready(Err(error));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Idle<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    this.moved();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            // A peer that stops reading its answer is as idle as one that stops writing.
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The connection's service, counting the requests it is answering; the first one proves
/// the connection, which is then never evicted.
#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
    in_flight: Arc<AtomicUsize>,
    probation: Arc<Probation>,
}

/// Counts one request in flight until it is answered or dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S, R> Service<R> for Tracked<S>
where
    S: Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.probation.proven.store(true, Ordering::Release);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight(self.in_flight.clone());
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await;
            drop(guard);
            response
        })
    }
}

/// The memory reviews may hold at once (`--review-memory`), shared by every stream of
/// every connection.
pub struct ReviewMemory {
    permits: Arc<Semaphore>,
    capacity: usize,
}

impl ReviewMemory {
    pub fn new(bytes: usize) -> ReviewMemory {
        // A tokio semaphore counts at most `usize::MAX >> 3` permits.
        let capacity = bytes.clamp(1, Semaphore::MAX_PERMITS);
        ReviewMemory {
            permits: Arc::new(Semaphore::new(capacity)),
            capacity,
        }
    }

    /// Waits for the memory a review of `body_bytes` may need (the body limit when its
    /// length is not declared). The caller's `--request-timeout` bounds the wait.
    pub async fn reserve(&self, body_bytes: usize) -> OwnedSemaphorePermit {
        let cost = review_cost(body_bytes).min(self.capacity);
        let permits = u32::try_from(cost).unwrap_or(u32::MAX);
        // The semaphore is never closed.
        self.permits
            .clone()
            .acquire_many_owned(permits)
            .await
            .expect("the review memory semaphore is never closed")
    }
}

/// The most a review of `body_bytes` can cost once parsed: its copies, and its values
/// (bounded by [`MAX_JSON_VALUES`]).
pub fn review_cost(body_bytes: usize) -> usize {
    let values = (body_bytes / 2).min(MAX_JSON_VALUES);
    body_bytes
        .saturating_mul(BYTES_PER_BODY_BYTE)
        .saturating_add(values * BYTES_PER_VALUE)
}

/// A body refused before its JSON was built.
#[derive(Debug, thiserror::Error)]
#[error(
    "the AdmissionReview holds more than {MAX_JSON_VALUES} JSON values; no object the webhook \
     judges needs that many"
)]
pub struct TooManyValues;

/// Counts the JSON values of `body` without building them, and refuses it past
/// [`MAX_JSON_VALUES`]. Broken JSON passes: the parser names what is wrong with it.
pub fn check_values(body: &[u8]) -> Result<(), TooManyValues> {
    let mut count = 0;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let _ = Counter { count: &mut count }.deserialize(&mut deserializer);
    match count > MAX_JSON_VALUES {
        true => Err(TooManyValues),
        false => Ok(()),
    }
}

/// Visits one JSON value and everything in it, adding them to `count`.
struct Counter<'a> {
    count: &'a mut usize,
}

impl Counter<'_> {
    fn one<E: de::Error>(&mut self) -> Result<(), E> {
        *self.count += 1;
        if *self.count > MAX_JSON_VALUES {
            return Err(E::custom("too many JSON values"));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Counter<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

macro_rules! scalar {
    ($($name:ident: $ty:ty),*) => {
        $(fn $name<E: de::Error>(mut self, _: $ty) -> Result<(), E> {
            self.one()
        })*
    };
}

impl<'de> Visitor<'de> for Counter<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    scalar!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str,
            visit_i128: i128, visit_u128: u128);

    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        self.one()
    }

    fn visit_none<E: de::Error>(mut self) -> Result<(), E> {
        self.one()
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.one()?;
        while seq
            .next_element_seed(Counter {
                count: &mut *self.count,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.one()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Counter {
                count: &mut *self.count,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(body: &[u8]) -> usize {
        let mut count = 0;
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        Counter { count: &mut count }
            .deserialize(&mut deserializer)
            .expect("valid JSON");
        count
    }

    #[test]
    fn values_are_counted_without_building_them() {
        // The object, the array, 1, 2, the inner object, null, "d".
        assert_eq!(count(br#"{"a": [1, 2, {"b": null}], "c": "d"}"#), 7);
    }

    #[test]
    fn a_body_with_too_many_values_is_refused_before_it_is_built() {
        let array = vec!["0"; MAX_JSON_VALUES + 1].join(",");
        let body = format!(r#"{{"request": {{"object": [{array}]}}}}"#);
        assert!(check_values(body.as_bytes()).is_err());
        let under = vec!["0"; MAX_JSON_VALUES - 3].join(",");
        let body = format!(r#"{{"request": {{"object": [{under}]}}}}"#);
        assert_eq!(count(body.as_bytes()), MAX_JSON_VALUES);
        assert!(check_values(body.as_bytes()).is_ok());
    }

    #[test]
    fn broken_json_is_left_to_the_parser() {
        assert!(check_values(b"{\"a\": ").is_ok());
    }

    #[test]
    fn a_review_is_charged_for_its_body_and_its_values() {
        assert_eq!(review_cost(1000), 20_000 + 500 * 512);
        assert_eq!(review_cost(3 << 20), (3 << 20) * 20 + MAX_JSON_VALUES * 512);
    }
}
