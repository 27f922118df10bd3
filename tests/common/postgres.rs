//! A throwaway PostgreSQL cluster: `initdb` into a temporary folder, trust authentication on
//! 127.0.0.1 (members of the role `password_users` must give their password, for login tests),
//! a free port, no Unix socket, optionally TLS with a CA made for the occasion. Stopped and
//! removed when the handle drops; `stop` and `start` in between play an outage.
//!
//! Needs the server binaries (Debian: `apt-get install postgresql`; `.ci/run` installs them).
//! Without them [`Postgres::start`] reports the test skipped (a `SKIPPED:` line, which `.ci/run`
//! counts) and returns `None`, except under `CI=true`, where a missing PostgreSQL is a failure,
//! so CI never passes by skipping.
//! Runs the server tools as the `postgres` user when the tests run as root (initdb refuses root).

use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// How to set the cluster up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Serve TLS with a certificate for `localhost` signed by [`Postgres::ca_cert`].
    pub tls: bool,
    /// Keep `fsync` on, for measurements; tests turn it off to run faster.
    pub durable: bool,
}

pub struct Postgres {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Run the server tools through `runuser -u postgres` (we are root).
    as_postgres: bool,
    running: bool,
    tls: bool,
}

impl Postgres {
    /// A running cluster with fsync off and no TLS, or `None` (after a skip line) when
    /// PostgreSQL is not installed outside CI.
    pub fn start() -> Option<Postgres> {
        Postgres::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Option<Postgres> {
        let Some(bin) = find_binaries() else {
            return skip("PostgreSQL not installed (no initdb found)");
        };
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("newswatch-pg-")
            .tempdir()
            .expect("temporary folder");
        if as_postgres {
            let (uid, gid) = postgres_ids().expect("a `postgres` user to run the server as");
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown temp dir");
        }
        let mut pg = Postgres {
            port: 0,
            dir,
            bin,
            as_postgres,
            running: false,
            tls: options.tls,
        };
        let data = pg.data_dir();
        let out = pg
            .tool("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", text(&out));

        let mut conf = String::from(
            "listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = ''\n\
             max_connections = 40\n\
             log_min_messages = warning\n",
        );
        if !options.durable {
            conf.push_str("fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n");
        }
        if options.tls {
            pg.make_certificates();
            conf.push_str(&format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                pg.path("server.crt").display(),
                pg.path("server.key").display()
            ));
        }
        append(&data.join("postgresql.conf"), &conf);
        std::fs::write(
            data.join("pg_hba.conf"),
            "host all +password_users 127.0.0.1/32 scram-sha-256\n\
             host all all 127.0.0.1/32 trust\n",
        )
        .expect("write pg_hba.conf");

        // A port another process grabs between our probe and the server's bind: try another.
        for attempt in 0.. {
            pg.port = free_port();
            if pg.try_start() {
                break;
            }
            assert!(attempt < 5, "PostgreSQL did not start: {}", pg.log());
        }
        pg.psql("postgres", "CREATE ROLE password_users NOLOGIN");
        Some(pg)
    }

    /// A URL for database `db` as the superuser `postgres`, without TLS.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// The CA that signed the server's certificate (clusters started with `tls`).
    pub fn ca_cert(&self) -> PathBuf {
        assert!(self.tls, "cluster started without TLS");
        self.path("ca.crt")
    }

    /// Runs `sql` in database `db` as `postgres`; its output, rows as `a|b` lines.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ])
            .env("PGSSLMODE", "disable")
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql {sql:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
    }

    /// A new empty database.
    pub fn create_database(&self, name: &str) {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
    }

    /// The server's processes (postmaster first, then its children), for measuring their CPU.
    pub fn server_pids(&self) -> Vec<u32> {
        let pidfile =
            std::fs::read_to_string(self.data_dir().join("postmaster.pid")).unwrap_or_default();
        let Some(main) = pidfile
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<u32>().ok())
        else {
            return Vec::new();
        };
        let mut pids = vec![main];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // Fields after the parenthesised command: state, ppid, ...
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            if after.split_whitespace().nth(1) == Some(main.to_string().as_str()) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Stops the server (fast shutdown: connections are cut, as in an outage).
    pub fn stop(&mut self) {
        let out = self.pg_ctl(&["-m", "fast", "stop"]);
        assert!(out.status.success(), "pg_ctl stop: {}", text(&out));
        self.running = false;
    }

    /// Starts the stopped server again on the same port.
    pub fn start_again(&mut self) {
        assert!(!self.running, "already running");
        assert!(
            self.try_start(),
            "PostgreSQL did not restart: {}",
            self.log()
        );
    }

    fn try_start(&mut self) -> bool {
        let log = self.path("server.log");
        let port = format!("-p {}", self.port);
        let out = self.pg_ctl(&[
            "-l",
            &log.to_string_lossy(),
            "-o",
            &port,
            "-t",
            "60",
            "start",
        ]);
        self.running = out.status.success();
        self.running
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        self.tool("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-w")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run pg_ctl")
    }

    fn tool(&self, name: &str) -> Command {
        let exe = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        // The postgres user may not enter the directory the tests run from.
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn make_certificates(&self) {
        let ext = self.path("server.ext");
        std::fs::write(
            &ext,
            "basicConstraints = CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = DNS:localhost\n",
        )
        .expect("write extensions");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(self.dir.path())
                .output()
                .expect("run openssl (Debian: apt-get install openssl)");
            assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &[
                    "req",
                    "-x509",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=newswatch test CA",
                ][..],
                &ec,
                &["-keyout", "ca.key", "-out", "ca.crt"],
                &["-addext", "basicConstraints=critical,CA:TRUE"],
                &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req", "-new", "-subj", "/CN=localhost"][..],
                &ec,
                &["-keyout", "server.key", "-out", "server.csr"],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ]);
        let key = self.path("server.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod key");
        if self.as_postgres {
            let (uid, gid) = postgres_ids().expect("postgres user");
            for f in ["server.key", "server.crt"] {
                std::os::unix::fs::chown(self.path(f), Some(uid), Some(gid)).expect("chown");
            }
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("server.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
        }
    }
}

fn skip(reason: &str) -> Option<Postgres> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason}: CI must run the PostgreSQL tests (.ci/run installs it)");
    }
    super::skipped(reason);
    None
}

/// The newest server binaries: `$NEWSWATCH_PG_BIN`, Debian's /usr/lib/postgresql/N/bin, or
/// `initdb` on PATH (other distributions).
fn find_binaries() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("NEWSWATCH_PG_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").is_file().then_some(dir);
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn postgres_ids() -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open config");
    f.write_all(text.as_bytes()).expect("append config");
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
