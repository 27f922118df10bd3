//! Scale benchmarks (issue 7): crawl throughput against a real local web server (beside Scrapy),
//! backfill and export of a large archive, the store at a million articles, and the idle daemon
//! with a thousand sources.
//!
//! ```sh
//! cargo bench --bench scale                      # everything at the default sizes (a few minutes)
//! cargo bench --bench scale -- crawl --n 2000 --runs 3
//! cargo bench --bench scale -- server            # the web server alone, measured with wrk
//! cargo bench --bench scale -- backfill --records 100000
//! cargo bench --bench scale -- store --store-records 1000000
//! cargo bench --bench scale -- idle --sources 1000 --idle-secs 20
//! ```
//!
//! Options: `--n` article pages of the crawl site (2000), `--runs` repetitions of each crawl
//! (3), `--records` archive records for backfill/export (100000), `--store-records` articles in
//! the store bench (1000000), `--sources` sources of the idle daemon (1000), `--idle-secs` the
//! idle window (20), `--server nginx|inprocess` (nginx when installed), `--no-scrapy`.
//! Scratch data goes to a temporary folder under `$NEWSWATCH_BENCH_DIR` (default: the system
//! temp dir) and is removed at the end.
//!
//! The crawl, backfill, export and idle benches drive the real release `newswatch` binary, which
//! cargo builds for the bench (`CARGO_BIN_EXE_newswatch`); the store bench uses the library.
//! Child processes are measured with GNU time (`/usr/bin/time -f '%e %U %S %M'`): wall, CPU and
//! peak RSS. The site is built from the texts of `../shared/seeds/000_708f4c76f94c8937.txt`
//! (generated sentences when it is absent): each page gets a unique title and a body of 25–45
//! sentences drawn at random from the pool, so no two pages are near-duplicates of each other.
//! Everything is served on 127.0.0.1 only, and every server and daemon started here is stopped
//! before the bench returns.

use newswatch::article::{Article, ContentHash, Fingerprint};
use newswatch::store::{Inserted, Store};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The binary under test: the release build cargo made for this bench, or
/// `$NEWSWATCH_BENCH_BIN` (to compare another build, e.g. one saved before a change).
static BIN: std::sync::LazyLock<PathBuf> = std::sync::LazyLock::new(|| {
    std::env::var_os("NEWSWATCH_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_newswatch")))
});

struct Args {
    which: Vec<String>,
    n: usize,
    runs: usize,
    records: usize,
    store_records: usize,
    sources: usize,
    idle_secs: u64,
    server: Option<String>,
    scrapy: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        which: Vec::new(),
        n: 2000,
        runs: 3,
        records: 100_000,
        store_records: 1_000_000,
        sources: 1000,
        idle_secs: 20,
        server: None,
        scrapy: true,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>, what: &str| -> usize {
        v.and_then(|s| s.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{what} needs a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bench" => {}
            "--n" => a.n = num(it.next(), "--n"),
            "--runs" => a.runs = num(it.next(), "--runs").max(1),
            "--records" => a.records = num(it.next(), "--records"),
            "--store-records" => a.store_records = num(it.next(), "--store-records"),
            "--sources" => a.sources = num(it.next(), "--sources"),
            "--idle-secs" => a.idle_secs = num(it.next(), "--idle-secs") as u64,
            "--server" => a.server = it.next(),
            "--no-scrapy" => a.scrapy = false,
            w if !w.starts_with('-') => a.which.push(w.to_owned()),
            other => panic!("unknown option {other}"),
        }
    }
    if a.which.is_empty() || a.which.iter().any(|w| w == "all") {
        a.which = ["crawl", "backfill", "store", "idle"]
            .map(String::from)
            .to_vec();
    }
    a
}

