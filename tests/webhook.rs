//! `iredmail-ports serve` end to end: the built binary on loopback with rcgen
//! certificates, a rustls client, and AdmissionReview bodies as the API server sends them
//! (tests/fixtures/webhook/). `--watch` runs against a small fake Kubernetes API on
//! loopback that answers the reflectors' list, then holds their watch open.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::{Value, json};

#[path = "common/fake_api.rs"]
#[allow(dead_code)] // the cluster tests use the rest of the fake API
mod fake_api;

use fake_api::{Cluster, Failing, FakeApi, TOKEN};

/// Without `--watch`, what a review of the MariaDB Service says it could not check.
const MYSQL_NOTE: &str = "iredmail-ports runs without --watch: network-policy-missing was not \
                          checked on Service/mail/mariadb, it needs the rest of the namespace";
const MYSQL_LB: &str = "internal-port-exposed (error) on Service/mail/mariadb: MySQL/MariaDB 3306 \
                        is reachable from outside the cluster through a LoadBalancer Service; \
                        iRedMail keeps it on 127.0.0.1";

// ---------------------------------------------------------------------------------------
// Certificates, the server process, the client
// ---------------------------------------------------------------------------------------

/// A CA and the server certificate files it signed, in a temporary directory.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    dir: tempfile::TempDir,
}

/// One server certificate: PEM files' content and the DER the client sees.
struct Issued {
    cert_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "iredmail-ports test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let pki = Pki {
            ca,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        pki.install(&pki.issue());
        pki
    }

    /// A new server certificate for localhost and 127.0.0.1, with a new key.
    fn issue(&self) -> Issued {
        let key = KeyPair::generate().expect("server key");
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let cert = CertificateParams::new(names)
            .expect("server params")
            .signed_by(&key, &self.ca)
            .expect("server certificate");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    fn cert_path(&self) -> PathBuf {
        self.dir.path().join("tls.crt")
    }

    fn key_path(&self) -> PathBuf {
        self.dir.path().join("tls.key")
    }

    /// Writes the files as a rotation does: each replaced whole by a rename, one after
    /// the other, so for a moment the key does not match the certificate.
    fn install(&self, issued: &Issued) {
        for (path, text) in [
            (self.cert_path(), &issued.cert_pem),
            (self.key_path(), &issued.key_pem),
        ] {
            let fresh = path.with_extension("new");
            std::fs::write(&fresh, text).expect("write TLS file");
            std::fs::rename(&fresh, &path).expect("rename TLS file");
        }
    }

    fn ca_pem(&self) -> String {
        self.ca.pem()
    }
}

/// The `serve` process; killed when dropped.
struct Webhook {
    child: Child,
    address: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
    pki: Pki,
}

impl Webhook {
    fn start(args: &[&str]) -> Webhook {
        Webhook::start_with(Pki::new(), args, &[])
    }

