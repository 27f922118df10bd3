//! Test harness: a real HTTP server on 127.0.0.1 serving fixture pages, a real SMTP server
//! (mailcrab) on loopback, and helpers to run the `newswatch` binary against them.
#![allow(dead_code)]

pub mod pages;
pub mod postgres;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One canned response.
#[derive(Clone)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// How the body is sent.
    pub stream: Stream,
}

/// How a route sends its body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// All at once.
    Whole,
    /// One byte of the body per `Duration`.
    Trickle(Duration),
    /// The body, repeated forever.
    Endless,
}

impl Route {
    pub fn new(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Route {
        Route {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.into(),
            delay: Duration::ZERO,
            stream: Stream::Whole,
        }
    }

    pub fn streamed(mut self, stream: Stream) -> Route {
        self.stream = stream;
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Route {
        self.delay = delay;
        self
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request the site received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub at: Instant,
    pub body: Vec<u8>,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inflight {
    now: usize,
    max: usize,
}

/// A fixture web site on 127.0.0.1; it stops when the test's runtime ends.
///
/// Each path answers with a sequence of routes: the n-th request gets the n-th, the last
/// repeats. A route with an `etag` or `last-modified` header answers 304 to a request that
/// sends it back.
#[derive(Clone)]
pub struct Site {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Vec<Route>>>>,
    hits: Arc<Mutex<Vec<Hit>>>,
    inflight: Arc<Mutex<Inflight>>,
}

impl Site {
    pub async fn start() -> Site {
        let routes: Arc<Mutex<HashMap<String, Vec<Route>>>> = Arc::default();
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let inflight: Arc<Mutex<Inflight>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (r, h, f) = (routes.clone(), hits.clone(), inflight.clone());
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let (r, h, f) = (r.clone(), h.clone(), f.clone());
            async move {
                let path = req
                    .uri()
                    .path_and_query()
                    .map_or("/".to_owned(), |p| p.to_string());
                let headers: Vec<(String, String)> = req
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                let bare = req.uri().path().to_owned();
                let at = Instant::now();
                let body = axum::body::to_bytes(req.into_body(), 16 << 20)
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default();
                let hit = Hit {
                    path: path.clone(),
                    headers,
                    at,
                    body,
                };
                let route = {
                    let mut hits = h.lock().expect("hits");
                    let n = hits.iter().filter(|x| x.path == path).count();
                    hits.push(hit.clone());
                    // Exact path and query first; else the path alone (signed robot URLs).
                    let routes = r.lock().expect("routes");
                    let prefix = routes
                        .iter()
                        .filter(|(k, _)| {
                            k.ends_with('*') && bare.starts_with(k.trim_end_matches('*'))
                        })
                        .map(|(_, v)| v)
                        .next();
                    routes
                        .get(&path)
                        .or_else(|| routes.get(&bare))
                        .or(prefix)
                        .and_then(|seq| seq.get(n.min(seq.len().saturating_sub(1))).cloned())
                };
                {
                    let mut f = f.lock().expect("inflight");
                    f.now += 1;
                    f.max = f.max.max(f.now);
                }
                if let Some(route) = &route {
                    tokio::time::sleep(route.delay).await;
                }
                f.lock().expect("inflight").now -= 1;
                let Some(route) = route else {
                    return Response::builder()
                        .status(StatusCode::NOT_FOUND)
                        .body(Body::from("not found"))
                        .expect("404");
                };
                let unchanged = route
                    .header("etag")
                    .is_some_and(|e| hit.header("if-none-match") == Some(e))
                    || route
                        .header("last-modified")
                        .is_some_and(|m| hit.header("if-modified-since") == Some(m));
                let mut resp =
                    Response::builder().status(if unchanged { 304 } else { route.status });
                for (k, v) in &route.headers {
                    resp = resp.header(k, v);
                }
                let body = if unchanged { Vec::new() } else { route.body };
                let body = match route.stream {
                    Stream::Whole => Body::from(body),
                    Stream::Trickle(every) => {
                        Body::from_stream(futures_util::stream::unfold(0usize, move |i| {
                            let byte = body.get(i).copied();
                            async move {
                                tokio::time::sleep(every).await;
                                byte.map(|b| (Ok::<_, std::io::Error>(vec![b]), i + 1))
                            }
                        }))
                    }
                    Stream::Endless => {
                        Body::from_stream(futures_util::stream::repeat_with(move || {
                            Ok::<_, std::io::Error>(body.clone())
                        }))
                    }
                };
                resp.body(body).expect("response")
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Site {
            addr,
            routes,
            hits,
            inflight,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Serves `body` at `path` with status 200 and `content_type`.
    pub fn page(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        self.route(path, 200, &[("content-type", content_type)], body);
    }

    pub fn route(
        &self,
        path: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) {
        self.sequence(path, vec![Route::new(status, headers, body)]);
    }

    /// Answers the n-th request to `path` with `routes[n]` (the last one repeating).
    pub fn sequence(&self, path: &str, routes: Vec<Route>) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_owned(), routes);
    }

    /// How many requests `path` received.
    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("hits")
            .iter()
            .filter(|p| p.path == path)
            .count()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Hit> {
        self.hits.lock().expect("hits").clone()
    }

    /// The most requests that were being answered at once.
    pub fn max_inflight(&self) -> usize {
        self.inflight.lock().expect("inflight").max
    }
}

/// A real SMTP server on loopback that keeps every mail it receives.
pub struct Smtp {
    pub port: u16,
    handle: mailcrab::TestMailServerHandle,
}

impl Smtp {
    pub async fn start() -> Smtp {
        Smtp::start_on(free_port()).await
    }

    /// A server on `port` (to bring one back where a stopped one was).
    pub async fn start_on(port: u16) -> Smtp {
        let handle = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
        // The server binds in a spawned task; wait until it accepts connections.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Smtp { port, handle }
    }

    /// The next mail received, as JSON (`subject`, `text`, `html`, `to`, `headers` …), waiting
    /// up to `secs`.
    pub async fn next_mail(&mut self, secs: u64) -> Option<serde_json::Value> {
        match tokio::time::timeout(Duration::from_secs(secs), self.handle.rx.recv()).await {
            Ok(Ok(m)) => Some(serde_json::to_value(&m).expect("mail as json")),
            _ => None,
        }
    }

    pub fn stop(&self) {
        self.handle.token.cancel();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A temporary folder holding a `sources.toml`; the state lives in `state/` beside it.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    /// A folder whose `sources.toml` is `config`, verbatim.
    pub fn raw(config: &str) -> Workdir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("sources.toml"), config).expect("write config");
        Workdir { dir }
    }

    /// Writes `sources.toml` with a `[digest]` (SMTP on `smtp_port`, or the outbox when `None`)
    /// and the given `[[source]]` tables.
    pub fn new(smtp_port: Option<u16>, digest_schedule: &str, sources: &str) -> Workdir {
        let dir = tempfile::tempdir().expect("tempdir");
        let smtp = smtp_port.map_or(String::new(), |p| {
            format!("smtp = \"smtp://127.0.0.1:{p}\"\n")
        });
        let config = format!(
            "[settings]\nstate_dir = \"state\"\ntimezone = \"Asia/Shanghai\"\nper_host_delay_ms = 0\nrecheck_days = 0\n\n\
             [digest]\nschedule = \"{digest_schedule}\"\nfrom = \"newswatch <nw@example.org>\"\n\
             to = [\"analyst@example.org\"]\n{smtp}\n{sources}"
        );
        std::fs::write(dir.path().join("sources.toml"), config).expect("write config");
        Workdir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.path().join("sources.toml")
    }

    /// Starts `newswatch --config <this config> args… run`; its stderr is piped (read it with
    /// `wait_with_output`), stdout discarded. Killed if the test drops it.
    pub fn daemon(&self, args: &[&str]) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .arg("run")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the daemon")
    }

    /// Runs `newswatch --config <this config> args…` to completion.
    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None).await
    }

    pub async fn run_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        use tokio::io::AsyncWriteExt as _;
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_newswatch"));
        cmd.arg("--config").arg(self.config()).args(args);
        for proxy in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            cmd.env_remove(proxy);
        }
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn newswatch");
        let mut pipe = child.stdin.take().expect("stdin");
        let input = stdin.map(<[u8]>::to_vec).unwrap_or_default();
        // Written alongside reading the output (no pipe deadlock); a child that exits early
        // closes its end, which is its business, not a test failure.
        tokio::spawn(async move {
            let _ = pipe.write_all(&input).await;
        });
        tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("newswatch did not finish in 120 s")
            .expect("newswatch output")
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A file of the data shared with the team (`../shared/<rel>`).
///
/// CI always has it: under `CI=true` a missing file fails the test. Elsewhere the test is
/// skipped, and says so with a `SKIPPED:` line written past the test harness's capture, so it
/// shows in `cargo test`'s output and `.ci/run` counts it in its closing total.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    if p.is_file() {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{} is missing, and CI always has it", p.display());
    }
    skipped(&format!("{} is missing", p.display()));
    None
}

