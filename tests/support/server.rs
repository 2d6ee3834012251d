//! The server guard: a tandem or redis-server process on a free port in a directory of its
//! own, killed (and its directory removed) when the guard is dropped.

use super::*;
use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Child;

/// Which binary to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tandem,
    Redis,
}

impl Kind {
    pub fn program(self) -> &'static str {
        match self {
            Kind::Tandem => TANDEM,
            Kind::Redis => REDIS_SERVER,
        }
    }

    /// The default [`Server::name`].
    pub fn label(self) -> &'static str {
        match self {
            Kind::Tandem => "tandem",
            Kind::Redis => "redis-server",
        }
    }
}

/// The options the replication tests run every server with (on top of `--port`, `--save ""`
/// and `--dir`): loopback only, no AOF, a full sync starts at once, DEBUG allowed, the log on
/// stdout (which goes to the server's log file).
pub const REPL_OPTS: &[&str] = &[
    "--bind",
    "127.0.0.1",
    "--appendonly",
    "no",
    "--repl-diskless-sync-delay",
    "0",
    "--logfile",
    "",
    "--enable-debug-command",
    "yes",
];

/// How to start a server: built with [`Server::launch`], started with [`Launch::start`].
///
/// The command line is `[config] --port P --save "" --dir D [REPL_OPTS] extra...`, or only
/// `extra...` with [`Launch::bare`] (then the port and dir go in through `stdin`, say).
pub struct Launch {
    kind: Kind,
    name: String,
    config: Option<PathBuf>,
    repl: bool,
    bare: bool,
    extra: Vec<String>,
    port: Option<u16>,
    dir: Option<TempDir>,
    stdin: Option<Box<dyn Fn(u16, &Path) -> String>>,
    ready_within: Duration,
}

impl Launch {
    /// The name in messages and in the log file's name (default: the kind's label).
    pub fn name(mut self, name: &str) -> Launch {
        self.name = name.to_string();
        self
    }

    /// A config file, given as the first argument.
    pub fn config(mut self, path: &Path) -> Launch {
        self.config = Some(path.to_path_buf());
        self
    }

    /// Adds [`REPL_OPTS`].
    pub fn repl(mut self) -> Launch {
        self.repl = true;
        self
    }

    /// No `--port`/`--save`/`--dir`: only the config file and `args`.
    pub fn bare(mut self) -> Launch {
        self.bare = true;
        self
    }

    /// More arguments, after the others (so they override them).
    pub fn args(mut self, extra: &[&str]) -> Launch {
        self.extra.extend(extra.iter().map(|s| s.to_string()));
        self
    }

    /// This port instead of a free one (no retry on another port then).
    pub fn port(mut self, port: u16) -> Launch {
        self.port = Some(port);
        self
    }

    /// This directory (prepared by the test: a dump.rdb, a config file) instead of a new one.
    pub fn dir(mut self, dir: TempDir) -> Launch {
        self.dir = Some(dir);
        self
    }

    /// Writes `text(port, dir)` to the server's stdin (for a `-` argument), then closes it.
    pub fn stdin(mut self, text: impl Fn(u16, &Path) -> String + 'static) -> Launch {
        self.stdin = Some(Box::new(text));
        self
    }

    /// How long the server may take to answer PING (default 10 s; loading a big RDB takes
    /// longer).
    pub fn ready_within(mut self, max: Duration) -> Launch {
        self.ready_within = max;
        self
    }

