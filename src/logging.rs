//! Redis-style logging, one logger per server.
//!
//! Line format (as redis-server): `pid:R dd Mon YYYY HH:MM:SS.mmm L message`
//! where R is the server's role character and L the level mark.
//!
//! Every server owns a [`ServerLog`]: its role letter, its verbosity, its trace flag and its
//! output belong to it, so two servers in one process (tests, embedding) log independently
//! (`CONFIG SET loglevel` on one does not touch the other). Code logs through the server's
//! logger with the macros [`notice!`](crate::notice), [`warning!`](crate::warning),
//! [`verbose!`](crate::verbose) and [`debug!`](crate::debug), named after Redis's levels:
//!
//! | Redis level | macro      | mark |
//! |-------------|------------|------|
//! | warning     | `warning!` | `#`  |
//! | notice      | `notice!`  | `*`  |
//! | verbose     | `verbose!` | `-`  |
//! | debug       | `debug!`   | `.`  |
//!
//! `loglevel notice` lets `notice!` and `warning!` through, `verbose` adds `verbose!`, `debug`
//! adds `debug!`, `warning` keeps only `warning!`, and `nothing` (accepted here, not by Redis
//! 7.0) silences everything.
//!
//! Trace lines ([`trace_msg!`](crate::trace_msg), [`trace_reply!`](crate::trace_reply),
//! [`trace_wire!`](crate::trace_wire)) are shown whenever the server's `trace` flag is on,
//! whatever the loglevel, marked `.`, and name the server: `[6379] keyspace -> backlog:
//! Append(57 bytes)`. With tracing off each costs one atomic load.
//!
//! Where lines go: `logfile ""` is standard output, a path is a file opened for appending
//! (each server its own `fern` dispatch, never installed as the process's logger). An embedder
//! may instead route a server's lines through the application's own `log` logger
//! ([`ServerLog::via_app`]): records then carry the target `tandem::<server name>` and the
//! level `warning!`->Warn, `notice!`->Info, `verbose!`->Debug, `debug!`/trace->Trace.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

/// Target of actor-message trace records (in the mark, and for lines routed to the app).
pub const TRACE_TARGET: &str = "tandem::trace";

/// One server's logger: role letter, verbosity, trace flag, output.
pub struct ServerLog {
    /// Shown on trace lines (`[name]`); the port once the server listens.
    name: OnceLock<String>,
    /// `tandem::<name>`, the target of records routed to the application's logger.
    app_target: OnceLock<String>,
    role: Arc<AtomicU8>,
    /// Redis verbosity: 0 debug, 1 verbose, 2 notice, 3 warning, 4 nothing.
    verbosity: AtomicU8,
    trace: AtomicBool,
    out: Output,
}

enum Output {
    /// This server's own fern dispatch (stdout or its logfile).
    Own(Box<dyn log::Log>),
    /// The process's `log` logger (the embedding application's).
    App,
    /// Nowhere (unit tests).
    Null,
}

fn verbosity_of(loglevel: &str) -> Result<u8, String> {
    match loglevel.to_ascii_lowercase().as_str() {
        "debug" => Ok(0),
        "verbose" => Ok(1),
        "notice" => Ok(2),
        "warning" => Ok(3),
        "nothing" => Ok(4),
        other => Err(format!("unknown loglevel '{other}'")),
    }
}

/// The `log` filter for a Redis loglevel (see the table above).
pub fn level_filter(loglevel: &str) -> Result<log::LevelFilter, String> {
    Ok(filter_of(verbosity_of(loglevel)?))
}

fn filter_of(verbosity: u8) -> log::LevelFilter {
    match verbosity {
        0 => log::LevelFilter::Trace,
        1 => log::LevelFilter::Debug,
        2 => log::LevelFilter::Info,
        3 => log::LevelFilter::Warn,
        _ => log::LevelFilter::Off,
    }
}

/// Redis's mark for a record: `#`, `*`, `-` or `.`.
pub fn level_char(level: log::Level, target: &str) -> char {
    if target == TRACE_TARGET {
        return '.';
    }
    match level {
        log::Level::Error | log::Level::Warn => '#',
        log::Level::Info => '*',
        log::Level::Debug => '-',
        log::Level::Trace => '.',
    }
}