fn main() {
    let args = parse_args();
    println!("newswatch scale benchmarks; binary {}", BIN.display());
    println!("machine: {} cores, load {}", cores(), loadavg());
    for which in args.which.clone() {
        let t = Instant::now();
        match which.as_str() {
            "crawl" => bench_crawl(&args),
            "server" => bench_server(&args),
            "backfill" | "export" => bench_backfill(&args),
            "store" => bench_store(&args),
            "idle" => bench_idle(&args),
            other => panic!("unknown bench {other} (crawl, server, backfill, store, idle, all)"),
        }
        println!("({which} took {:.1} s)\n", t.elapsed().as_secs_f64());
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn scratch() -> tempfile::TempDir {
    let base = std::env::var_os("NEWSWATCH_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("nw-scale-")
        .tempdir_in(base)
        .unwrap_or_else(|e| panic!("scratch dir: {e}"));
    // nginx's worker may run as another user: let it read the site.
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
    dir
}

/// What GNU time says about one child process.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    wall: f64,
    cpu: f64,
    max_rss_mb: f64,
}

/// Runs `cmd` under `/usr/bin/time`, returning its stdout, stderr and usage. Panics when it
/// fails.
fn timed(cmd: &mut Command, stdout_to: Option<&Path>) -> (String, String, Usage) {
    let tmp = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let prog = cmd.get_program().to_owned();
    let mut wrapped = Command::new("/usr/bin/time");
    wrapped
        .arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(tmp.path())
        .arg(&prog)
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    match stdout_to {
        Some(p) => wrapped.stdout(std::fs::File::create(p).unwrap_or_else(|e| panic!("{e}"))),
        None => wrapped.stdout(Stdio::piped()),
    };
    let start = Instant::now();
    let out = wrapped
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot run /usr/bin/time {prog:?}: {e}"));
    let wall = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{prog:?} failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    let t = std::fs::read_to_string(tmp.path()).unwrap_or_default();
    let f: Vec<f64> = t
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let usage = match f.as_slice() {
        [_, u, s, m] => Usage {
            wall,
            cpu: u + s,
            max_rss_mb: m / 1024.0,
        },
        _ => panic!("cannot read /usr/bin/time output {t:?}"),
    };
    (stdout, stderr, usage)
}

/// utime + stime of a process, in seconds.
fn proc_cpu(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn proc_status_kb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `pid` and its direct children.
fn family(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(child) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
                continue;
            };
            let ppid = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(pid) {
                out.push(child);
            }
        }
    }
    out
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn spread(v: &[f64], prec: usize) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.len() == 1 {
        format!("{:.prec$}", v[0])
    } else {
        format!("{:.prec$} ({lo:.prec$}–{hi:.prec$})", median(v))
    }
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

// ---------------------------------------------------------------------------------------------
// Texts and the generated site

struct Texts {
    titles: Vec<String>,
    sentences: Vec<String>,
    from_seeds: bool,
}

fn texts() -> Texts {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds/000_708f4c76f94c8937.txt");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let lines: Vec<&str> = text.lines().collect();
        let mut titles = Vec::new();
        let mut sentences = Vec::new();
        for c in lines.chunks(4) {
            if let ["-", title, body, _date] = c {
                titles.push(title.to_string());
                sentences.extend(
                    body.split_inclusive('。')
                        .map(str::trim)
                        .filter(|s| s.chars().count() > 4)
                        .map(str::to_owned),
                );
            }
        }
        if !titles.is_empty() && sentences.len() > 50 {
            return Texts {
                titles,
                sentences,
                from_seeds: true,
            };
        }
    }
    let places = [
        "硚口区",
        "东湖高新区",
        "江岸区",
        "东西湖区",
        "汉阳区",
        "洪山区",
        "江夏区",
        "蔡甸区",
    ];
    let acts = [
        "签约", "开工", "投产", "落户", "竣工", "招商", "推介", "对接",
    ];
    let things = [
        "光电子信息项目",
        "生物医药项目",
        "智能制造基地",
        "总部经济项目",
        "数字经济园区",
        "新能源汽车项目",
        "现代物流中心",
        "科技孵化器",
    ];
    let mut sentences = Vec::new();
    for (i, p) in places.iter().enumerate() {
        for (j, a) in acts.iter().enumerate() {
            for (k, t) in things.iter().enumerate() {
                sentences.push(format!(
                    "{p}今年以来围绕{t}持续发力，集中{a}{}个，总投资{}亿元，进一步优化了营商环境。",
                    i + j + 2,
                    (k + 1) * 13 + i
                ));
            }
        }
    }
    Texts {
        titles: places
            .iter()
            .map(|p| format!("{p}招商引资工作动态"))
            .collect(),
        sentences,
        from_seeds: false,
    }
}

struct ArticleText {
    title: String,
    date: String,
    sentences: Vec<usize>,
}

fn article_text(
    t: &Texts,
    i: usize,
    rng: &mut fastrand::Rng,
    len: std::ops::Range<usize>,
) -> ArticleText {
    let k = rng.usize(len);
    ArticleText {
        title: format!("{}（第{}期）", t.titles[i % t.titles.len()], i + 1),
        date: format!("{}-{:02}-{:02}", 2020 + i % 6, 1 + i % 12, 1 + i % 28),
        sentences: (0..k).map(|_| rng.usize(..t.sentences.len())).collect(),
    }
}

fn article_html(t: &Texts, a: &ArticleText, i: usize, n: usize) -> String {
    let mut paragraphs = String::new();
    for chunk in a.sentences.chunks(3) {
        paragraphs.push_str("<p style=\"text-indent:2em\">");
        for &s in chunk {
            paragraphs.push_str(&t.sentences[s]);
        }
        paragraphs.push_str("</p>\n");
    }
    let menu: String = (0..12)
        .map(|i| format!("<li><a href=\"/col{i}/\">栏目{i}</a></li>"))
        .collect();
    let related: String = (1..=8)
        .map(|k| {
            let j = (i + k * 37) % n.max(1);
            format!(
                "<li><a href=\"/art/{j}.html\">相关新闻第{j}条</a><span>2025-06-{:02}</span></li>",
                k
            )
        })
        .collect();
    let title = &a.title;
    let date = &a.date;
    format!(
        r##"<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_武汉市人民政府</title>
<meta name="PubDate" content="{date} 09:30"><meta name="ColumnName" content="工作动态">
<link rel="stylesheet" href="/css/main.css"><style>.nav li{{float:left}} .main{{width:1200px}}</style>
<script>var _hmt = _hmt || []; (function() {{ var hm = document.createElement("script"); }})();</script>
</head><body>
<div class="header"><div class="logo"><img src="/logo.png" alt="武汉市人民政府"></div>
<ul class="nav">{menu}</ul><div class="search"><form action="/search"><input name="q"><button>搜索</button></form></div></div>
<div class="main"><div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/list/index.html">新闻中心</a> &gt; 工作动态</div>
<div class="article"><h1 class="title">{title}</h1>
<div class="info"><span class="pubdate">发布时间：{date} 09:30</span> 来源：区融媒体中心 【字号：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】 <a href="javascript:print()">打印本页</a></div>
<div class="article-content">{paragraphs}</div>
<div class="share">分享到：<a href="#">微信</a><a href="#">微博</a><a href="#">QQ空间</a></div>
</div>
<div class="related"><h3>相关新闻</h3><ul>{related}</ul></div></div>
<div class="footer"><p>主办：武汉市人民政府办公厅 版权所有 鄂ICP备05003321号</p><p>地址：武汉市江岸区沿江大道 电话：027-82792209</p></div>
<script src="/js/jquery.min.js"></script><script>$(function(){{ $('.nav li').hover(function(){{}}); }});</script>
</body></html>"##
    )
}