    /// Starts the server and waits until it answers PING. Tests run in parallel, so another
    /// process may take the picked port before the server binds it: a server that exits or
    /// whose port is answered by another process is started again on another port (up to
    /// 3 times). Panics with the server's log if it does not come up.
    pub fn start(mut self) -> Server {
        let mut dir = Some(self.dir.take().unwrap_or_else(|| TempDir::new(&self.name)));
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let port = self.port.unwrap_or_else(free_port);
            let d = dir.take().unwrap();
            let log_path = d.path().join(format!("{}-{}.log", self.name, port));
            let out = fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("open log file");
            let err = out.try_clone().unwrap();
            let mut cmd = Command::new(self.kind.program());
            if let Some(c) = &self.config {
                cmd.arg(c);
            }
            if !self.bare {
                cmd.args(["--port", &port.to_string(), "--save", "", "--dir"]).arg(d.path());
                if self.repl {
                    cmd.args(REPL_OPTS);
                }
            }
            cmd.args(&self.extra);
            let stdin = if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() };
            let mut child = cmd
                .stdin(stdin)
                .stdout(Stdio::from(out))
                .stderr(Stdio::from(err))
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {}", self.kind.program(), e));
            if let Some(text) = &self.stdin {
                let mut pipe = child.stdin.take().unwrap();
                pipe.write_all(text(port, d.path()).as_bytes()).expect("write the server's stdin");
            }
            let mut s = Server { kind: self.kind, name: self.name.clone(), port, child: Some(child), log_path, dir: Some(d) };
            match s.wait_ready(self.ready_within) {
                Ok(()) => return s,
                Err(e) => {
                    last_err = e;
                    s.kill();
                    dir = s.dir.take();
                }
            }
        }
        panic!("{} did not start: {}", self.name, last_err)
    }
}

/// A running server process (tandem or redis-server), killed when dropped (SIGCONTed first,
/// in case a test stopped it); its directory goes with it. When the test is failing (or
/// `TANDEM_TEST_LOGS` is set) the end of its log is printed.
pub struct Server {
    pub kind: Kind,
    pub name: String,
    pub port: u16,
    child: Option<Child>,
    log_path: PathBuf,
    dir: Option<TempDir>,
}

impl Server {
    /// The options to start `kind` with.
    pub fn launch(kind: Kind) -> Launch {
        Launch {
            kind,
            name: kind.label().to_string(),
            config: None,
            repl: false,
            bare: false,
            extra: vec![],
            port: None,
            dir: None,
            stdin: None,
            ready_within: WAIT,
        }
    }

    /// Starts `kind` with `--port P --save "" --dir <tmp>` plus `extra`.
    pub fn start(kind: Kind, extra: &[&str]) -> Server {
        Server::launch(kind).args(extra).start()
    }

    /// [`Server::start`] for tandem.
    pub fn tandem(extra: &[&str]) -> Server {
        Server::start(Kind::Tandem, extra)
    }

    /// [`Server::start`] for redis-server.
    pub fn redis(extra: &[&str]) -> Server {
        Server::start(Kind::Redis, extra)
    }

    /// Starts `kind` with the replication tests' options ([`REPL_OPTS`]) plus `extra`, named
    /// `name` in messages and logs.
    pub fn repl(kind: Kind, name: &str, extra: &[&str]) -> Server {
        Server::launch(kind).name(name).repl().args(extra).start()
    }

    /// [`Server::repl`] for tandem.
    pub fn repl_tandem(name: &str, extra: &[&str]) -> Server {
        Server::repl(Kind::Tandem, name, extra)
    }

    /// [`Server::repl`] for redis-server.
    pub fn repl_redis(name: &str, extra: &[&str]) -> Server {
        Server::repl(Kind::Redis, name, extra)
    }

    /// Kills the process (SIGKILL) and starts it again on the same port and dir with the
    /// replication options plus `extra` (what it saved there is loaded again).
    pub fn restart(mut self, extra: &[&str]) -> Server {
        let (kind, name, port) = (self.kind, self.name.clone(), self.port);
        let dir = self.dir.take().expect("dir");
        self.kill();
        drop(self);
        Server::launch(kind).name(&name).repl().args(extra).port(port).dir(dir).start()
    }