/// Reports the running test as skipped on standard error directly, not through `eprintln!`,
/// which the test harness captures and hides for a passing test. The harness names each test's
/// thread after the test.
pub fn skipped(why: &str) {
    use std::io::Write as _;
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = std::io::stderr().write_all(format!("SKIPPED: {test}: {why}\n").as_bytes());
}

/// The seed archive shared with the team, when present (see [`shared`]).
pub fn seed_archive() -> Option<PathBuf> {
    shared("seeds/000_708f4c76f94c8937.txt")
}

/// Encodes `s` as GBK bytes (what a server labelling its pages gb2312 really sends).
pub fn gbk(s: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(s);
    assert!(!unmappable, "fixture text must be encodable in GBK");
    bytes.into_owned()
}

/// An SMTP server on loopback that accepts the envelope and answers DATA with a temporary
/// failure (`451 4.3.0`), as a busy or broken relay does. It counts the DATA commands refused.
pub struct RefusingSmtp {
    pub port: u16,
    pub refused: Arc<Mutex<usize>>,
}

impl RefusingSmtp {
    pub async fn start() -> RefusingSmtp {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let refused: Arc<Mutex<usize>> = Arc::default();
        let counter = refused.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 refusing.test ESMTP\r\n").await;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250 refusing.test\r\n",
                            "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 OK\r\n",
                            "DATA" => {
                                *counter.lock().expect("count") += 1;
                                b"451 4.3.0 Mail server temporarily rejected message\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                                break;
                            }
                            _ => b"502 5.5.2 Command not recognized\r\n",
                        };
                        if write.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        RefusingSmtp { port, refused }
    }

    pub fn refused(&self) -> usize {
        *self.refused.lock().expect("count")
    }
}

/// Sends SIGTERM to `child`, as systemd or Ctrl-C would.
pub fn sigterm(child: &tokio::process::Child) {
    let pid = child.id().expect("running child");
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
}