fn list_html(links: &[(usize, &ArticleText)], next: Option<String>) -> String {
    let mut items = String::new();
    for (i, a) in links {
        let _ = writeln!(
            items,
            "<li><a href=\"/art/{i}.html\" target=\"_blank\">{}</a><span>{}</span></li>",
            a.title, a.date
        );
    }
    let next = next.map_or(String::new(), |n| {
        format!("<a class=\"next\" href=\"{n}\">下一页</a>")
    });
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>工作动态</title></head><body>\n\
         <div class=\"header\"><a href=\"/\">首页</a></div>\n<ul class=\"news-list\">\n{items}</ul>\n\
         <div class=\"pages\"><a href=\"index.html\">首页</a>{next}</div>\n\
         <div class=\"footer\">版权所有</div></body></html>"
    )
}

/// The site: `/robots.txt`, list pages `/list/index.html`, `/list/index_1.html`, … of 100 links
/// each, article pages `/art/{i}.html`, and `sources` one-link list pages `/idle/{i}.html`.
struct Site {
    files: HashMap<String, Vec<u8>>,
    list_pages: usize,
    bytes: usize,
}

const PER_LIST: usize = 100;

fn site(n: usize, idle_sources: usize) -> Site {
    let t = texts();
    let mut rng = fastrand::Rng::with_seed(7);
    let arts: Vec<ArticleText> = (0..n)
        .map(|i| article_text(&t, i, &mut rng, 25..45))
        .collect();
    let mut files = HashMap::new();
    files.insert(
        "/robots.txt".to_owned(),
        b"User-agent: *\nDisallow: /private/\n".to_vec(),
    );
    for (i, a) in arts.iter().enumerate() {
        files.insert(
            format!("/art/{i}.html"),
            article_html(&t, a, i, n).into_bytes(),
        );
    }
    let all: Vec<(usize, &ArticleText)> = arts.iter().enumerate().collect();
    let chunks: Vec<_> = all.chunks(PER_LIST).collect();
    let name = |k: usize| {
        if k == 0 {
            "index.html".to_owned()
        } else {
            format!("index_{k}.html")
        }
    };
    for (k, chunk) in chunks.iter().enumerate() {
        let next = (k + 1 < chunks.len()).then(|| name(k + 1));
        files.insert(
            format!("/list/{}", name(k)),
            list_html(chunk, next).into_bytes(),
        );
    }
    for i in 0..idle_sources {
        let j = i % n.max(1);
        files.insert(
            format!("/idle/{i}.html"),
            list_html(&[(j, &arts[j])], None).into_bytes(),
        );
    }
    let bytes = arts
        .iter()
        .enumerate()
        .map(|(i, _)| files[&format!("/art/{i}.html")].len())
        .sum();
    if !t.from_seeds {
        println!("(seed archive not found: pages use generated sentences)");
    }
    Site {
        files,
        list_pages: chunks.len(),
        bytes,
    }
}

// ---------------------------------------------------------------------------------------------
// The web server