    /// Kills the process (SIGKILL) and hands back its directory (kept: a config file or RDB
    /// in it can start the server again).
    pub fn crash(mut self) -> TempDir {
        let dir = self.dir.take().expect("dir");
        self.kill();
        dir
    }

    /// Waits until the server answers PING (`-NOAUTH` or `-LOADING` count: the server is up)
    /// and the answering server is this process. Err(why, with the log) if the process exited
    /// or did not answer within `max`.
    fn wait_ready(&mut self, max: Duration) -> Result<(), String> {
        let deadline = Instant::now() + max;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("exited with {}:\n{}", status, self.log_text()));
                }
            }
            match self.answering_pid() {
                Some(Some(pid)) if pid == self.pid() => return Ok(()),
                Some(Some(pid)) => return Err(format!("port {} is answered by another process (pid {})", self.port, pid)),
                Some(None) => {
                    // INFO refused (requirepass): the port is ours if the process lives on.
                    std::thread::sleep(Duration::from_millis(50));
                    if self.child.as_mut().map(|c| matches!(c.try_wait(), Ok(None))).unwrap_or(false) {
                        return Ok(());
                    }
                }
                None => {}
            }
            if Instant::now() > deadline {
                return Err(format!("not answering PING after {:?}:\n{}", max, self.log_text()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// None if nothing answers PING on the port; Some(the pid INFO server gives) when
    /// something does (Some(None) when INFO is refused, as without AUTH).
    fn answering_pid(&self) -> Option<Option<u32>> {
        let s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        (&s).write_all(b"PING\r\nINFO server\r\n").ok()?;
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).ok()?;
        if !(line.starts_with('+') || line.starts_with('-')) {
            return None;
        }
        line.clear();
        let _ = r.read_line(&mut line);
        let Some(len) = line.strip_prefix('$').and_then(|n| n.trim().parse::<usize>().ok()) else {
            return Some(None);
        };
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).ok()?;
        let text = String::from_utf8_lossy(&body);
        Some(text.lines().find_map(|l| l.strip_prefix("process_id:")).and_then(|v| v.trim().parse().ok()))
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server already reaped").id()
    }

    /// The server's directory (`--dir`).
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("dir").path()
    }

    /// A raw RESP connection.
    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// A `redis` crate connection (10 s timeouts).
    pub fn client(&self) -> redis::Connection {
        let c = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|cl| cl.get_connection_with_timeout(Duration::from_secs(2)))
            .unwrap_or_else(|e| panic!("connect to {} ({}): {}", self.name, self.port, e));
        c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        c.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        c
    }

    /// What the server has logged (stdout and stderr).
    pub fn log_text(&self) -> String {
        fs::read(&self.log_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    pub fn log_count(&self, needle: &str) -> usize {
        self.log_text().matches(needle).count()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        wait_for(&format!("{} logs {:?}", self.name, needle), || self.log_text().contains(needle));
    }

    /// Sends a signal (`TERM`, `INT`, ...).
    pub fn signal(&self, sig: &str) {
        signal(self.pid(), sig);
    }

    /// SIGSTOP, then waits until every thread of the process is actually stopped (delivery
    /// is asynchronous: a busy thread may run on for a moment).
    pub fn stop(&self) {
        let pid = self.pid();
        signal(pid, "STOP");
        wait_for(&format!("{} (pid {}) stopped", self.name, pid), || all_threads_stopped(pid));
    }

    /// SIGCONT.
    pub fn cont(&self) {
        signal(self.pid(), "CONT");
    }

    /// Some(exit code) once the process has exited (it is reaped then; the code is None if a
    /// signal killed it); None while it runs.
    pub fn exited(&mut self) -> Option<Option<i32>> {
        let st = self.child.as_mut().expect("server already reaped").try_wait().unwrap()?;
        self.child = None;
        Some(st.code())
    }

    /// Waits for the process to exit; returns its exit code (None if killed by a signal).
    pub fn wait_exit(&mut self, max: Duration) -> Option<i32> {
        let deadline = Instant::now() + max;
        loop {
            if let Some(code) = self.exited() {
                return code;
            }
            if Instant::now() > deadline {
                panic!("{} did not exit within {:?}; log:\n{}", self.name, max, self.log_text());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The number of file descriptors the process has open.
    pub fn open_fds(&self) -> usize {
        open_fds(self.pid())
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-CONT", &c.id().to_string()]).stderr(Stdio::null()).status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    // ----- INFO -----

    /// `INFO <section>` as a map (see [`Conn::info`] for the fields in order).
    pub fn info(&self, section: &str) -> HashMap<String, String> {
        self.conn().info(section).into_iter().collect()
    }

    /// One INFO field; panics if there is none.
    pub fn info_field(&self, section: &str, field: &str) -> String {
        self.info(section).remove(field).unwrap_or_else(|| panic!("{}: no INFO field {}", self.name, field))
    }

    pub fn info_i64(&self, section: &str, field: &str) -> i64 {
        let v = self.info_field(section, field);
        v.parse().unwrap_or_else(|_| panic!("{}: INFO {} = {:?} is not an integer", self.name, field, v))
    }

    /// Polls `INFO <section>` on a new connection (which counts in connected_clients) until
    /// `field` satisfies `pred` (or panics after `max`); returns the value.
    pub fn wait_info(&self, section: &str, field: &str, max: Duration, pred: impl Fn(&str) -> bool) -> String {
        self.conn().wait_info(section, field, max, pred)
    }

    // ----- replication -----

    pub fn offset(&self) -> i64 {
        self.info_i64("replication", "master_repl_offset")
    }

    pub fn replid(&self) -> String {
        self.info_field("replication", "master_replid")
    }

    /// `DEBUG DIGEST` (needs `--enable-debug-command yes`, which [`REPL_OPTS`] has).
    pub fn digest(&self) -> String {
        match self.conn().cmd(&["DEBUG", "DIGEST"]) {
            Reply::Error(e) => panic!("{}: DEBUG DIGEST: {}", self.name, e),
            r => r.text(),
        }
    }

    /// `REPLICAOF` `master`.
    pub fn replicaof(&self, master: &Server) {
        self.replicaof_port(master.port);
    }

    pub fn replicaof_port(&self, port: u16) {
        let r = self.conn().raw(&["REPLICAOF", "127.0.0.1", &port.to_string()]);
        assert!(r.starts_with("+OK"), "{}: REPLICAOF answered {}", self.name, r);
    }

    pub fn replicaof_no_one(&self) {
        assert_eq!(self.conn().raw(&["REPLICAOF", "NO", "ONE"]), "+OK\r\n", "{}", self.name);
    }

    /// Waits until this replica's link to its master is up.
    pub fn wait_link_up(&self) {
        wait_for(&format!("{} master_link_status:up", self.name), || {
            self.info("replication").get("master_link_status").map(|s| s == "up").unwrap_or(false)
        });
    }

    /// The `slaveN:` lines of INFO replication, parsed, in order.
    pub fn replicas(&self) -> Vec<HashMap<String, String>> {
        let info = self.info("replication");
        let mut v: Vec<(usize, HashMap<String, String>)> = info
            .iter()
            .filter_map(|(k, val)| {
                let n: usize = k.strip_prefix("slave")?.parse().ok()?;
                let m = val.split(',').filter_map(|kv| kv.split_once('=')).map(|(a, b)| (a.to_string(), b.to_string())).collect();
                Some((n, m))
            })
            .collect();
        v.sort_by_key(|(n, _)| *n);
        v.into_iter().map(|(_, m)| m).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() || std::env::var_os("TANDEM_TEST_LOGS").is_some() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            eprintln!("----- last log lines of {} (port {}) -----", self.name, self.port);
            for l in tail.iter().rev() {
                eprintln!("{}", l);
            }
        }
    }
}