/// Formats one log line (without the trailing newline).
pub fn format_line<Tz: chrono::TimeZone>(
    pid: u32,
    role: char,
    time: &chrono::DateTime<Tz>,
    mark: char,
    message: &std::fmt::Arguments<'_>,
) -> String
where
    Tz::Offset: std::fmt::Display,
{
    format!("{pid}:{role} {} {mark} {message}", time.format("%d %b %Y %H:%M:%S%.3f"))
}

impl ServerLog {
    fn with_output(loglevel: &str, trace: bool, out: impl FnOnce(Arc<AtomicU8>) -> Result<Output, String>) -> Result<Arc<Self>, String> {
        let role = Arc::new(AtomicU8::new(b'C'));
        Ok(Arc::new(ServerLog {
            name: OnceLock::new(),
            app_target: OnceLock::new(),
            verbosity: AtomicU8::new(verbosity_of(loglevel)?),
            trace: AtomicBool::new(trace),
            out: out(role.clone())?,
            role,
        }))
    }

    /// A logger writing to `logfile` ("" = standard output) in Redis's format.
    pub fn new(loglevel: &str, logfile: &str, trace: bool) -> Result<Arc<Self>, String> {
        Self::with_output(loglevel, trace, |role| {
            let out: fern::Output = if logfile.is_empty() {
                std::io::stdout().into()
            } else {
                fern::log_file(logfile).map_err(|e| format!("Can't open the log file: {e}"))?.into()
            };
            let (_, logger) = fern::Dispatch::new()
                .format(move |out, message, record| {
                    let role = role.load(Ordering::Relaxed) as char;
                    let mark = level_char(record.level(), record.target());
                    let line = format_line(std::process::id(), role, &chrono::Local::now(), mark, message);
                    out.finish(format_args!("{line}"))
                })
                .level(log::LevelFilter::Trace)
                .chain(out)
                .into_log();
            Ok(Output::Own(logger))
        })
    }

    /// A logger following the config's `loglevel`, `logfile` (a relative path is inside
    /// `dir`, as Redis, which opens it after changing to `dir`) and `trace`.
    pub fn from_config(cfg: &crate::config::Config) -> Result<Arc<Self>, String> {
        let path = cfg.logfile_path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        Self::new(cfg.loglevel(), &path, cfg.flag("trace"))
    }

    /// A logger handing its records to the process's `log` logger (the embedding
    /// application's), with the target `tandem::<server name>`; `loglevel` and `trace` still
    /// filter first.
    pub fn via_app(cfg: &crate::config::Config) -> Result<Arc<Self>, String> {
        Self::with_output(cfg.loglevel(), cfg.flag("trace"), |_| Ok(Output::App))
    }

    /// A logger that drops everything (unit tests).
    pub fn null() -> Arc<Self> {
        Arc::new(ServerLog {
            name: OnceLock::new(),
            app_target: OnceLock::new(),
            role: Arc::new(AtomicU8::new(b'C')),
            verbosity: AtomicU8::new(4),
            trace: AtomicBool::new(false),
            out: Output::Null,
        })
    }

    /// Names the server on trace lines (set once, when it has bound its port).
    pub fn set_name(&self, name: &str) {
        let _ = self.name.set(name.to_string());
        let _ = self.app_target.set(format!("tandem::{name}"));
    }

    /// The server's name on trace lines (`?` before it listens).
    pub fn name(&self) -> &str {
        self.name.get().map(|s| s.as_str()).unwrap_or("?")
    }

    /// Sets the role character shown in every line: 'M' master, 'S' replica, 'C' not yet
    /// configured.
    pub fn set_role(&self, role: char) {
        self.role.store(role as u8, Ordering::Relaxed);
    }

    /// The current role character.
    pub fn role(&self) -> char {
        self.role.load(Ordering::Relaxed) as char
    }

    /// Changes the loglevel (CONFIG SET loglevel).
    pub fn set_level(&self, loglevel: &str) -> Result<(), String> {
        self.verbosity.store(verbosity_of(loglevel)?, Ordering::Relaxed);
        Ok(())
    }

    /// Turns actor-message tracing on or off (CONFIG SET trace).
    pub fn set_trace(&self, on: bool) {
        self.trace.store(on, Ordering::Relaxed);
    }

    /// Whether trace lines are wanted (one atomic load).
    #[inline]
    pub fn tracing(&self) -> bool {
        self.trace.load(Ordering::Relaxed)
    }

    /// Whether a line of `level` would be written.
    #[inline]
    pub fn enabled(&self, level: log::Level) -> bool {
        level <= filter_of(self.verbosity.load(Ordering::Relaxed))
    }

