//! Memory of `iredmail-ports serve` under hostile bodies (issue 16, item 6): prints the
//! time and the server's peak RSS (VmHWM from /proc) after each attack, against the
//! chart's 128 MiB memory limit.
//!
//! 1. One 2.86 MiB review whose object holds a 1.5M-element array (refused with 413
//!    before its JSON is built).
//! 2. `BENCH_STREAMS` (100) HTTP/2 streams at once on one connection, each a 2.9 MiB
//!    review (a long annotation, judged in full): they wait their turn for
//!    `--review-memory`.
//! 3. The same number of node bombs at once.
//!
//! ```text
//! cargo bench --bench webhook_memory
//! cargo bench --profile dev --bench webhook_memory   # no release build needed
//! ```

#[path = "common/serve.rs"]
mod serve;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use serve::{memory, start_server, write_certificates};

fn main() {
    let streams: usize = std::env::var("BENCH_STREAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_pem = write_certificates(dir.path());
    let (mut server, port) = start_server(dir.path(), &["--request-timeout", "600"]);
    let pid = server.id();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (hwm, rss) = memory(pid);
    println!(
        "started: peak RSS {:.1} MiB, RSS {:.1} MiB",
        mib(hwm),
        mib(rss)
    );
    runtime.block_on(async {
        let client = client(&ca_pem);
        let url = format!("https://localhost:{port}/validate");
        let bomb = node_bomb();
        let started = Instant::now();
        let status = post(&client, &url, bomb.clone()).await;
        report(
            pid,
            &format!("1 node bomb of {} bytes", bomb.len()),
            started,
            &[status],
        );

        let large = large_review();
        let started = Instant::now();
        let statuses = concurrently(&client, &url, &large, streams).await;
        let what = format!("{streams} streams of {} bytes", large.len());
        report(pid, &what, started, &statuses);

        let started = Instant::now();
        let statuses = concurrently(&client, &url, &bomb, streams).await;
        report(pid, &format!("{streams} node bombs"), started, &statuses);
    });
    std::thread::sleep(Duration::from_secs(2));
    let (hwm, rss) = memory(pid);
    println!(
        "2 s later: peak RSS {:.1} MiB, RSS {:.1} MiB (chart limit 128 MiB)",
        mib(hwm),
        mib(rss)
    );
    let _ = server.kill();
    let _ = server.wait();
}

fn report(pid: u32, what: &str, started: Instant, statuses: &[u16]) {
    let (hwm, rss) = memory(pid);
    let mut counts = std::collections::BTreeMap::new();
    for status in statuses {
        *counts.entry(*status).or_insert(0) += 1;
    }
    println!(
        "{what}: {:.2} s, statuses {counts:?}, peak RSS {:.1} MiB, RSS {:.1} MiB",
        started.elapsed().as_secs_f64(),
        mib(hwm),
        mib(rss)
    );
}

async fn concurrently(client: &reqwest::Client, url: &str, body: &str, count: usize) -> Vec<u16> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.to_string(), body.to_string());
            tokio::spawn(async move { post(&client, &url, body).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap_or(0));
    }
    statuses
}

/// The status, or 0 when the request failed (a timeout on the client's side).
async fn post(client: &reqwest::Client, url: &str, body: String) -> u16 {
    match client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

fn review(object: Value) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "bench", "kind": {"group": "", "version": "v1", "kind": "Service"},
            "resource": {"group": "", "version": "v1", "resource": "services"},
            "name": "mariadb", "namespace": "mail", "operation": "CREATE", "userInfo": {},
            "object": object, "dryRun": false}})
}

fn service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "mariadb", "namespace": "mail"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "mariadb"},
                 "ports": [{"port": 3306, "targetPort": 3306}]}})
}

fn node_bomb() -> String {
    let mut object = service();
    object["spec"]["bomb"] = json!("BOMB");
    let zeros = format!("[{}0]", "0,".repeat(1_500_000));
    review(object).to_string().replace("\"BOMB\"", &zeros)
}

fn large_review() -> String {
    let mut object = service();
    object["metadata"]["annotations"] = json!({"padding": "x".repeat(2_900_000)});
    review(object).to_string()
}

fn client(ca_pem: &str) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA");
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("client")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
