//! An HTTP CONNECT proxy on loopback for tests: it tunnels to loopback targets only and
//! records each CONNECT line, so a test can tell that a client went through it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

pub struct Proxy {
    pub url: String,
    connects: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Listens on a free loopback port until the test process ends.
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let connects = Arc::new(Mutex::new(Vec::new()));
        let log = connects.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let log = log.clone();
                thread::spawn(move || tunnel(client, &log));
            }
        });
        Proxy { url, connects }
    }

    /// The `CONNECT host:port` request lines seen so far.
    pub fn connects(&self) -> Vec<String> {
        self.connects.lock().expect("connect log").clone()
    }
}

fn tunnel(client: TcpStream, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().expect("clone the stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // The headers, up to the empty line.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let request_line = request_line.trim_end().to_string();
    log.lock().expect("connect log").push(request_line.clone());
    let target = request_line
        .strip_prefix("CONNECT ")
        .and_then(|rest| rest.split(' ').next())
        .filter(|target| target.starts_with("127.0.0.1:") || target.starts_with("localhost:"));
    let mut client = client;
    let Some(upstream) = target.and_then(|t| TcpStream::connect(t).ok()) else {
        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n");
        return;
    };
    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let (mut up_read, mut up_write) = (upstream.try_clone().expect("clone the stream"), upstream);
    let mut down_write = client;
    thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut up_write);
        let _ = up_write.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut down_write);
    let _ = down_write.shutdown(std::net::Shutdown::Write);
}