    /// Writes one line at `level` (macros check [`ServerLog::enabled`] first).
    pub fn emit(&self, level: log::Level, args: std::fmt::Arguments<'_>) {
        self.write(level, "tandem", args);
    }

    /// Writes one trace line: `[name] <args>` (macros check [`ServerLog::tracing`] first).
    pub fn emit_trace(&self, args: std::fmt::Arguments<'_>) {
        self.write(log::Level::Trace, TRACE_TARGET, format_args!("[{}] {}", self.name(), args));
    }

    fn write(&self, level: log::Level, target: &str, args: std::fmt::Arguments<'_>) {
        match &self.out {
            Output::Own(l) => {
                l.log(&log::Record::builder().level(level).target(target).args(args).build());
            }
            Output::App => {
                if level > log::max_level() {
                    return;
                }
                let app_target = self.app_target.get().map(|s| s.as_str()).unwrap_or("tandem");
                let app_target = if target == TRACE_TARGET { TRACE_TARGET } else { app_target };
                log::logger().log(&log::Record::builder().level(level).target(app_target).args(args).build());
            }
            Output::Null => {}
        }
    }

    /// Flushes buffered output (before exit).
    pub fn flush(&self) {
        if let Output::Own(l) = &self.out {
            l.flush();
        }
    }

