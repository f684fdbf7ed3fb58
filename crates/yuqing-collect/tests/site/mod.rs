//! A web site for tests that plays a news site or a feed: routes (with `{name}` segments) answered
//! by plain functions, one thread per connection, every answer `Connection: close`. The standard
//! library and `urlencoding` only, so the crates that fetch need no web framework to be tested;
//! shared by yuqing-collect's tests and the binary's (`#[path]`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

/// A request as the handler sees it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub query: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The `{name}` segments of the route that matched.
    pub params: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> &str {
        self.params.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// 200 with a content type.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response::status(200, body).header("content-type", content_type)
    }

    /// 200, `text/plain; charset=utf-8`.
    pub fn text(body: impl Into<Vec<u8>>) -> Response {
        Response::ok("text/plain; charset=utf-8", body)
    }

    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response { status, headers: Vec::new(), body: body.into() }
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// The site's routes; [`Site::start`] serves them on a free local port.
#[derive(Default, Clone)]
pub struct Site {
    routes: Vec<(Vec<String>, Handler)>,
    /// Answers what no route matches (default: 404).
    fallback: Option<Handler>,
}

impl Site {
    pub fn new() -> Site {
        Site::default()
    }

    /// Answers GET (and any other method) on `pattern`: literal segments and `{name}` segments.
    pub fn route(mut self, pattern: &str, handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Site {
        let segments = pattern.trim_start_matches('/').split('/').map(str::to_string).collect();
        self.routes.push((segments, Arc::new(handler)));
        self
    }

    /// Answers every path no route matches.
    pub fn fallback(mut self, handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Site {
        self.fallback = Some(Arc::new(handler));
        self
    }

    fn find(&self, path: &str) -> Option<(Handler, Vec<(String, String)>)> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        'routes: for (pattern, handler) in &self.routes {
            if pattern.len() != parts.len() {
                continue;
            }
            let mut params = Vec::new();
            for (p, s) in pattern.iter().zip(&parts) {
                match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => params.push((
                        name.to_string(),
                        String::from_utf8_lossy(&urlencoding::decode_binary(s.as_bytes())).into_owned(),
                    )),
                    None if p == s => {}
                    None => continue 'routes,
                }
            }
            return Some((handler.clone(), params));
        }
        None
    }

    /// Serves the site on 127.0.0.1 until the test process ends; its address.
    pub fn start(self) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the test site");
        let addr = listener.local_addr().expect("the test site's address");
        let site = Arc::new(self);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let site = site.clone();
                std::thread::spawn(move || site.answer(stream));
            }
        });
        addr
    }

    fn answer(&self, mut stream: TcpStream) {
        let Some(mut req) = read_request(&stream) else { return };
        let resp = match self.find(&req.path) {
            Some((handler, params)) => {
                req.params = params;
                handler(&req)
            }
            None => match &self.fallback {
                Some(handler) => handler(&req),
                None => Response::status(404, "not found"),
            },
        };
        let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
        for (k, v) in &resp.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", resp.body.len()));
        let _ = stream.write_all(head.as_bytes());
        if req.method != "HEAD" {
            let _ = stream.write_all(&resp.body);
        }
        let _ = stream.flush();
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut words = first.split_whitespace();
    let method = words.next()?.to_string();
    let target = words.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    // A body (none of the fetcher's requests has one) is read and dropped.
    let length = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse::<u64>().ok());
    if let Some(n) = length {
        let _ = std::io::copy(&mut reader.by_ref().take(n), &mut std::io::sink());
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Some(Request { method, path, query, headers, params: Vec::new() })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
