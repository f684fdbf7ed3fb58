//! Helpers shared by the integration tests: run the real `yuqing` binary, read its JSON, and talk
//! HTTP to the real server over a plain TCP socket.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_yuqing")
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The repository root (for the shipped demo sample).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A command for the binary on `data_dir`, run in a scratch working directory so no stray
/// yuqing.toml is picked up.
pub fn yuqing(data_dir: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("--data-dir").arg(data_dir);
    c.current_dir(data_dir.parent().unwrap_or(data_dir));
    c.env_remove("YUQING_CONFIG").env_remove("YUQING_DATA_DIR");
    c
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the yuqing binary runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs and parses stdout as one JSON document; panics with both streams when it fails.
/// Every story of the data directory (`yuqing --json stories --all`), graded or not.
pub fn all_stories(data: &Path, config: &Path) -> Vec<serde_json::Value> {
    let mut cmd = yuqing(data);
    cmd.arg("--config").arg(config).args(["--json", "stories", "--all"]);
    let v = run_json(&mut cmd);
    v["stories"].as_array().or_else(|| v.as_array()).cloned().unwrap_or_else(|| panic!("stories in {v}"))
}

pub fn run_json(cmd: &mut Command) -> serde_json::Value {
    let out = run(cmd);
    assert!(out.status.success(), "failed: {}\nstdout: {}\nstderr: {}", out.status, stdout(&out), stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(&out)))
}

pub fn with_config(cmd: &mut Command) -> &mut Command {
    cmd.arg("--config").arg(fixture("yuqing.toml"))
}

/// A started server and the address it printed.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub output: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `yuqing demo` in `dir` with its data directory `dir/demo-data` (returned) and waits until it
/// serves (the replay takes a while in a debug build).
pub fn start_demo(dir: &Path) -> (Server, PathBuf) {
    let data = dir.join("demo-data");
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir).arg("--data-dir").arg(&data).args(["demo", "--addr", "127.0.0.1:0"]);
    (start_server(cmd, Duration::from_secs(600)), data)
}

/// Starts `cmd` (which serves on 127.0.0.1:0) and waits for the line that names the address.
/// `yuqing --data-dir DATA --config CFG serve` on a free port, waited for as long as a cold start
/// of the tests takes.
pub fn serve(data: &Path, cfg: &Path) -> Server {
    let mut cmd = yuqing(data);
    cmd.arg("--config").arg(cfg).args(["serve", "--addr", "127.0.0.1:0"]);
    start_server(cmd, Duration::from_secs(120))
}

pub fn start_server(mut cmd: Command, timeout: Duration) -> Server {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("server starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let mut output = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.split("http://").nth(1) {
                    let addr = rest.split('/').next().unwrap_or("").to_string();
                    output.push(line);
                    return Server { child, addr, output };
                }
                output.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not print its address in {timeout:?}; output so far:\n{}", output.join("\n"));
            }
        }
    }
}

/// A plain HTTP/1.1 GET; returns (status, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    http(addr, "GET", path, None, "text/plain", b"")
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&rest[..i]).trim(), 16).unwrap_or(0);
        let after = &rest[i + 2..];
        if n == 0 || after.len() < n {
            break;
        }
        out.extend_from_slice(&after[..n]);
        rest = after[n..].strip_prefix(b"\r\n").unwrap_or(&after[n..]);
    }
    out
}

/// A plain HTTP/1.1 request with an optional bearer token and body; returns (status, body).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the server");
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("send head");
    s.write_all(body).expect("send body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(raw.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = &raw[split..];
    let body = if head.contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_vec() };
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// JSON request; panics unless the status is `want`. Returns the parsed body.
pub fn api(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: &serde_json::Value,
    want: u16,
) -> serde_json::Value {
    let bytes = if body.is_null() { Vec::new() } else { serde_json::to_vec(body).expect("json") };
    let (status, text) = http(addr, method, path, Some(token), "application/json", &bytes);
    assert_eq!(status, want, "{method} {path} {body} → {status}: {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// A local HTTP receiver standing in for a webhook: records every request body, and answers the
/// first `fail_first` requests with 500.
pub struct Receiver {
    pub addr: String,
    pub bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Receiver {
    pub fn start(fail_first: usize) -> Receiver {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let addr = listener.local_addr().expect("addr").to_string();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (b, h) = (bodies.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let n = h.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut len = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                let (code, text) =
                    if n < fail_first { ("500 Internal Server Error", "down") } else { ("200 OK", "{}") };
                if n >= fail_first {
                    b.lock().expect("lock").push(String::from_utf8_lossy(&body).into_owned());
                }
                let _ = write!(stream, "HTTP/1.1 {code}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}", text.len());
            }
        });
        Receiver { addr, bodies, hits }
    }

    pub fn received(&self) -> Vec<String> {
        self.bodies.lock().expect("lock").clone()
    }

    /// Waits until a received body contains `needle`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(b) = self.received().into_iter().find(|b| b.contains(needle)) {
                return b;
            }
            if Instant::now() > deadline {
                panic!("no message containing “{needle}” in {timeout:?}; received:\n{}", self.received().join("\n"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A plain HTTP/1.1 request with extra headers; returns (status, lower-cased head, body).
pub fn http_with(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the server");
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("send head");
    s.write_all(body).expect("send body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(raw.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = &raw[split..];
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_vec() };
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

/// Signs in through the login form as a browser would; returns the `Cookie` header value.
pub fn sign_in(addr: &str, name: &str, password: &str) -> String {
    let (status, head, form) = http_with(addr, "GET", "/login", &[], b"");
    assert_eq!(status, 200, "{form}");
    let login_cookie = set_cookie(&head, "yuqing_login").expect("the login form sets its CSRF cookie");
    let token = login_cookie.split_once('=').unwrap().1.to_string();
    assert!(form.contains(&token));
    let body = format!("_csrf={token}&next=%2F&name={}&password={}", urlencoding_min(name), urlencoding_min(password));
    let (status, head, page) = http_with(
        addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", &login_cookie)],
        body.as_bytes(),
    );
    assert_eq!(status, 303, "sign-in as {name}: {page}");
    set_cookie(&head, "yuqing_session").expect("the session cookie")
}

/// GET with a cookie; returns (status, body).
pub fn http_get_as(addr: &str, path: &str, cookie: &str) -> (u16, String) {
    let (status, _, body) = http_with(addr, "GET", path, &[("Cookie", cookie)], b"");
    (status, body)
}

/// Percent-encodes everything but unreserved ASCII (form values, query strings).
pub fn urlencoding_min(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `yuqing user add ARGS --password-stdin` with `password` on standard input; returns the API token.
pub fn add_user_with_password(data: &Path, cfg: &Path, args: &[&str], password: &str) -> String {
    let mut child = yuqing(data)
        .arg("--config")
        .arg(cfg)
        .args(["--json", "user", "add", "--password-stdin"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("yuqing user add runs");
    child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("password written");
    let out = child.wait_with_output().expect("yuqing user add finishes");
    assert!(out.status.success(), "user add {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("user add --json prints JSON");
    v["token"].as_str().expect("token").to_string()
}