    /// Writes a line straight to stderr in the log format (start-up problems before the
    /// server's output is known).
    pub fn write_stderr(&self, mark: char, message: &str) {
        let line = format_line(std::process::id(), self.role(), &chrono::Local::now(), mark, &format_args!("{message}"));
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// One log line at `$level` through a server's [`ServerLog`], formatted only when that level
/// is on (what [`warning!`](crate::warning) and the other level macros expand to).
#[doc(hidden)]
#[macro_export]
macro_rules! log_at {
    ($log:expr, $level:expr, $($arg:tt)+) => {{
        let l: &$crate::logging::ServerLog = &$log;
        if l.enabled($level) { l.emit($level, format_args!($($arg)+)); }
    }};
}

/// Logs at Redis's `warning` level (`#`) through a server's [`ServerLog`].
#[macro_export]
macro_rules! warning {
    ($log:expr, $($arg:tt)+) => { $crate::log_at!($log, log::Level::Warn, $($arg)+) };
}

/// Logs at Redis's `notice` level (`*`) through a server's [`ServerLog`].
#[macro_export]
macro_rules! notice {
    ($log:expr, $($arg:tt)+) => { $crate::log_at!($log, log::Level::Info, $($arg)+) };
}

/// Logs at Redis's `verbose` level (`-`) through a server's [`ServerLog`].
#[macro_export]
macro_rules! verbose {
    ($log:expr, $($arg:tt)+) => { $crate::log_at!($log, log::Level::Debug, $($arg)+) };
}

/// Logs at Redis's `debug` level (`.`) through a server's [`ServerLog`].
#[macro_export]
macro_rules! debug {
    ($log:expr, $($arg:tt)+) => { $crate::log_at!($log, log::Level::Trace, $($arg)+) };
}

/// One trace line `[server] from <arrow> to: ...`, formatted only while tracing (what
/// [`trace_msg!`](crate::trace_msg) and the other trace macros expand to).
#[doc(hidden)]
#[macro_export]
macro_rules! trace_line {
    ($log:expr, $arrow:literal, $from:expr, $to:expr, $($kind:tt)+) => {{
        let l: &$crate::logging::ServerLog = &$log;
        if l.tracing() { l.emit_trace(format_args!("{} {} {}: {}", $from, $arrow, $to, format_args!($($kind)+))); }
    }};
}

/// Traces one actor message: `[server] from -> to: Kind(...)`.
#[macro_export]
macro_rules! trace_msg {
    ($log:expr, $from:expr, $to:expr, $($kind:tt)+) => { $crate::trace_line!($log, "->", $from, $to, $($kind)+) };
}

/// Traces the reply to a call: `[server] callee --> caller: Reply(...)`.
#[macro_export]
macro_rules! trace_reply {
    ($log:expr, $from:expr, $to:expr, $($kind:tt)+) => { $crate::trace_line!($log, "-->", $from, $to, $($kind)+) };
}

/// Traces a protocol line on a replication socket: `[server] from => to: LINE`, one side
/// being `net:<peer>`.
#[macro_export]
macro_rules! trace_wire {
    ($log:expr, $from:expr, $to:expr, $($kind:tt)+) => { $crate::trace_line!($log, "=>", $from, $to, $($kind)+) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn line_format() {
        let t = chrono::Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap() + chrono::Duration::milliseconds(42);
        let line = format_line(1234, 'M', &t, '*', &format_args!("Ready to accept connections {}", "tcp"));
        assert_eq!(line, "1234:M 05 Mar 2024 07:08:09.042 * Ready to accept connections tcp");
    }

    #[test]
    fn marks_and_levels() {
        assert_eq!(level_char(log::Level::Warn, "x"), '#');
        assert_eq!(level_char(log::Level::Error, "x"), '#');
        assert_eq!(level_char(log::Level::Info, "x"), '*');
        assert_eq!(level_char(log::Level::Debug, "x"), '-');
        assert_eq!(level_char(log::Level::Trace, "x"), '.');
        assert_eq!(level_char(log::Level::Info, TRACE_TARGET), '.');
        assert_eq!(level_filter("notice").unwrap(), log::LevelFilter::Info);
        assert_eq!(level_filter("VERBOSE").unwrap(), log::LevelFilter::Debug);
        assert_eq!(level_filter("debug").unwrap(), log::LevelFilter::Trace);
        assert_eq!(level_filter("warning").unwrap(), log::LevelFilter::Warn);
        assert_eq!(level_filter("nothing").unwrap(), log::LevelFilter::Off);
        assert!(level_filter("loud").is_err());
    }

    /// Two servers' loggers in one process: each keeps its own role, level, trace flag and
    /// file.
    #[test]
    fn two_servers_log_independently() {
        let dir = std::env::temp_dir().join(format!("tandem-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (fa, fb) = (dir.join("a.log"), dir.join("b.log"));
        let _ = std::fs::remove_file(&fa);
        let _ = std::fs::remove_file(&fb);
        let a = ServerLog::new("notice", fa.to_str().unwrap(), false).unwrap();
        let b = ServerLog::new("notice", fb.to_str().unwrap(), true).unwrap();
        a.set_name("6379");
        b.set_name("6380");
        a.set_role('M');
        b.set_role('S');
        crate::notice!(a, "notice line");
        crate::verbose!(a, "verbose line hidden");
        crate::trace_msg!(a, "x", "y", "Hidden");
        a.set_level("verbose").unwrap();
        crate::verbose!(a, "verbose line shown");
        b.set_level("warning").unwrap();
        crate::notice!(b, "notice hidden on b");
        crate::trace_msg!(b, "client:1", "keyspace", "Exec({} items)", 2);
        crate::trace_reply!(b, "keyspace", "client:1", "ExecDone");
        crate::trace_wire!(b, "master-link", "net:127.0.0.1:6379", "PSYNC ? -1");
        crate::warning!(b, "warning line");
        a.set_trace(true);
        crate::trace_msg!(a, "backlog", "replica:1", "Tick");
        a.flush();
        b.flush();
        let ta = std::fs::read_to_string(&fa).unwrap();
        let tb = std::fs::read_to_string(&fb).unwrap();
        let la: Vec<&str> = ta.lines().collect();
        let lb: Vec<&str> = tb.lines().collect();
        let pid = std::process::id();
        assert_eq!(la.len(), 3, "{ta}");
        assert!(la[0].starts_with(&format!("{pid}:M ")) && la[0].ends_with(" * notice line"), "{ta}");
        assert!(la[1].ends_with(" - verbose line shown"), "{ta}");
        assert!(la[2].ends_with(" . [6379] backlog -> replica:1: Tick"), "{ta}");
        assert_eq!(lb.len(), 4, "{tb}");
        assert!(lb[0].starts_with(&format!("{pid}:S ")) && lb[0].ends_with(" . [6380] client:1 -> keyspace: Exec(2 items)"), "{tb}");
        assert!(lb[1].ends_with(" . [6380] keyspace --> client:1: ExecDone"), "{tb}");
        assert!(lb[2].ends_with(" . [6380] master-link => net:127.0.0.1:6379: PSYNC ? -1"), "{tb}");
        assert!(lb[3].ends_with(" # warning line"), "{tb}");
        // "pid:R dd Mon YYYY HH:MM:SS.mmm L msg"
        let parts: Vec<&str> = la[0].splitn(7, ' ').collect();
        assert_eq!(parts[1].len(), 2);
        assert_eq!(parts[2].len(), 3);
        assert_eq!(parts[3].len(), 4);
        assert_eq!(parts[4].len(), 12);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