    fn start_with(pki: Pki, args: &[&str], env: &[(&str, &Path)]) -> Webhook {
        let mut command = Command::new(env!("CARGO_BIN_EXE_iredmail-ports"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
            .arg(pki.cert_path())
            .arg("--tls-key")
            .arg(pki.key_path())
            .args(args)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start iredmail-ports serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, address) = mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = listening_address(&line) {
                    let _ = found.send(address);
                }
                lines.lock().expect("log lock").push(line);
            }
        });
        let address = match address.recv_timeout(Duration::from_secs(30)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not listen: {:?}", log.lock().expect("log"));
            }
        };
        let client = client(&pki.ca_pem(), |b| b);
        Webhook {
            child,
            address,
            log,
            client,
            pki,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.address.port())
    }

    /// Posts a body to /validate: the status and the body (JSON when it is JSON).
    async fn post(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        post(&self.client, &self.url("/validate"), body).await
    }

    /// Posts a review and returns its `response`, checking the envelope and the uid.
    async fn review(&self, review: &Value) -> Value {
        let (status, body) = self.post(review.to_string()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(body["kind"], "AdmissionReview");
        let response = body["response"].clone();
        assert_eq!(
            response["uid"], review["request"]["uid"],
            "the uid is echoed"
        );
        response
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self.client.get(self.url(path)).send().await.expect("GET");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// The value of one metric line (`name{labels}`), if present.
    async fn metric(&self, series: &str) -> Option<f64> {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, 200);
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    fn log_lines(&self) -> Vec<Value> {
        self.log
            .lock()
            .expect("log lock")
            .iter()
            .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
            .collect()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening_address(line: &str) -> Option<SocketAddr> {
    let value: Value = serde_json::from_str(line).ok()?;
    if value["fields"]["message"] != "listening" {
        return None;
    }
    value["fields"]["address"].as_str()?.parse().ok()
}

fn client(
    ca_pem: &str,
    tune: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA for reqwest");
    tune(
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .timeout(Duration::from_secs(20)),
    )
    .build()
    .expect("client")
}

async fn post(client: &reqwest::Client, url: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST /validate");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webhook")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

fn with_uid(mut review: Value, uid: &str) -> Value {
    review["request"]["uid"] = json!(uid);
    review
}

fn warnings(response: &Value) -> Vec<String> {
    response["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Modes
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_denies_with_the_findings_in_the_status_message() {
    let webhook = Webhook::start(&["--mode", "enforce"]);
    let response = webhook
        .review(&fixture("create-service-loadbalancer-mysql.json"))
        .await;
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    assert_eq!(response["status"]["reason"], "Forbidden");
    assert_eq!(
        response["status"]["message"],
        format!(
            "Service/mail/mariadb has 1 iredmail-ports finding at severity error or above:\n- \
             {MYSQL_LB}"
        )
    );
    assert_eq!(warnings(&response), [MYSQL_NOTE]);

    let response = webhook
        .review(&fixture("create-deployment-hostport-ldap.json"))
        .await;
    assert_eq!(response["allowed"], false);
    assert_eq!(
        response["status"]["message"],
        "Deployment/mail/openldap has 1 iredmail-ports finding at severity error or above:\n- \
         internal-port-exposed (error) on Deployment/mail/openldap: OpenLDAP 389 is reachable \
         from outside the cluster through a hostPort; the catalogue allows it no wider than \
         `internal`"
    );
    assert_eq!(
        webhook
            .metric(r#"iredmail_ports_webhook_requests_total{operation="CREATE",result="denied",dry_run="false"}"#)
            .await,
        Some(2.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_allows_a_clean_object_and_warns_below_the_threshold() {
    let webhook = Webhook::start(&[]);
    let clean = webhook
        .review(&fixture("create-service-loadbalancer-mail.json"))
        .await;
    assert_eq!(clean["allowed"], true);
    // Nothing wrong with it, but it publishes the required ports and 443, which the
    // rules of the namespace would judge.
    assert_eq!(
        warnings(&clean),
        [
            "iredmail-ports runs without --watch: missing-port, eas-unreachable, eas-insecure, \
          eas-timeout were not checked on Service/mail/iredmail, they need the rest of the \
          namespace"
        ]
    );

    // A Pod a ReplicaSet creates has only generateName; host-network is a warning.
    let pod = webhook
        .review(&fixture("create-pod-hostnetwork-generatename.json"))
        .await;
    assert_eq!(pod["allowed"], true);
    assert_eq!(
        warnings(&pod),
        [
            "host-network (warning) on Pod/mail/iredmail-7d9f8b6c5-: Pod/mail/iredmail-7d9f8b6c5- \
             runs on the host's network: ports 25 reach the node's addresses directly, whatever \
             Services or published ports say",
            "iredmail-ports runs without --watch: missing-port was not checked on \
             Pod/mail/iredmail-7d9f8b6c5-, it needs the rest of the namespace"
        ]
    );

    // --fail-on warning makes the same finding deny.
    let strict = Webhook::start(&["--fail-on", "warning"]);
    let pod = strict
        .review(&fixture("create-pod-hostnetwork-generatename.json"))
        .await;
    assert_eq!(pod["allowed"], false);
    assert!(
        pod["status"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(
                "Pod/mail/iredmail-7d9f8b6c5- has 1 iredmail-ports \
                                            finding at severity warning or above:\n- host-network"
            )),
        "{pod}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_allows_with_one_warning_per_finding() {
    let webhook = Webhook::start(&["--mode", "warn"]);
    let response = webhook
        .review(&fixture("create-service-loadbalancer-mysql.json"))
        .await;
    assert_eq!(response["allowed"], true);
    assert_eq!(warnings(&response), [MYSQL_LB, MYSQL_NOTE]);
    assert_eq!(
        webhook
            .metric(r#"iredmail_ports_webhook_requests_total{operation="CREATE",result="warned",dry_run="false"}"#)
            .await,
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_allows_silently_and_only_logs_and_counts() {
    let webhook = Webhook::start(&["--mode", "audit"]);
    let response = webhook
        .review(&fixture("create-service-loadbalancer-mysql.json"))
        .await;
    assert_eq!(response["allowed"], true);
    assert_eq!(response["warnings"], Value::Null);
    assert_eq!(
        webhook
            .metric(r#"iredmail_ports_webhook_findings_total{rule="internal-port-exposed",severity="error"}"#)
            .await,
        Some(1.0)
    );
    assert_eq!(
        webhook
            .metric(r#"iredmail_ports_webhook_requests_total{operation="CREATE",result="audited",dry_run="false"}"#)
            .await,
        Some(1.0)
    );
    let logged = webhook.log_lines();
    let finding = logged
        .iter()
        .find(|line| line["fields"]["message"] == "finding")
        .expect("a finding is logged");
    assert_eq!(finding["level"], "INFO");
    assert_eq!(
        finding["fields"]["uid"],
        "b3a1c2d4-0001-4e5f-8a9b-0c1d2e3f4a5b"
    );
    assert_eq!(finding["fields"]["rule"], "internal-port-exposed");
    assert_eq!(finding["fields"]["object"], "Service/mail/mariadb");
    assert_eq!(finding["fields"]["port"], 3306);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_is_answered_alike_without_counting_its_findings() {
    let webhook = Webhook::start(&[]);
    let mut dry = fixture("create-service-loadbalancer-mysql.json");
    dry["request"]["dryRun"] = json!(true);
    let dry_response = webhook.review(&dry).await;
    let findings =
        r#"iredmail_ports_webhook_findings_total{rule="internal-port-exposed",severity="error"}"#;
    assert_eq!(webhook.metric(findings).await, None);
    assert_eq!(
        webhook
            .metric(r#"iredmail_ports_webhook_requests_total{operation="CREATE",result="denied",dry_run="true"}"#)
            .await,
        Some(1.0)
    );
    let real_response = webhook
        .review(&fixture("create-service-loadbalancer-mysql.json"))
        .await;
    assert_eq!(dry_response, real_response);
    assert_eq!(webhook.metric(findings).await, Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_is_judged_on_the_new_object() {
    let webhook = Webhook::start(&[]);
    let widened = webhook
        .review(&fixture("update-service-mysql-to-loadbalancer.json"))
        .await;
    assert_eq!(widened["allowed"], false);
    assert!(
        widened["status"]["message"]
            .as_str()
            .is_some_and(|m| m.ends_with(MYSQL_LB)),
        "{widened}"
    );
    let narrowed = webhook
        .review(&fixture("update-service-mysql-to-clusterip.json"))
        .await;
    assert_eq!(narrowed["allowed"], true);
    assert_eq!(warnings(&narrowed), [MYSQL_NOTE]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_watch_a_delete_and_other_kinds_are_let_through() {
    let webhook = Webhook::start(&[]);
    let delete = webhook
        .review(&fixture("delete-networkpolicy-mariadb.json"))
        .await;
    assert_eq!(delete["allowed"], true);
    assert_eq!(
        warnings(&delete),
        [
            "iredmail-ports runs without --watch: the DELETE of NetworkPolicy/mail/mariadb-isolation \
             was not judged, it needs the rest of the namespace"
        ]
    );
    let configmap = webhook.review(&fixture("create-configmap.json")).await;
    assert_eq!(configmap["allowed"], true);
    assert_eq!(configmap["warnings"], Value::Null);
    assert_eq!(
        webhook
            .metric(r#"iredmail_ports_webhook_requests_total{operation="CREATE",result="skipped",dry_run="false"}"#)
            .await,
        Some(1.0)
    );
}

// ---------------------------------------------------------------------------------------
// Bad requests
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_4xx_with_the_reason_and_the_server_goes_on() {
    let webhook = Webhook::start(&[]);
    let good = fixture("create-service-loadbalancer-mysql.json");

    let (status, body) = webhook.post("{\"apiVersion\": ").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "the body is not a valid AdmissionReview: EOF while parsing a value at line 1 column 15"
    );

    let mut beta = good.clone();
    beta["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (status, body) = webhook.post(beta.to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "expected apiVersion `admission.k8s.io/v1`, got `admission.k8s.io/v1beta1`"
    );

    let mut conversion = good.clone();
    conversion["kind"] = json!("ConversionReview");
    let (status, body) = webhook.post(conversion.to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "expected kind `AdmissionReview`, got `ConversionReview`"
    );

    let mut no_request = good.clone();
    no_request
        .as_object_mut()
        .expect("object")
        .remove("request");
    let (status, body) = webhook.post(no_request.to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(body, "the AdmissionReview has no `request`");

    let mut wrong_type = good.clone();
    wrong_type["request"]["uid"] = json!(42);
    let (status, body) = webhook.post(wrong_type.to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "the body is not a valid AdmissionReview: at `request.uid`: invalid type: integer `42`, \
         expected a string at line 1 column 80"
    );

    let mut no_object = good.clone();
    no_object["request"]["object"] = Value::Null;
    let (status, body) = webhook.post(no_object.to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(body, "a CREATE request for Service must carry `object`");

    // 4 MiB: more than the API server would ever send.
    let mut oversize = good.clone();
    oversize["request"]["object"]["metadata"]["annotations"] =
        json!({"padding": "x".repeat(4 * 1024 * 1024)});
    let (status, body) = webhook.post(oversize.to_string()).await;
    assert_eq!(status, 413);
    assert_eq!(
        body,
        "the AdmissionReview is larger than 3145728 bytes (3 MiB), the API server's own limit \
         for a request"
    );

    let (status, _) = webhook.get("/validate").await;
    assert_eq!(status, 405);
    let (status, body) = webhook.get("/nothing-here").await;
    assert_eq!(status, 404);
    assert!(body.contains("POST /validate"), "{body}");

    // The listener survived all of it.
    let response = webhook.review(&good).await;
    assert_eq!(response["allowed"], false);
    assert_eq!(
        webhook
            .metric(r#"iredmail_ports_webhook_requests_total{operation="unknown",result="invalid",dry_run="false"}"#)
            .await,
        Some(7.0)
    );
}

// ---------------------------------------------------------------------------------------
// Operations: protocols, probes, concurrency, certificate reload, shutdown
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_and_http2_are_both_served_and_the_probes_answer() {
    let webhook = Webhook::start(&[]);
    let review = fixture("create-service-loadbalancer-mail.json").to_string();
    let h2 = webhook
        .client
        .post(webhook.url("/validate"))
        .body(review.clone())
        .send()
        .await
        .expect("h2 POST");
    assert_eq!(h2.version(), reqwest::Version::HTTP_2, "ALPN picks h2");
    assert_eq!(h2.status(), 200);
    let h1_client = client(&webhook.pki.ca_pem(), |b| b.http1_only());
    let h1 = h1_client
        .post(webhook.url("/validate"))
        .body(review)
        .send()
        .await
        .expect("HTTP/1.1 POST");
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);
    assert_eq!(h1.status(), 200);

    assert_eq!(webhook.get("/healthz").await, (200, "ok\n".to_string()));
    assert_eq!(webhook.get("/readyz").await, (200, "ready\n".to_string()));
    let metrics = webhook
        .client
        .get(webhook.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(
        metrics.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = metrics.text().await.expect("metrics text");
    assert!(text.contains("# TYPE iredmail_ports_webhook_request_duration_seconds histogram"));
    assert!(text.contains("iredmail_ports_webhook_request_duration_seconds_count 2"));
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reviews_each_get_their_own_answer() {
    let webhook = Arc::new(Webhook::start(&[]));
    let bad = fixture("create-service-loadbalancer-mysql.json");
    let good = fixture("create-service-loadbalancer-mail.json");
    let mut tasks = Vec::new();
    for i in 0..200 {
        let webhook = webhook.clone();
        let (review, allowed) = if i % 2 == 0 {
            (bad.clone(), false)
        } else {
            (good.clone(), true)
        };
        let review = with_uid(review, &format!("concurrent-{i}"));
        tasks.push(tokio::spawn(async move {
            let response = webhook.review(&review).await;
            assert_eq!(response["allowed"], allowed, "{i}");
        }));
    }
    for task in tasks {
        task.await.expect("review task");
    }
    let series = |result: &str| {
        format!(
            r#"iredmail_ports_webhook_requests_total{{operation="CREATE",result="{result}",dry_run="false"}}"#
        )
    };
    assert_eq!(webhook.metric(&series("denied")).await, Some(100.0));
    assert_eq!(webhook.metric(&series("allowed")).await, Some(100.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_certificate_is_served_without_failing_a_request() {
    let webhook = Arc::new(Webhook::start(&["--cert-poll-interval", "1"]));
    let first = peer_certificate(&webhook).await;

    // Traffic on one keep-alive client for the whole rotation.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let traffic = {
        let (webhook, stop, answered) = (webhook.clone(), stop.clone(), answered.clone());
        tokio::spawn(async move {
            let review = fixture("create-service-loadbalancer-mysql.json");
            while !stop.load(Ordering::Relaxed) {
                let response = webhook.review(&review).await;
                assert_eq!(response["allowed"], false);
                answered.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let next = webhook.pki.issue();
    webhook.pki.install(&next);

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let served = peer_certificate(&webhook).await;
        if served == next.der {
            break;
        }
        assert_eq!(
            served, first,
            "only the old or the new certificate is served"
        );
        assert!(
            Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    traffic
        .await
        .expect("no request failed during the rotation");
    assert!(answered.load(Ordering::Relaxed) > 10);
    assert_eq!(
        webhook
            .metric(r#"iredmail_ports_webhook_certificate_reloads_total{result="success"}"#)
            .await,
        Some(1.0)
    );
}

/// The certificate a new connection is served.
async fn peer_certificate(webhook: &Webhook) -> Vec<u8> {
    let fresh = client(&webhook.pki.ca_pem(), |b| {
        b.tls_info(true).pool_max_idle_per_host(0)
    });
    let response = fresh
        .get(webhook.url("/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    let info = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .expect("TLS info");
    info.peer_certificate().expect("a certificate").to_vec()
}

#[test]
fn sigterm_lets_the_review_in_flight_finish() {
    let mut webhook = Webhook::start(&[]);
    let body = fixture("create-service-loadbalancer-mysql.json").to_string();
    let (head, tail) = body.as_bytes().split_at(body.len() / 2);

    let mut tls = tls_stream(&webhook);
    let request_head = format!(
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    tls.write_all(request_head.as_bytes()).expect("send head");
    tls.write_all(head).expect("send half the body");
    tls.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));

    let status = Command::new("kill")
        .args(["-TERM", &webhook.child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    // The listener closes at once; the review in flight goes on.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(webhook.address).is_ok() {
        assert!(Instant::now() < deadline, "the listener stayed open");
        std::thread::sleep(Duration::from_millis(50));
    }
    tls.write_all(tail).expect("send the rest of the body");
    tls.flush().expect("flush");

    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let json = response.split("\r\n\r\n").nth(1).expect("a body");
    let review: Value = serde_json::from_str(json).expect("an AdmissionReview");
    assert_eq!(
        review["response"]["uid"],
        "b3a1c2d4-0001-4e5f-8a9b-0c1d2e3f4a5b"
    );
    assert_eq!(review["response"]["allowed"], false);

    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = webhook.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let messages: Vec<String> = webhook
        .log_lines()
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str().map(String::from))
        .collect();
    assert!(messages.contains(
        &"shutting down: no new connections, finishing the reviews in flight".to_string()
    ));
    assert_eq!(messages.last().map(String::as_str), Some("stopped"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_that_outlasts_the_request_timeout_gets_503_and_the_server_goes_on() {
    let webhook = Webhook::start(&["--request-timeout", "1"]);
    let body = fixture("create-service-loadbalancer-mysql.json").to_string();
    let started = Instant::now();
    // A client that stops halfway through its body holds the review open.
    let response = tokio::task::block_in_place(|| {
        let mut tls = tls_stream(&webhook);
        let head = format!(
            "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        tls.write_all(head.as_bytes()).expect("send head");
        tls.write_all(&body.as_bytes()[..100])
            .expect("send some of the body");
        tls.flush().expect("flush");
        let mut response = Vec::new();
        let _ = tls.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    });
    assert!(
        response.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{response}"
    );
    assert!(
        response.ends_with("\r\n\r\nthe review took longer than 1 s (--request-timeout)"),
        "{response}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        webhook
            .metric(r#"iredmail_ports_webhook_requests_total{operation="unknown",result="timeout",dry_run="false"}"#)
            .await,
        Some(1.0)
    );
    let response = webhook
        .review(&with_uid(body_value(&body), "after-timeout"))
        .await;
    assert_eq!(response["allowed"], false);
}

fn body_value(body: &str) -> Value {
    serde_json::from_str(body).expect("JSON")
}

/// A blocking TLS connection to the server, HTTP/1.1 by ALPN.
fn tls_stream(webhook: &Webhook) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    tls_with_alpn(webhook, b"http/1.1")
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A blocking TLS connection offering one ALPN protocol; the handshake happens on first use.
fn tls_with_alpn(webhook: &Webhook, alpn: &[u8]) -> Tls {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            webhook.pki.ca.der().to_vec(),
        ))
        .expect("CA root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("server name");
    let connection = rustls::ClientConnection::new(Arc::new(config), name).expect("TLS client");
    let socket = TcpStream::connect(webhook.address).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    rustls::StreamOwned::new(connection, socket)
}

// ---------------------------------------------------------------------------------------
// --watch against a fake Kubernetes API
// ---------------------------------------------------------------------------------------

/// The mail namespace as the fake API lists it: MariaDB behind a ClusterIP, isolated by a
/// NetworkPolicy, and an old Policyd Service (removed-service) that nobody is changing.
fn cluster_objects() -> BTreeMap<&'static str, (&'static str, Vec<Value>)> {
    let meta = |name: &str| json!({"name": name, "namespace": "mail", "resourceVersion": "7", "uid": format!("uid-{name}")});
    let mut objects = BTreeMap::new();
    objects.insert(
        "/api/v1/namespaces",
        (
            "NamespaceList",
            vec![json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": "mail", "resourceVersion": "7",
                             "labels": {"kubernetes.io/metadata.name": "mail"}}})],
        ),
    );
    objects.insert(
        "/api/v1/services",
        (
            "ServiceList",
            vec![
                json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("mariadb"),
                    "spec": {"type": "ClusterIP", "selector": {"app": "mariadb"},
                             "ports": [{"name": "mysql", "port": 3306, "targetPort": 3306, "protocol": "TCP"}]}}),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("policyd"),
                    "spec": {"type": "ClusterIP", "selector": {"app": "policyd"},
                             "ports": [{"port": 10031, "protocol": "TCP"}]}}),
            ],
        ),
    );
    objects.insert(
        "/apis/apps/v1/deployments",
        (
            "DeploymentList",
            vec![json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("mariadb"),
                "spec": {"selector": {"matchLabels": {"app": "mariadb"}},
                         "template": {"metadata": {"labels": {"app": "mariadb"}},
                                      "spec": {"containers": [{"name": "mariadb", "image": "mariadb:11",
                                               "ports": [{"containerPort": 3306}]}]}}}})],
        ),
    );
    // A Pod its ReplicaSet owns: the cache leaves it out (the Deployment says the same).
    objects.insert(
        "/api/v1/pods",
        (
            "PodList",
            vec![json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "mariadb-5d8f-abcde", "namespace": "mail", "resourceVersion": "7",
                             "labels": {"app": "mariadb"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": "mariadb-5d8f", "uid": "uid-rs", "controller": true}]},
                "spec": {"hostNetwork": true,
                         "containers": [{"name": "mariadb", "image": "mariadb:11",
                                         "ports": [{"containerPort": 3306}]}]}})],
        ),
    );
    objects.insert(
        "/apis/networking.k8s.io/v1/networkpolicies",
        (
            "NetworkPolicyList",
            vec![fixture("delete-networkpolicy-mariadb.json")["request"]["oldObject"].clone()],
        ),
    );
    for (path, kind) in [
        ("/api/v1/configmaps", "ConfigMapList"),
        (
            "/api/v1/replicationcontrollers",
            "ReplicationControllerList",
        ),
        ("/apis/networking.k8s.io/v1/ingresses", "IngressList"),
        ("/apis/apps/v1/statefulsets", "StatefulSetList"),
        ("/apis/apps/v1/daemonsets", "DaemonSetList"),
        ("/apis/apps/v1/replicasets", "ReplicaSetList"),
        ("/apis/batch/v1/jobs", "JobList"),
        ("/apis/batch/v1/cronjobs", "CronJobList"),
    ] {
        objects.insert(path, (kind, Vec::new()));
    }
    objects
}

/// Serves `objects` as the API server does: a list, then a watch that stays open with no
/// events. The first list of Namespaces waits `delay`, so that readiness can be seen
/// following the caches.
async fn fake_api(delay: Duration) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::response::IntoResponse;

    let objects = Arc::new(cluster_objects());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let objects = objects.clone();
        let record = record.clone();
        async move {
            let uri = request.uri().clone();
            record.lock().expect("seen lock").push(uri.to_string());
            // Discovery of the custom resources: this cluster serves none.
            if uri.path() == "/apis" {
                let groups = json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []});
                return ([("content-type", "application/json")], groups.to_string())
                    .into_response();
            }
            let Some((kind, items)) = objects.get(uri.path()) else {
                return (axum::http::StatusCode::NOT_FOUND, "{}").into_response();
            };
            if uri.query().is_some_and(|q| q.contains("watch=true")) {
                let never = futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
                return (
                    [("content-type", "application/json")],
                    Body::from_stream(never),
                )
                    .into_response();
            }
            if uri.path() == "/api/v1/namespaces" {
                tokio::time::sleep(delay).await;
            }
            let list = json!({"apiVersion": "v1", "kind": kind,
                              "metadata": {"resourceVersion": "7"}, "items": items});
            ([("content-type", "application/json")], list.to_string()).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake API");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (address, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_watch_the_namespace_decides_and_old_problems_do_not_block() {
    let (api, seen) = fake_api(Duration::from_millis(1500)).await;
    let pki = Pki::new();
    let kubeconfig = pki.dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: \
             http://{api}\nusers:\n- name: fake\n  user: {{}}\ncontexts:\n- name: fake\n  \
             context:\n    cluster: fake\n    user: fake\ncurrent-context: fake\n"
        ),
    )
    .expect("kubeconfig");
    let webhook = Webhook::start_with(
        pki,
        &["--watch", "--fail-on", "warning"],
        &[("KUBECONFIG", &kubeconfig)],
    );

    let (status, body) = webhook.get("/readyz").await;
    assert_eq!(
        (status, body.as_str()),
        (
            503,
            "not ready: the --watch caches have not listed the cluster yet\n"
        )
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while webhook.get("/readyz").await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "never ready; the fake API saw {:?}",
            seen.lock().expect("seen")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Removing the policy opens MariaDB to the cluster: judged on the namespace.
    let delete = webhook
        .review(&fixture("delete-networkpolicy-mariadb.json"))
        .await;
    assert_eq!(delete["allowed"], false, "{delete}");
    assert_eq!(
        delete["status"]["message"],
        "NetworkPolicy/mail/mariadb-isolation has 1 iredmail-ports finding at severity warning or \
         above:\n- network-policy-missing (warning) on Service/mail/mariadb: MySQL/MariaDB 3306 is \
         open to every pod in the cluster through a ClusterIP Service: no ingress NetworkPolicy \
         selects Deployment/mail/mariadb; it belongs to the mail stack only"
    );
    assert_eq!(delete["warnings"], Value::Null, "no note with --watch");

    // Opening it to any address replaces the cached policy.
    let open = webhook
        .review(&fixture("update-networkpolicy-mariadb-open.json"))
        .await;
    assert_eq!(open["allowed"], false, "{open}");
    assert_eq!(
        open["status"]["message"],
        "NetworkPolicy/mail/mariadb-isolation has 1 iredmail-ports finding at severity warning or \
         above:\n- network-policy-too-open (error) on NetworkPolicy/mail/mariadb-isolation: \
         NetworkPolicy/mail/mariadb-isolation admits MySQL/MariaDB 3306 of \
         Deployment/mail/mariadb from any address; it belongs to the mail stack only"
    );

    // Admitting the monitoring namespace takes 3306 outside the mail stack: the same error
    // as a private host address in Compose, at the policy's `from` entry.
    let mut other_namespace = with_uid(
        fixture("update-networkpolicy-mariadb-open.json"),
        "f00dcafe-0000-4000-8000-000000000012",
    );
    other_namespace["request"]["object"]["spec"]["ingress"][0]["from"] = json!([
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]);
    let other = webhook.review(&other_namespace).await;
    assert_eq!(other["allowed"], false, "{other}");
    assert_eq!(
        other["status"]["message"],
        "NetworkPolicy/mail/mariadb-isolation has 1 iredmail-ports finding at severity warning or \
         above:\n- internal-port-exposed (error) on NetworkPolicy/mail/mariadb-isolation: \
         MySQL/MariaDB 3306 of Deployment/mail/mariadb is reachable from outside its \
         namespace: NetworkPolicy/mail/mariadb-isolation admits it from other namespaces; it \
         belongs to the mail stack only"
    );

    // The pod network is flat: memcached with no Service and no policy is open to every
    // pod of the cluster.
    let memcached = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "f00dcafe-0000-4000-8000-000000000013",
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "name": "memcached", "namespace": "mail", "operation": "CREATE",
            "userInfo": {"username": "kubernetes-admin"},
            "object": {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "memcached", "namespace": "mail"},
                "spec": {"selector": {"matchLabels": {"app": "memcached"}},
                    "template": {"metadata": {"labels": {"app": "memcached"}},
                        "spec": {"containers": [{"name": "memcached", "image": "memcached:1.6",
                            "ports": [{"containerPort": 11211}]}]}}}},
            "oldObject": null, "dryRun": false
        }
    });
    let flat = webhook.review(&memcached).await;
    assert_eq!(flat["allowed"], false, "{flat}");
    assert_eq!(
        flat["status"]["message"],
        "Deployment/mail/memcached has 1 iredmail-ports finding at severity warning or above:\n- \
         network-policy-missing (warning) on Deployment/mail/memcached: memcached 11211 of \
         Deployment/mail/memcached is open to every pod in the cluster: no ingress \
         NetworkPolicy selects its pods, and a pod's ports are reachable over the pod network \
         without any Service; it belongs to the mail stack only"
    );

    // The namespace already has a removed-service warning (Policyd) and the owned Pod on
    // the host network is not in the cache: neither blocks an unrelated, clean change.
    let clean = webhook
        .review(&fixture("create-service-loadbalancer-mail.json"))
        .await;
    assert_eq!(clean["allowed"], true, "{clean}");
    assert_eq!(clean["warnings"], Value::Null);

    let cached = webhook
        .metric("iredmail_ports_webhook_cached_objects")
        .await;
    assert_eq!(
        cached,
        Some(5.0),
        "namespace, 2 services, deployment, policy"
    );
}

/// The whole answer, for a clean object (POP3 on a LoadBalancer: nothing to say, not even
/// about the rules that need the namespace, none of which judges it), a dirty one, and
/// an Ingress that sends `/` to `mariadb:3306` while that Service is not in the review
/// (judged by the port it names), in each mode; and the notice said once at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_bodies_for_clean_dirty_and_route_only_reviews_in_each_mode() {
    let route = "internal-port-exposed (error) on Ingress/mail/webmail: MySQL/MariaDB 3306 is \
                 reachable from outside the cluster through an Ingress path `/` on port 443; \
                 iRedMail keeps it on 127.0.0.1; no HTTP path may be routed to it";
    let route_note = "iredmail-ports runs without --watch: eas-unreachable, eas-insecure, \
                      eas-timeout, network-policy-missing were not checked on \
                      Ingress/mail/webmail, they need the rest of the namespace";
    let answer = |uid: &str, response: Value| {
        let mut response = response;
        response["uid"] = json!(uid);
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
    };
    let denied = |message: String| json!({"status": "Failure", "code": 403, "message": message, "reason": "Forbidden"});
    let clean_uid = "b3a1c2d4-0010-4e5f-8a9b-0c1d2e3f4a5b";
    let dirty_uid = "b3a1c2d4-0001-4e5f-8a9b-0c1d2e3f4a5b";
    let route_uid = "b3a1c2d4-0011-4e5f-8a9b-0c1d2e3f4a5b";
    let clean = answer(clean_uid, json!({"allowed": true, "status": {}}));
    for mode in ["enforce", "warn", "audit"] {
        let (dirty, routed) = match mode {
            "enforce" => (
                json!({"allowed": false, "warnings": [MYSQL_NOTE], "status": denied(format!(
                    "Service/mail/mariadb has 1 iredmail-ports finding at severity error or \
                     above:\n- {MYSQL_LB}"))}),
                json!({"allowed": false, "warnings": [route_note], "status": denied(format!(
                    "Ingress/mail/webmail has 1 iredmail-ports finding at severity error or \
                     above:\n- {route}"))}),
            ),
            "warn" => (
                json!({"allowed": true, "status": {}, "warnings": [MYSQL_LB, MYSQL_NOTE]}),
                json!({"allowed": true, "status": {}, "warnings": [route, route_note]}),
            ),
            _ => (
                json!({"allowed": true, "status": {}}),
                json!({"allowed": true, "status": {}}),
            ),
        };
        let webhook = Webhook::start(&["--mode", mode]);
        for (name, expected) in [
            ("create-service-loadbalancer-pop3.json", clean.clone()),
            (
                "create-service-loadbalancer-mysql.json",
                answer(dirty_uid, dirty),
            ),
            (
                "create-ingress-root-to-mariadb.json",
                answer(route_uid, routed),
            ),
        ] {
            let (status, body) = webhook.post(fixture(name).to_string()).await;
            assert_eq!(status, 200, "{mode} {name}");
            assert_eq!(body, expected, "{mode} {name}");
        }
        let notices: Vec<Value> = webhook
            .log_lines()
            .into_iter()
            .filter(|line| line["level"] == "WARN")
            .map(|line| line["fields"]["message"].clone())
            .collect();
        assert_eq!(
            notices,
            [json!(
                "iredmail-ports runs without --watch: missing-port, eas-unreachable, \
                 eas-insecure, eas-timeout, network-policy-missing, network-policy-too-open are \
                 not checked, they need the rest of the namespace"
            )],
            "said once, at start ({mode})"
        );
        for rule in [
            "missing-port",
            "eas-unreachable",
            "eas-insecure",
            "eas-timeout",
            "network-policy-missing",
            "network-policy-too-open",
        ] {
            let series = format!(r#"iredmail_ports_webhook_rules_skipped{{rule="{rule}"}}"#);
            assert_eq!(webhook.metric(&series).await, Some(1.0), "{series}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Hostile clients: slow, idle and too many connections, oversized and exploding bodies
// ---------------------------------------------------------------------------------------

/// When the server closes a connection: `Some(elapsed since since)` if it did before
/// `deadline`, reading (and discarding) whatever it still sends.
fn closed_by(
    socket: &TcpStream,
    reader: &mut dyn Read,
    since: Instant,
    deadline: Instant,
) -> Option<Duration> {
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        socket
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("read timeout");
        match reader.read(&mut buffer) {
            Ok(0) => return Some(since.elapsed()),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(_) => return Some(since.elapsed()),
        }
    }
}

/// Reads an HTTP/1.1 response up to and including `until`.
fn read_until(tls: &mut Tls, until: &str) -> String {
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&text).contains(until) {
        match tls.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// The server's peak resident memory (VmHWM), in MiB.
fn peak_rss_mib(webhook: &Webhook) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", webhook.child.id()))
        .expect("/proc status");
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib / 1024.0
}

/// An HTTP/2 client preface, its SETTINGS and one `GET /` on stream 1 (HPACK static table
/// entries only), written by hand so that the connection is then left idle.
const H2_ONE_GET: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\
    \x00\x00\x00\x04\x00\x00\x00\x00\x00\
    \x00\x00\x03\x01\x05\x00\x00\x00\x01\x82\x87\x84";

/// Watches a connection from now on, in its own thread: when the server closes it, if it
/// does within `limit`.
fn watch_close<R: Read + Send + 'static>(
    socket: &TcpStream,
    mut reader: R,
    limit: Duration,
) -> std::thread::JoinHandle<Option<Duration>> {
    let socket = socket.try_clone().expect("clone the socket");
    let since = Instant::now();
    std::thread::spawn(move || closed_by(&socket, &mut reader, since, since + limit))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_within_the_timeouts_while_healthz_answers() {
    // Long enough for a TLS handshake while the other tests load the machine; a cap above
    // the 240 connections.
    let webhook = Webhook::start(&[
        "--header-read-timeout",
        "2",
        "--idle-timeout",
        "3",
        "--max-connections",
        "512",
    ]);
    let limit = Duration::from_secs(6);
    let (silent, slow, idle_h1, idle_h2) = tokio::task::block_in_place(|| {
        // TCP only: never starts its TLS handshake.
        let silent: Vec<_> = (0..100)
            .map(|_| {
                let socket = TcpStream::connect(webhook.address).expect("connect");
                watch_close(&socket.try_clone().expect("clone"), socket, limit)
            })
            .collect();
        // Slowloris: half a header, then nothing.
        let slow: Vec<_> = (0..100)
            .map(|_| {
                let mut tls = tls_stream(&webhook);
                tls.write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-")
                    .expect("half a header");
                tls.flush().expect("flush");
                let socket = tls.sock.try_clone().expect("clone");
                watch_close(&socket, tls, limit)
            })
            .collect();
        // One request each, then idle.
        let idle_h1: Vec<_> = (0..20)
            .map(|_| {
                let mut tls = tls_stream(&webhook);
                tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .expect("GET");
                let answer = read_until(&mut tls, "ok\n");
                assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
                let socket = tls.sock.try_clone().expect("clone");
                watch_close(&socket, tls, limit)
            })
            .collect();
        let idle_h2: Vec<_> = (0..20)
            .map(|_| {
                let mut tls = tls_with_alpn(&webhook, b"h2");
                tls.write_all(H2_ONE_GET).expect("h2 GET");
                tls.flush().expect("flush");
                let socket = tls.sock.try_clone().expect("clone");
                watch_close(&socket, tls, limit)
            })
            .collect();
        (silent, slow, idle_h1, idle_h2)
    });
    // All of them open, the probes still answer, at once.
    let probe = Instant::now();
    assert_eq!(webhook.get("/healthz").await, (200, "ok\n".to_string()));
    assert!(
        probe.elapsed() < Duration::from_secs(1),
        "{:?}",
        probe.elapsed()
    );

    let closed = |watches: Vec<std::thread::JoinHandle<Option<Duration>>>, what: &str| {
        watches
            .into_iter()
            .map(|w| {
                w.join()
                    .expect("watch")
                    .unwrap_or_else(|| panic!("{what} is closed"))
            })
            .collect::<Vec<Duration>>()
    };
    tokio::task::block_in_place(|| {
        for after in closed(silent, "a connection without a TLS handshake") {
            assert!(after >= Duration::from_millis(1900), "{after:?}");
        }
        for after in closed(slow, "a connection with half a header") {
            assert!(after >= Duration::from_millis(1900), "{after:?}");
        }
        closed(idle_h1, "an idle HTTP/1.1 connection");
        for after in closed(idle_h2, "an idle HTTP/2 connection") {
            // Its request was answered: the idle timer closed it, not the first request's.
            assert!(after >= Duration::from_millis(2900), "{after:?}");
        }
    });
    assert_eq!(
        webhook.metric("iredmail_ports_webhook_connections").await,
        Some(1.0),
        "only the scrape's own connection is left"
    );
}

/// A full cap makes room by closing the oldest connection that has used half of
/// `--header-read-timeout` without sending a request (a slowloris, a silent TLS peer): the
/// API server's new connection gets in at once. With every open connection having sent a request, a new one is refused
/// at once, and the cap frees up when one closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_cap_a_connection_without_a_request_makes_room_else_the_new_one_is_refused() {
    // Evictable after half the header-read timeout, 3 s; the timeout itself (6 s) leaves
    // room for the evictions to come first on a loaded machine.
    let webhook = Webhook::start(&["--max-connections", "4", "--header-read-timeout", "6"]);
    let get_healthz = |tls: &mut Tls| {
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .expect("GET");
        let answer = read_until(tls, "ok\n");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    };
    let (slow_closed, silent_closed, mut held) = tokio::task::block_in_place(|| {
        // The oldest two: a TLS record header, then nothing (a slowloris); a TLS
        // handshake, then nothing.
        let mut slow = TcpStream::connect(webhook.address).expect("connect");
        slow.write_all(&[0x16, 0x03, 0x01])
            .expect("a record header");
        let socket = slow.try_clone().expect("clone");
        let slow_closed = watch_close(&socket, slow, Duration::from_secs(10));
        let mut silent = tls_stream(&webhook);
        silent
            .conn
            .complete_io(&mut silent.sock)
            .expect("handshake");
        let socket = silent.sock.try_clone().expect("clone");
        let silent_closed = watch_close(&socket, silent, Duration::from_secs(10));
        // Two that each sent a request and keep their connection.
        let held: Vec<Tls> = (0..2)
            .map(|_| {
                let mut tls = tls_stream(&webhook);
                get_healthz(&mut tls);
                tls
            })
            .collect();
        (slow_closed, silent_closed, held)
    });
    // A burst of new connections does not close one another: an unproven connection may
    // make room only once it has used half its header-read time, so until then a new one
    // is refused.
    tokio::task::block_in_place(|| {
        let mut young_over = tls_stream(&webhook);
        let refused = young_over.conn.complete_io(&mut young_over.sock);
        assert!(refused.is_err(), "no connection is old enough to make room");
    });
    tokio::time::sleep(Duration::from_millis(3200)).await;
    // The cap is full: this client's connection takes the slowloris' place, the next
    // one the silent connection's.
    let started = Instant::now();
    assert_eq!(webhook.get("/healthz").await, (200, "ok\n".to_string()));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    tokio::task::block_in_place(|| {
        let after = slow_closed.join().expect("watch");
        assert!(after.is_some(), "the slowloris was closed");
        let mut third = tls_stream(&webhook);
        get_healthz(&mut third);
        let after = silent_closed.join().expect("watch");
        assert!(after.is_some(), "the silent connection was closed");
        held.push(third);
        // Four connections that sent requests: the next one is refused at once.
        let mut over = tls_stream(&webhook);
        let started = Instant::now();
        let refused = over.conn.complete_io(&mut over.sock);
        assert!(refused.is_err(), "the connection over the cap is refused");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // The ones that sent requests were not touched.
        for tls in &mut held {
            get_healthz(tls);
        }
    });
    held.pop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::task::block_in_place(|| {
        let mut next = tls_stream(&webhook);
        get_healthz(&mut next);
    });
    let metric = |name: &'static str| webhook.metric(name);
    assert_eq!(
        metric("iredmail_ports_webhook_connections_evicted_total").await,
        Some(2.0)
    );
    assert_eq!(
        metric("iredmail_ports_webhook_connections_refused_total").await,
        Some(2.0)
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_limit_gets_413_before_any_body() {
    let webhook = Webhook::start(&[]);
    let started = Instant::now();
    let answer = tokio::task::block_in_place(|| {
        let mut tls = tls_stream(&webhook);
        tls.write_all(
            b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 100000000\r\n\r\n",
        )
        .expect("head");
        tls.flush().expect("flush");
        read_until(&mut tls, "limit for a request")
    });
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with(
            "\r\n\r\nthe AdmissionReview is larger than 3145728 bytes (3 MiB), the API server's \
             own limit for a request"
        ),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// 1.5 million zeros in 2.86 MiB: under the body limit, refused before it is built.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_with_millions_of_json_values_gets_413_and_costs_little_memory() {
    let webhook = Webhook::start(&[]);
    let mut review = fixture("create-service-loadbalancer-mysql.json");
    review["request"]["object"]["spec"]["bomb"] = json!("BOMB");
    let zeros = format!("[{}0]", "0,".repeat(1_500_000));
    let body = review.to_string().replace("\"BOMB\"", &zeros);
    assert!(body.len() < 3 * 1024 * 1024, "{}", body.len());
    let started = Instant::now();
    let (status, answer) = webhook.post(body).await;
    assert_eq!(status, 413);
    assert_eq!(
        answer,
        "the AdmissionReview holds more than 50000 JSON values; no object the webhook judges \
         needs that many"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let peak = peak_rss_mib(&webhook);
    assert!(peak < 64.0, "peak RSS {peak:.1} MiB");
    let response = webhook
        .review(&fixture("create-service-loadbalancer-mysql.json"))
        .await;
    assert_eq!(response["allowed"], false);
}

/// 8 HTTP/2 streams at once, each a 2.9 MiB review: they wait their turn for
/// `--review-memory`, and the server stays under the chart's 128 MiB limit (a debug build
/// takes about a second for each; `benches/webhook_memory.rs` sends 100 to a release one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_large_reviews_at_once_stay_under_the_memory_limit() {
    let webhook = Arc::new(Webhook::start(&["--request-timeout", "60"]));
    let mut review = fixture("create-service-loadbalancer-mysql.json");
    review["request"]["object"]["metadata"]["annotations"] =
        json!({"padding": "x".repeat(2_900_000)});
    let body = review.to_string();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let webhook = webhook.clone();
            let body = body.clone();
            tokio::spawn(async move { webhook.post(body).await.0 })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task"), 200);
    }
    let peak = peak_rss_mib(&webhook);
    assert!(peak < 128.0, "peak RSS {peak:.1} MiB");
}

// ---------------------------------------------------------------------------------------
// --audit-interval: PolicyReports written into a fake API (tests/common/fake_api.rs)
// ---------------------------------------------------------------------------------------

const REPORTS: &str = "wgpolicyk8s.io/v1alpha2";
const OUR_LABEL: &str = "app.kubernetes.io/managed-by";

fn namespace_object(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}})
}

fn service_object(namespace: &str, name: &str, kind: &str, port: u16) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{namespace}-{name}")},
           "spec": {"type": kind, "selector": {"app": name},
                    "ports": [{"port": port, "targetPort": port, "protocol": "TCP"}]}})
}

/// A report as another tool (or an old run) left it.
fn report_object(kind: &str, namespace: Option<&str>, name: &str, manager: &str) -> Value {
    let mut metadata = json!({"name": name, "uid": format!("uid-report-{name}"),
                              "resourceVersion": "100", "labels": {OUR_LABEL: manager}});
    if let Some(namespace) = namespace {
        metadata["namespace"] = json!(namespace);
    }
    json!({"apiVersion": REPORTS, "kind": kind, "metadata": metadata,
           "summary": {"pass": 1, "fail": 0, "warn": 0, "error": 0, "skip": 0},
           "results": [{"source": manager, "policy": "theirs", "result": "pass"}]})
}

/// The cluster the audit judges. `mail` exposes MariaDB on a LoadBalancer, `web` runs
/// Policyd (removed since 0.9.3), `legacy` exposes LDAP on a NodePort but already holds a
/// report named `iredmail-ports` that is not ours, `db` is clean for now; `gone` no longer
/// exists but a report of ours is still in it; Kyverno's reports sit beside ours.
fn audited_cluster() -> Cluster {
    let mut objects: Vec<Value> = ["mail", "web", "legacy", "db"].map(namespace_object).into();
    objects.extend([
        service_object("mail", "mariadb", "LoadBalancer", 3306),
        service_object("web", "policyd", "ClusterIP", 10031),
        service_object("legacy", "ldap", "NodePort", 389),
        report_object(
            "PolicyReport",
            Some("legacy"),
            "iredmail-ports",
            "someone-else",
        ),
        report_object("PolicyReport", Some("mail"), "kyverno-polr", "kyverno"),
        report_object("ClusterPolicyReport", None, "kyverno-cpolr", "kyverno"),
        report_object(
            "PolicyReport",
            Some("gone"),
            "iredmail-ports",
            "iredmail-ports",
        ),
    ]);
    Cluster {
        objects,
        policy_reports: true,
        // The first report the audit creates is refused once.
        failing: vec![Failing {
            method: "POST",
            plural: "policyreports",
            times: 1,
        }],
        ..Cluster::default()
    }
}

/// Our reports held by the fake API, as `(namespace or "", [(policy, result)])`, sorted.
fn our_reports(api: &FakeApi) -> Vec<(String, Vec<(String, String)>)> {
    let mut reports: Vec<(String, Vec<(String, String)>)> = ["PolicyReport", "ClusterPolicyReport"]
        .iter()
        .flat_map(|kind| api.objects(kind))
        .filter(|r| r["metadata"]["labels"][OUR_LABEL] == "iredmail-ports")
        .map(|r| {
            let namespace = r["metadata"]["namespace"].as_str().unwrap_or_default();
            let mut results: Vec<(String, String)> = r["results"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| {
                    let text = |f: &str| x[f].as_str().unwrap_or_default().to_string();
                    (text("policy"), text("result"))
                })
                .collect();
            results.sort();
            (namespace.to_string(), results)
        })
        .collect();
    reports.sort();
    reports
}

/// Waits until `done` holds, failing with `what` and the last state after `limit`.
/// `serve --watch --audit-interval 1s` against a fake API server, with the kubeconfig it
/// reaches that server with (for `iredmail-ports cluster` to compare).
fn start_auditing(api: &FakeApi) -> (Webhook, PathBuf) {
    let pki = Pki::new();
    let kubeconfig = api.kubeconfig(pki.dir.path(), TOKEN);
    let webhook = Webhook::start_with(
        pki,
        &["--watch", "--audit-interval", "1s"],
        &[("KUBECONFIG", &kubeconfig)],
    );
    (webhook, kubeconfig)
}

async fn wait_for<T: std::fmt::Debug>(
    what: &str,
    limit: Duration,
    mut state: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let now = state();
        if done(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{what}: still {now:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The results of `cluster -A -o policyreport` on the same API, as the audit's are
/// compared: by namespace, policy, result, severity, message and resources (lines differ:
/// the cache keeps typed objects).
fn cluster_command_reports(kubeconfig: &Path) -> Vec<(String, Vec<Value>)> {
    let output = Command::new(env!("CARGO_BIN_EXE_iredmail-ports"))
        .args(["cluster", "-A", "-o", "policyreport", "--fail-on", "never"])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("run iredmail-ports cluster");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("YAML reports");
    comparable(documents.iter())
}

fn comparable<'a>(reports: impl Iterator<Item = &'a Value>) -> Vec<(String, Vec<Value>)> {
    let mut reports: Vec<(String, Vec<Value>)> = reports
        .map(|r| {
            let namespace = r["metadata"]["namespace"].as_str().unwrap_or_default();
            let mut results: Vec<Value> = r["results"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| {
                    json!({"policy": x["policy"], "rule": x["rule"], "result": x["result"],
                           "severity": x["severity"], "message": x["message"],
                           "resources": x["resources"]})
                })
                .collect();
            results.sort_by_key(Value::to_string);
            (namespace.to_string(), results)
        })
        .collect();
    reports.sort_by_key(|(namespace, _)| namespace.clone());
    reports
}

fn log_has(webhook: &Webhook, wanted: impl Fn(&Value) -> bool) -> bool {
    webhook.log_lines().iter().any(wanted)
}

/// `serve --watch --audit-interval 1s` against a fake API: the first runs create a report
/// per namespace with findings and the cluster's, delete ours where nothing is produced
/// any more, leave other tools' reports and a same-named report without our label alone,
/// and survive a refused create; after the cluster changes, the next runs delete exactly
/// the report of the namespace that was fixed and create the one of the namespace that
/// broke, without rewriting the unchanged ones.
#[test]
fn the_audit_writes_updates_and_deletes_exactly_our_policy_reports() {
    let api = FakeApi::start(audited_cluster());
    let foreign_before: Vec<Value> = ["PolicyReport", "ClusterPolicyReport"]
        .iter()
        .flat_map(|kind| api.objects(kind))
        .filter(|r| r["metadata"]["labels"][OUR_LABEL] != "iredmail-ports")
        .collect();
    assert_eq!(foreign_before.len(), 3);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let (webhook, kubeconfig) = start_auditing(&api);
        let warning = |rule: &str| (rule.to_string(), "warn".to_string());
        let error = |rule: &str| (rule.to_string(), "fail".to_string());

        // First runs: `mail` is refused once, then created; `gone` is deleted.
        let expected = vec![
            (String::new(), vec![]),
            ("mail".to_string(), vec![error("internal-port-exposed")]),
            ("web".to_string(), vec![warning("removed-service")]),
        ];
        let reports = wait_for(
            "the first audits",
            Duration::from_secs(30),
            || our_reports(&api),
            |reports| *reports == expected,
        )
        .await;
        assert_eq!(reports, expected);
        // The same engine as the kubectl plugin: what it prints, but for `legacy`, whose
        // report the audit leaves alone (it is not ours).
        let printed: Vec<(String, Vec<Value>)> = cluster_command_reports(&kubeconfig)
            .into_iter()
            .filter(|(namespace, _)| namespace != "legacy")
            .collect();
        let written: Vec<Value> = ["PolicyReport", "ClusterPolicyReport"]
            .iter()
            .flat_map(|kind| api.objects(kind))
            .filter(|r| r["metadata"]["labels"][OUR_LABEL] == "iredmail-ports")
            .collect();
        assert_eq!(
            comparable(written.iter()),
            printed,
            "the audit writes what `cluster -A -o policyreport` prints"
        );
        let mail = api
            .objects("PolicyReport")
            .into_iter()
            .find(|r| {
                r["metadata"]["namespace"] == "mail" && r["metadata"]["name"] == "iredmail-ports"
            })
            .expect("mail's report");
        assert_eq!(
            mail["summary"],
            json!({"pass": 0, "fail": 1, "warn": 0, "error": 0, "skip": 0})
        );
        assert_eq!(
            mail["results"][0]["resources"],
            json!([{"kind": "Service", "namespace": "mail", "name": "mariadb"}])
        );

        // The refused create was logged, and the loop went on.
        let refused = |line: &Value| {
            line["fields"]["message"]
                == "audit: writing a report failed; retried at the next interval"
                && line["fields"]["operation"] == "create"
                && line["fields"]["report"] == "PolicyReport mail/iredmail-ports"
                && line["fields"]["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("answered 500 InternalError"))
        };
        assert!(log_has(&webhook, refused), "{:#?}", webhook.log_lines());
        let writes = api.writes();
        let posts: Vec<(String, u16)> = writes
            .iter()
            .filter(|w| w.method == "POST")
            .map(|w| (w.path.clone(), w.status))
            .collect();
        let mail_posts = "/apis/wgpolicyk8s.io/v1alpha2/namespaces/mail/policyreports";
        assert_eq!(
            posts
                .iter()
                .filter(|(p, _)| p == mail_posts)
                .map(|(_, s)| *s)
                .collect::<Vec<_>>(),
            [500, 201]
        );
        let deletes: Vec<&str> = writes
            .iter()
            .filter(|w| w.method == "DELETE")
            .map(|w| w.path.as_str())
            .collect();
        assert_eq!(
            deletes,
            ["/apis/wgpolicyk8s.io/v1alpha2/namespaces/gone/policyreports/iredmail-ports"]
        );
        let failures = webhook
            .metric("iredmail_ports_webhook_audits_total{result=\"failure\"}")
            .await;
        assert_eq!(failures, Some(1.0));

        // The cluster changes: `web` is fixed, `db` gets MariaDB on a LoadBalancer.
        let mark = api.writes().len();
        let mail_version = mail["metadata"]["resourceVersion"].clone();
        assert!(api.remove("v1", "Service", "web", "policyd"));
        api.apply(service_object("db", "mariadb", "LoadBalancer", 3306));
        let expected = vec![
            (String::new(), vec![]),
            ("db".to_string(), vec![error("internal-port-exposed")]),
            ("mail".to_string(), vec![error("internal-port-exposed")]),
        ];
        wait_for(
            "the audits after the change",
            Duration::from_secs(30),
            || our_reports(&api),
            |reports| *reports == expected,
        )
        .await;
        // In one run or two, whichever change the watches delivered first.
        let mut changed: Vec<(String, String, u16)> = api.writes()[mark..]
            .iter()
            .filter(|w| w.method != "PATCH")
            .map(|w| (w.method.clone(), w.path.clone(), w.status))
            .collect();
        changed.sort();
        assert_eq!(
            changed,
            [
                (
                    "DELETE".to_string(),
                    "/apis/wgpolicyk8s.io/v1alpha2/namespaces/web/policyreports/iredmail-ports"
                        .to_string(),
                    200
                ),
                (
                    "POST".to_string(),
                    "/apis/wgpolicyk8s.io/v1alpha2/namespaces/db/policyreports".to_string(),
                    201
                ),
            ]
        );
        let mail_after = api
            .objects("PolicyReport")
            .into_iter()
            .find(|r| {
                r["metadata"]["namespace"] == "mail" && r["metadata"]["name"] == "iredmail-ports"
            })
            .expect("mail's report");
        assert_eq!(
            mail_after["metadata"]["resourceVersion"], mail_version,
            "an unchanged report is not rewritten"
        );

        // Other tools' reports, and the one named like ours without our label: untouched.
        let foreign_after: Vec<Value> = ["PolicyReport", "ClusterPolicyReport"]
            .iter()
            .flat_map(|kind| api.objects(kind))
            .filter(|r| r["metadata"]["labels"][OUR_LABEL] != "iredmail-ports")
            .collect();
        assert_eq!(foreign_after, foreign_before);
        let touched: Vec<String> = api
            .writes()
            .iter()
            .filter(|w| w.path.contains("/legacy/") || w.path.contains("kyverno"))
            .map(|w| format!("{} {}", w.method, w.path))
            .collect();
        assert_eq!(touched, Vec::<String>::new());
        let not_ours = |line: &Value| {
            line["fields"]["report"] == "PolicyReport legacy/iredmail-ports"
                && line["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("is not ours; left alone"))
        };
        assert!(log_has(&webhook, not_ours), "{:#?}", webhook.log_lines());

        let successes = webhook
            .metric("iredmail_ports_webhook_audits_total{result=\"success\"}")
            .await;
        assert!(successes.is_some_and(|n| n >= 2.0), "{successes:?}");
        let last = webhook
            .metric("iredmail_ports_webhook_audit_last_success_timestamp_seconds")
            .await;
        assert!(last.is_some_and(|t| t > 1.7e9), "{last:?}");
        let deleted = webhook
            .metric("iredmail_ports_webhook_audit_reports_total{operation=\"deleted\"}")
            .await;
        assert_eq!(deleted, Some(2.0));
        // Reviews are still answered while the audit runs.
        let (status, _) = webhook.get("/readyz").await;
        assert_eq!(status, 200);
    });
}

/// Without the wg-policy CRDs the audit says so in its log, counts a failure, and the
/// webhook keeps serving.
#[test]
fn the_audit_without_the_policy_report_crds_logs_and_goes_on() {
    let api = FakeApi::start(Cluster {
        objects: vec![
            namespace_object("mail"),
            service_object("mail", "mariadb", "LoadBalancer", 3306),
        ],
        ..Cluster::default()
    });
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let (webhook, _) = start_auditing(&api);
        let said = |line: &Value| {
            line["fields"]["message"]
                == "audit: listing the reports failed; retried at the next interval"
                && line["fields"]["error"].as_str().is_some_and(|e| {
                    e.contains("does not serve policyreports.wgpolicyk8s.io/v1alpha2")
                })
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let failures = webhook
                .metric("iredmail_ports_webhook_audits_total{result=\"failure\"}")
                .await;
            if failures.is_some_and(|n| n >= 2.0) {
                break;
            }
            assert!(Instant::now() < deadline, "{:#?}", webhook.log_lines());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(log_has(&webhook, said), "{:#?}", webhook.log_lines());
        assert!(api.writes().is_empty(), "nothing written");
        let review = webhook
            .review(&fixture("create-service-loadbalancer-mysql.json"))
            .await;
        assert_eq!(review["allowed"], false);
    });
}

/// The `--watch` cache holds every kind `cluster` reads, custom resources included where
/// discovery shows them, and ingress-nginx's port ConfigMaps by name only: the audit
/// writes exactly what `cluster -A -o policyreport` prints for routes through
/// `tcp-services`, a Traefik IngressRouteTCP and Gateway API HTTPRoute and GRPCRoute.
#[test]
fn the_watch_cache_reads_every_kind_the_cluster_command_reads() {
    let route = |kind: &str, api_version: &str, spec: Value| {
        json!({"apiVersion": api_version, "kind": kind,
               "metadata": {"name": "mariadb", "namespace": "mail"}, "spec": spec})
    };
    let mut objects: Vec<Value> = ["mail", "ingress"].map(namespace_object).into();
    objects.extend([
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "tcp-services", "namespace": "ingress"},
               "data": {"3306": "mail/mariadb:3306"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "settings", "namespace": "mail"},
               "data": {"password": "never read"}}),
        route(
            "IngressRouteTCP",
            "traefik.io/v1alpha1",
            json!({"entryPoints": ["mysql"], "routes": [{"match": "HostSNI(`*`)",
                   "services": [{"name": "mariadb", "port": 3306}]}]}),
        ),
        route(
            "HTTPRoute",
            "gateway.networking.k8s.io/v1",
            json!({"parentRefs": [{"name": "public"}], "rules": [{
                   "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                   "backendRefs": [{"name": "mariadb", "port": 3306}]}]}),
        ),
        route(
            "GRPCRoute",
            "gateway.networking.k8s.io/v1",
            json!({"parentRefs": [{"name": "public"}], "rules": [{
                   "backendRefs": [{"name": "mariadb", "port": 3306}]}]}),
        ),
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
               "metadata": {"name": "public", "namespace": "mail"},
               "spec": {"gatewayClassName": "example",
                        "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}),
    ]);
    let api = FakeApi::start(Cluster {
        objects,
        gateway_api: true,
        traefik: true,
        policy_reports: true,
        ..Cluster::default()
    });
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let (_webhook, kubeconfig) = start_auditing(&api);
        let resources = |api: &FakeApi| -> Vec<String> {
            let mut kinds: Vec<String> = api
                .objects("PolicyReport")
                .iter()
                .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
                .map(|x| {
                    let resource = &x["resources"][0];
                    format!(
                        "{} {}/{}/{}",
                        x["policy"].as_str().unwrap_or_default(),
                        resource["kind"].as_str().unwrap_or_default(),
                        resource["namespace"].as_str().unwrap_or_default(),
                        resource["name"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            kinds.sort();
            kinds
        };
        let expected = [
            "internal-port-exposed ConfigMap/ingress/tcp-services",
            "internal-port-exposed GRPCRoute/mail/mariadb",
            "internal-port-exposed HTTPRoute/mail/mariadb",
            "internal-port-exposed IngressRouteTCP/mail/mariadb",
        ];
        // The cluster's report is written last in a run: wait for it too.
        wait_for(
            "reports on the routes, and the cluster's",
            Duration::from_secs(30),
            || (resources(&api), api.objects("ClusterPolicyReport").len()),
            |(found, cluster_reports)| *found == expected && *cluster_reports == 1,
        )
        .await;
        let written: Vec<Value> = ["PolicyReport", "ClusterPolicyReport"]
            .iter()
            .flat_map(|kind| api.objects(kind))
            .collect();
        assert_eq!(
            comparable(written.iter()),
            cluster_command_reports(&kubeconfig)
        );
    });
    // ConfigMaps were only ever asked for by name, so `settings` was never sent.
    let configmaps: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|r| r.contains("configmaps"))
        .collect();
    assert!(!configmaps.is_empty());
    for request in &configmaps {
        assert!(
            request.contains("fieldSelector=metadata.name%3Dtcp-services")
                || request.contains("fieldSelector=metadata.name%3Dudp-services"),
            "{request}"
        );
    }
}