enum Server {
    Nginx {
        child: Child,
        port: u16,
    },
    InProcess {
        port: u16,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

fn nginx_path() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

impl Server {
    fn start(site: &Site, scratch: &Path, choice: Option<&str>) -> Server {
        let nginx = match choice {
            Some("inprocess") => None,
            Some("nginx") => Some(nginx_path().expect("nginx not installed")),
            _ => nginx_path(),
        };
        match nginx {
            Some(nginx) => Server::nginx(&nginx, site, scratch),
            None => {
                if choice != Some("inprocess") {
                    println!("(nginx not found: serving from an in-process axum server)");
                }
                Server::in_process(site)
            }
        }
    }

    fn nginx(nginx: &Path, site: &Site, scratch: &Path) -> Server {
        let root = scratch.join("www");
        for (path, body) in &site.files {
            let p = root.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap_or(&root)).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(&p, body).unwrap_or_else(|e| panic!("{e}"));
        }
        let conf_dir = scratch.join("nginx");
        std::fs::create_dir_all(conf_dir.join("tmp")).unwrap_or_else(|e| panic!("{e}"));
        let port = free_port();
        let d = conf_dir.display();
        let conf = format!(
            "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 100000;\n\
             types {{ text/html html; text/plain txt; }}\n  default_type application/octet-stream;\n\
             charset utf-8;\n  client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n\
             fastcgi_temp_path {d}/tmp/fcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n\
             server {{ listen 127.0.0.1:{port}; root {}; }}\n}}\n",
            root.display()
        );
        let conf_path = conf_dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(nginx)
            .arg("-e")
            .arg(conf_dir.join("error.log"))
            .arg("-p")
            .arg(&conf_dir)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nginx: {e}"));
        let server = Server::Nginx { child, port };
        server.wait_ready();
        let version = Command::new(nginx)
            .arg("-v")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
            .unwrap_or_default();
        println!("server: {version}, 1 worker, on 127.0.0.1:{port}");
        server
    }

    fn in_process(site: &Site) -> Server {
        use axum::body::Bytes;
        use axum::http::{StatusCode, Uri, header};
        use axum::response::IntoResponse;
        let files: Arc<HashMap<String, Bytes>> = Arc::new(
            site.files
                .iter()
                .map(|(k, v)| (k.clone(), Bytes::from(v.clone())))
                .collect(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{e}"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            rt.block_on(async move {
                let app = axum::Router::new().fallback(move |uri: Uri| {
                    let files = files.clone();
                    async move {
                        match files.get(uri.path()) {
                            Some(b) => {
                                let ct = if uri.path().ends_with(".txt") {
                                    "text/plain"
                                } else {
                                    "text/html; charset=utf-8"
                                };
                                ([(header::CONTENT_TYPE, ct)], b.clone()).into_response()
                            }
                            None => StatusCode::NOT_FOUND.into_response(),
                        }
                    }
                });
                let listener =
                    tokio::net::TcpListener::from_std(listener).unwrap_or_else(|e| panic!("{e}"));
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let server = Server::InProcess {
            port,
            stop: Some(stop),
            thread: Some(thread),
        };
        server.wait_ready();
        println!("server: in-process axum (1 worker thread) on 127.0.0.1:{port}");
        server
    }

    fn port(&self) -> u16 {
        match self {
            Server::Nginx { port, .. } | Server::InProcess { port, .. } => *port,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port())).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// CPU seconds the server has used so far (nginx master and workers), if measurable.
    fn cpu(&self) -> Option<f64> {
        match self {
            Server::Nginx { child, .. } => family(child.id()).into_iter().map(proc_cpu).sum(),
            Server::InProcess { .. } => None,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Server::Nginx { .. } => "nginx",
            Server::InProcess { .. } => "in-process axum",
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match self {
            Server::Nginx { child, .. } => {
                // SIGTERM to the master stops its workers too ("fast shutdown").
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(child.id().to_string())
                    .status();
                let deadline = Instant::now() + Duration::from_secs(5);
                while child.try_wait().ok().flatten().is_none() {
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            Server::InProcess { stop, thread, .. } => {
                if let Some(s) = stop.take() {
                    let _ = s.send(());
                }
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
        }
    }
}

/// The server alone: 16 connections fetching article pages round-robin for `secs` seconds,
/// with wrk when installed (else a reqwest client). Requests per second.
fn server_alone(server: &Server, n: usize, scratch: &Path, secs: u64) -> (f64, &'static str) {
    if Command::new("wrk").arg("--version").output().is_ok() {
        let script = scratch.join("rotate.lua");
        let lua = format!(
            "counter = 0\nrequest = function()\n  counter = counter + 1\n  return wrk.format(nil, \"/art/\" .. (counter % {n}) .. \".html\")\nend\n"
        );
        std::fs::write(&script, lua).unwrap_or_else(|e| panic!("{e}"));
        let out = Command::new("wrk")
            .args(["-t1", "-c16", &format!("-d{secs}s"), "-s"])
            .arg(&script)
            .arg(format!("{}/art/0.html", server.base()))
            .output()
            .unwrap_or_else(|e| panic!("wrk: {e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        let rps = text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        return (rps, "wrk -t1 -c16");
    }
    let base = server.base();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let done = rt.block_on(async move {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|t| {
                let (client, base, count) = (client.clone(), base.clone(), count.clone());
                tokio::spawn(async move {
                    let mut i = t;
                    while tokio::time::Instant::now() < deadline {
                        let url = format!("{base}/art/{}.html", i % n);
                        if let Ok(r) = client.get(url).send().await {
                            let _ = r.bytes().await;
                        }
                        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        i += 16;
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
        count.load(std::sync::atomic::Ordering::Relaxed)
    });
    (done as f64 / secs as f64, "reqwest, 16 tasks")
}

fn bench_server(args: &Args) {
    let dir = scratch();
    let site = site(args.n, 0);
    let server = Server::start(&site, dir.path(), args.server.as_deref());
    let cpu0 = server.cpu();
    let (rps, how) = server_alone(&server, args.n, dir.path(), 5);
    let cpu = server.cpu().zip(cpu0).map(|(a, b)| a - b);
    println!(
        "server alone ({}, {how}, 5 s, article pages of {:.1} KiB on average): {rps:.0} requests/s{}",
        server.name(),
        site.bytes as f64 / args.n as f64 / 1024.0,
        cpu.map_or(String::new(), |c| format!(
            ", server CPU {:.2} s/1000 requests",
            c / (rps * 5.0) * 1000.0
        )),
    );
}

// ---------------------------------------------------------------------------------------------
// Crawl

fn crawl_config(base: &str, state: &Path, list_pages: usize, n: usize) -> String {
    format!(
        r#"[settings]
state_dir = "{}"
concurrency = 16
per_host_concurrency = 16
per_host_delay_ms = 0
max_articles = {}

[digest]
schedule = "0 8 * * *"
from = "newswatch <newswatch@example.org>"
to = ["analyst@example.org"]

[[source]]
name = "bench"
kind = "html"
url = "{base}/list/index.html"
schedule = "0 8 * * *"
links = "ul.news-list a"
next = "div.pages a.next"
max_pages = {}
title = "h1.title"
body = "div.article-content"
date = "span.pubdate"
"#,
        state.display(),
        n + 10,
        list_pages + 1
    )
}

struct CrawlRun {
    usage: Usage,
    pages: usize,
    server_cpu: Option<f64>,
    state_bytes: u64,
}

fn run_newswatch_crawl(
    server: &Server,
    site: &Site,
    n: usize,
    scratch: &Path,
    run: usize,
) -> CrawlRun {
    let dir = scratch.join(format!("newswatch-{run}"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let state = dir.join("state");
    let conf = dir.join("sources.toml");
    std::fs::write(
        &conf,
        crawl_config(&server.base(), &state, site.list_pages, n),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cpu0 = server.cpu();
    let (out, _err, usage) = timed(
        Command::new(&*BIN).arg("--config").arg(&conf).arg("crawl"),
        None,
    );
    let server_cpu = server.cpu().zip(cpu0).map(|(a, b)| a - b);
    let expect = format!("bench: {n} new, 0 duplicate, 0 failed");
    assert!(out.contains(&expect), "expected {expect:?}, got:\n{out}");
    let state_bytes = dir_size(&state);
    let _ = std::fs::remove_dir_all(&dir);
    CrawlRun {
        usage,
        pages: n,
        server_cpu,
        state_bytes,
    }
}

fn scrapy_available() -> bool {
    Command::new("python3")
        .args(["-c", "import scrapy"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run_scrapy(server: &Server, scratch: &Path, run: usize) -> CrawlRun {
    let spider = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/scrapy_spider.py");
    let items = scratch.join(format!("scrapy-{run}.jl"));
    let cpu0 = server.cpu();
    let (out, err, usage) = timed(
        Command::new("python3")
            .arg(&spider)
            .arg("--start")
            .arg(format!("{}/list/index.html", server.base()))
            .arg("--out")
            .arg(&items),
        None,
    );
    let server_cpu = server.cpu().zip(cpu0).map(|(a, b)| a - b);
    let pages = std::fs::File::open(&items)
        .map(|f| BufReader::new(f).lines().count())
        .unwrap_or(0);
    assert!(pages > 0, "scrapy scraped nothing:\n{out}\n{err}");
    let _ = std::fs::remove_file(&items);
    CrawlRun {
        usage,
        pages,
        server_cpu,
        state_bytes: 0,
    }
}

fn bench_crawl(args: &Args) {
    let n = args.n;
    let dir = scratch();
    let t = Instant::now();
    let site = site(n, 0);
    println!(
        "crawl: site of {n} article pages ({:.1} MiB, {:.1} KiB each) + {} list pages, generated in {:.1} s",
        site.bytes as f64 / 1048576.0,
        site.bytes as f64 / n as f64 / 1024.0,
        site.list_pages,
        t.elapsed().as_secs_f64()
    );
    let server = Server::start(&site, dir.path(), args.server.as_deref());
    let (rps, how) = server_alone(&server, n, dir.path(), 3);
    println!(
        "server alone ({how}, 3 s): {rps:.0} requests/s (load {})",
        loadavg()
    );
    let scrapy = args.scrapy && scrapy_available();
    if args.scrapy && !scrapy {
        println!("(scrapy is not importable: `pip install scrapy` to compare; skipped)");
    }
    let mut rows: Vec<(&str, usize, CrawlRun, String)> = Vec::new();
    for run in 1..=args.runs {
        let load = loadavg();
        rows.push((
            "newswatch",
            run,
            run_newswatch_crawl(&server, &site, n, dir.path(), run),
            load,
        ));
        if scrapy {
            let load = loadavg();
            rows.push(("scrapy", run, run_scrapy(&server, dir.path(), run), load));
        }
    }
    println!(
        "\n{:<10} {:>3} {:>7} {:>8} {:>7} {:>8} {:>8} {:>9} {:>7}  load before",
        "crawler", "run", "pages", "wall s", "pages/s", "CPU s", "CPU s/1k", "peak RSS", "srv CPU"
    );
    for (who, run, r, load) in &rows {
        println!(
            "{:<10} {:>3} {:>7} {:>8.2} {:>7.0} {:>8.2} {:>8.2} {:>6.1} MB {:>7} {load}",
            who,
            run,
            r.pages,
            r.usage.wall,
            r.pages as f64 / r.usage.wall,
            r.usage.cpu,
            r.usage.cpu / r.pages as f64 * 1000.0,
            r.usage.max_rss_mb,
            r.server_cpu.map_or("-".into(), |c| format!("{c:.2}")),
        );
    }
    println!("\nsummary, median (min–max) over {} runs:", args.runs);
    let mut medians = HashMap::new();
    for who in ["newswatch", "scrapy"] {
        let rs: Vec<&CrawlRun> = rows.iter().filter(|r| r.0 == who).map(|r| &r.2).collect();
        if rs.is_empty() {
            continue;
        }
        let pps: Vec<f64> = rs.iter().map(|r| r.pages as f64 / r.usage.wall).collect();
        let cpu: Vec<f64> = rs
            .iter()
            .map(|r| r.usage.cpu / r.pages as f64 * 1000.0)
            .collect();
        let rss: Vec<f64> = rs.iter().map(|r| r.usage.max_rss_mb).collect();
        medians.insert(who, median(&pps));
        println!(
            "  {who:<10} pages/s {}   CPU s per 1000 pages {}   peak RSS MB {}",
            spread(&pps, 0),
            spread(&cpu, 2),
            spread(&rss, 1)
        );
        if who == "newswatch" {
            let state: Vec<f64> = rs
                .iter()
                .map(|r| r.state_bytes as f64 / 1048576.0)
                .collect();
            println!(
                "  {:<10} state dir after the crawl: {} MiB",
                "",
                spread(&state, 1)
            );
        }
    }
    if let (Some(a), Some(b)) = (medians.get("newswatch"), medians.get("scrapy")) {
        println!("  newswatch / scrapy pages per second: {:.1}x", a / b);
    }
}

// ---------------------------------------------------------------------------------------------
// Backfill and export

fn bench_backfill(args: &Args) {
    let records = args.records;
    let dir = scratch();
    let t = texts();
    let archive = dir.path().join("archive.txt");
    let t0 = Instant::now();
    let mut w =
        std::io::BufWriter::new(std::fs::File::create(&archive).unwrap_or_else(|e| panic!("{e}")));
    let mut rng = fastrand::Rng::with_seed(11);
    // About 2 % of records repeat an earlier one exactly (found again by dedup).
    let mut dups = 0;
    let record = |i: usize| {
        let mut r = fastrand::Rng::with_seed(i as u64 * 7919 + 1);
        let a = article_text(&t, i, &mut r, 6..14);
        let body: Vec<&str> = a
            .sentences
            .iter()
            .map(|&s| t.sentences[s].as_str())
            .collect();
        format!("-\n{}\n{}\n{}\n", a.title, body.join(" "), a.date)
    };
    let mut originals = Vec::with_capacity(records);
    for i in 0..records {
        let rec = if i > 10 && rng.f64() < 0.02 {
            dups += 1;
            record(originals[rng.usize(..originals.len())])
        } else {
            originals.push(i);
            record(i)
        };
        w.write_all(rec.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    w.flush().unwrap_or_else(|e| panic!("{e}"));
    drop(w);
    let size = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    println!(
        "backfill: archive of {records} records ({dups} exact repeats), {:.1} MiB, generated in {:.1} s",
        size as f64 / 1048576.0,
        t0.elapsed().as_secs_f64()
    );
    let state = dir.path().join("state");
    let conf = dir.path().join("sources.toml");
    std::fs::write(
        &conf,
        format!(
            "[settings]\nstate_dir = \"{}\"\n\n[digest]\nschedule = \"0 8 * * *\"\nfrom = \"n <n@example.org>\"\nto = [\"a@example.org\"]\n",
            state.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let load = loadavg();
    let (out, _, bf) = timed(
        Command::new(&*BIN)
            .arg("--config")
            .arg(&conf)
            .arg("backfill")
            .arg(&archive),
        None,
    );
    let expect = format!("{} imported, {dups} duplicate, 0 rejected", records - dups);
    assert!(out.contains(&expect), "expected {expect:?}, got {out}");
    let state_bytes = dir_size(&state);
    let load2 = loadavg();
    let exported = dir.path().join("export.txt");
    let (_, _, ex) = timed(
        Command::new(&*BIN).arg("--config").arg(&conf).arg("export"),
        Some(&exported),
    );
    let n_exported = std::fs::File::open(&exported)
        .map(|f| {
            BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .filter(|l| l == "-")
                .count()
        })
        .unwrap_or(0);
    assert_eq!(
        n_exported,
        records - dups,
        "export wrote every stored article"
    );
    let load3 = loadavg();
    let exported_jsonl = dir.path().join("export.jsonl");
    let (_, _, exj) = timed(
        Command::new(&*BIN)
            .arg("--config")
            .arg(&conf)
            .args(["export", "--format", "jsonl"]),
        Some(&exported_jsonl),
    );
    // The same archive again: everything is a duplicate.
    let (out2, _, again) = timed(
        Command::new(&*BIN)
            .arg("--config")
            .arg(&conf)
            .arg("backfill")
            .arg(&archive),
        None,
    );
    assert!(
        out2.contains(&format!("0 imported, {records} duplicate")),
        "{out2}"
    );
    println!(
        "\n{:<28} {:>9} {:>9} {:>10} {:>9} {:>9}  load before",
        "step", "records", "wall s", "records/s", "CPU s", "peak RSS"
    );
    for (step, n, u, load) in [
        ("backfill (new store)", records, bf, &load),
        ("export --format archive", n_exported, ex, &load2),
        ("export --format jsonl", n_exported, exj, &load3),
        ("backfill again (all dups)", records, again, &load3),
    ] {
        println!(
            "{step:<28} {n:>9} {:>9.2} {:>10.0} {:>9.2} {:>6.1} MB  {load}",
            u.wall,
            n as f64 / u.wall,
            u.cpu,
            u.max_rss_mb
        );
    }
    println!(
        "state dir after backfill: {:.1} MiB ({:.0} KiB per 1000 articles; archive {:.0} KiB per 1000)",
        state_bytes as f64 / 1048576.0,
        state_bytes as f64 / 1024.0 / ((records - dups) as f64 / 1000.0),
        size as f64 / 1024.0 / (records as f64 / 1000.0)
    );
}

// ---------------------------------------------------------------------------------------------
// Store

fn store_article(t: &Texts, i: usize) -> Article {
    let mut r = fastrand::Rng::with_seed(i as u64 * 31 + 5);
    let a = article_text(t, i, &mut r, 3..5);
    let mut body: String = a
        .sentences
        .iter()
        .map(|&s| t.sentences[s].as_str())
        .collect();
    let _ = write!(body, "（编号{i}）");
    let day = chrono::NaiveDate::parse_from_str(&a.date, "%Y-%m-%d").unwrap_or_default();
    Article::new(
        &a.title,
        &body,
        day,
        Some(format!("http://127.0.0.1/art/{i}.html")),
        "bench",
        chrono::Utc::now(),
    )
}

fn bench_store(args: &Args) {
    let m = args.store_records;
    let dir = scratch();
    let t = texts();
    let store = Store::open(&dir.path().join("state")).unwrap_or_else(|e| panic!("{e}"));
    let queues = vec!["digest".to_owned()];
    let mut hashes: Vec<ContentHash> = Vec::with_capacity(m);
    let mut in_store = Duration::ZERO;
    let mut window = Duration::ZERO;
    let step = (m / 10).max(1);
    println!(
        "store: inserting {m} articles (bodies of ~150–250 characters, one digest queue; load {})",
        loadavg()
    );
    println!(
        "{:>10} {:>14} {:>14} {:>10}",
        "articles", "cumulative/s", "last window/s", "RSS MB"
    );
    let mut last_window_rate = 0.0;
    for i in 0..m {
        let a = store_article(&t, i);
        hashes.push(a.hash);
        let s = Instant::now();
        let r = store
            .insert(&a, &queues, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let d = s.elapsed();
        in_store += d;
        window += d;
        assert!(matches!(r, Inserted::New(_)), "article {i}: {r:?}");
        if (i + 1) % step == 0 {
            last_window_rate = step as f64 / window.as_secs_f64();
            println!(
                "{:>10} {:>14.0} {:>14.0} {:>10.1}",
                i + 1,
                (i + 1) as f64 / in_store.as_secs_f64(),
                last_window_rate,
                proc_status_kb(std::process::id(), "VmRSS:").unwrap_or(0.0) / 1024.0
            );
            window = Duration::ZERO;
        }
    }
    let s = Instant::now();
    store.flush_blocking().unwrap_or_else(|e| panic!("{e}"));
    let flush = s.elapsed().as_secs_f64();
    let size = dir_size(&dir.path().join("state"));
    let lookups = 100_000.min(m.max(1));
    let mut rng = fastrand::Rng::with_seed(3);
    let picks: Vec<usize> = (0..lookups).map(|_| rng.usize(..m.max(1))).collect();
    let rate = |f: &mut dyn FnMut(usize)| {
        let s = Instant::now();
        for &i in &picks {
            f(i);
        }
        lookups as f64 / s.elapsed().as_secs_f64()
    };
    let by_hash = rate(&mut |i| {
        assert!(store.find_hash(&hashes[i]).ok().flatten().is_some());
    });
    let by_url = rate(&mut |i| {
        assert!(
            store
                .has_url(&format!("http://127.0.0.1/art/{i}.html"))
                .unwrap_or(false)
        );
    });
    let missing = rate(&mut |i| {
        assert!(
            !store
                .has_url(&format!("http://127.0.0.1/new/{i}.html"))
                .unwrap_or(true)
        );
    });
    // What a crawl does for every page with a fingerprint: exact hash, then near-duplicate
    // bands. Bodies too short for a fingerprint get no band lookup at all, so only the picks
    // with one are timed and counted.
    let fps: Vec<Fingerprint> = picks
        .iter()
        .filter_map(|&i| Fingerprint::of(&store_article(&t, i).body))
        .collect();
    let s = Instant::now();
    for fp in &fps {
        assert!(store.near_duplicate(*fp, 6).ok().flatten().is_some());
    }
    let near = fps.len() as f64 / s.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
    let near_lookups = fps.len();
    // Re-inserting stored content under a new URL: the duplicate path of insert.
    let dup_articles: Vec<Article> = picks
        .iter()
        .take(20_000)
        .map(|&i| {
            let mut a = store_article(&t, i);
            a.url = Some(format!("http://127.0.0.1/copy/{i}.html"));
            a
        })
        .collect();
    let s = Instant::now();
    for a in &dup_articles {
        let r = store
            .insert(a, &queues, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(r, Inserted::Duplicate(_)));
    }
    let dup_insert = dup_articles.len() as f64 / s.elapsed().as_secs_f64();
    println!("\nat {m} articles (load {}):", loadavg());
    println!(
        "  insert (new article, one transaction)   {:>10.0} /s overall, {last_window_rate:.0} /s in the last tenth",
        m as f64 / in_store.as_secs_f64()
    );
    println!("  insert of a duplicate (hash known)       {dup_insert:>10.0} /s");
    println!("  find_hash (exact duplicate lookup)       {by_hash:>10.0} /s");
    println!("  has_url, known URL                       {by_url:>10.0} /s");
    println!("  has_url, unknown URL                     {missing:>10.0} /s");
    println!(
        "  near_duplicate (4 SimHash bands)         {near:>10.0} /s ({near_lookups} of {lookups} picks have a fingerprint; only those are timed)"
    );
    println!("  flush after the inserts                  {flush:>10.2} s");
    println!(
        "  state dir {:.1} MiB: {:.0} KiB per 1000 articles (article JSON ~{} bytes)",
        size as f64 / 1048576.0,
        size as f64 / 1024.0 / (m as f64 / 1000.0),
        serde_json::to_vec(&store_article(&t, 0))
            .map(|v| v.len())
            .unwrap_or(0)
    );
    println!(
        "  bench process peak RSS {:.0} MB (sled's page cache grows toward its 1 GiB default)",
        proc_status_kb(std::process::id(), "VmHWM:").unwrap_or(0.0) / 1024.0
    );
}

// ---------------------------------------------------------------------------------------------
// Idle daemon

fn idle_config(base: &str, state: &Path, sources: usize) -> String {
    let mut c = format!(
        "[settings]\nstate_dir = \"{}\"\nconcurrency = 16\nper_host_concurrency = 16\nper_host_delay_ms = 0\n\n\
         [digest]\nschedule = \"0 8 * * *\"\nfrom = \"n <n@example.org>\"\nto = [\"a@example.org\"]\n",
        state.display()
    );
    for i in 0..sources {
        let _ = write!(
            c,
            "\n[[source]]\nname = \"s{i}\"\nkind = \"html\"\nurl = \"{base}/idle/{i}.html\"\nschedule = \"{} 3 * * *\"\n\
             links = \"ul.news-list a\"\ntitle = \"h1.title\"\nbody = \"div.article-content\"\ndate = \"span.pubdate\"\n",
            i % 60
        );
    }
    c
}

fn bench_idle(args: &Args) {
    let sources = args.sources;
    let dir = scratch();
    let site = site(sources.max(1), sources);
    let server = Server::start(&site, dir.path(), args.server.as_deref());
    let state = dir.path().join("state");
    let conf = dir.path().join("sources.toml");
    std::fs::write(&conf, idle_config(&server.base(), &state, sources))
        .unwrap_or_else(|e| panic!("{e}"));
    // One crawl of every source first, so none is overdue when the daemon starts.
    let (out, _, crawl) = timed(
        Command::new(&*BIN).arg("--config").arg(&conf).arg("crawl"),
        None,
    );
    let ok = out
        .lines()
        .filter(|l| l.contains(": 1 new, 0 duplicate, 0 failed"))
        .count();
    assert_eq!(ok, sources, "every source stored its article:\n{out}");
    println!(
        "idle: `crawl` of all {sources} sources at once: {:.2} s wall, {:.2} CPU s, peak RSS {:.1} MB",
        crawl.wall, crawl.cpu, crawl.max_rss_mb
    );
    let log = dir.path().join("daemon.log");
    let mut child = Command::new(&*BIN)
        .arg("--config")
        .arg(&conf)
        .arg("run")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = child.id();
    let started = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("newswatch running")
    {
        if started.elapsed() > Duration::from_secs(30) || child.try_wait().ok().flatten().is_some()
        {
            let _ = child.kill();
            panic!(
                "daemon did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let up = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(2));
    let load = loadavg();
    let cpu0 = proc_cpu(pid).unwrap_or(0.0);
    let t0 = Instant::now();
    let mut rss_max: f64 = 0.0;
    while t0.elapsed() < Duration::from_secs(args.idle_secs) {
        rss_max = rss_max.max(proc_status_kb(pid, "VmRSS:").unwrap_or(0.0));
        std::thread::sleep(Duration::from_millis(500));
    }
    let window = t0.elapsed().as_secs_f64();
    let cpu = proc_cpu(pid).unwrap_or(0.0) - cpu0;
    let rss = proc_status_kb(pid, "VmRSS:").unwrap_or(0.0);
    let hwm = proc_status_kb(pid, "VmHWM:").unwrap_or(0.0);
    let threads = proc_status_kb(pid, "Threads:").unwrap_or(0.0);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let stop = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().ok().flatten() {
            break Some(s);
        }
        if stop.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let crawled_in_window = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("crawled"))
        .count();
    println!(
        "idle daemon, {sources} sources (schedules at minute 0–59 of 03:00, digest 08:00), {window:.0} s window after start-up (load {load}):"
    );
    println!("  start-up to \"running\"   {up:.2} s");
    println!(
        "  RSS now                  {:.1} MB (max in window {:.1} MB; peak since start {:.1} MB)",
        rss / 1024.0,
        rss_max / 1024.0,
        hwm / 1024.0
    );
    println!(
        "  CPU in window            {cpu:.2} s ({:.2} % of one core)",
        cpu / window * 100.0
    );
    println!("  threads                  {threads:.0}");
    println!("  crawls run in window     {crawled_in_window}");
    println!(
        "  SIGTERM to exit          {:.2} s ({})",
        stop.elapsed().as_secs_f64(),
        status.map_or("killed after 15 s".into(), |s| s.to_string())
    );
}
