//! Redis-style logging on top of `log` + `fern`.
//!
//! Line format (as redis-server): `pid:R dd Mon YYYY HH:MM:SS.mmm L message`
//! where R is the role character (see [`set_role`]) and L the level mark.
//!
//! Level mapping (Redis loglevel -> what tandem code calls -> mark):
//!
//! | Redis level | macro to use            | mark |
//! |-------------|-------------------------|------|
//! | warning     | `log::warn!` (`error!`) | `#`  |
//! | notice      | `log::info!`            | `*`  |
//! | verbose     | `log::debug!`           | `-`  |
//! | debug       | `log::trace!`           | `.`  |
//!
//! So `loglevel notice` lets `info!` and above through, `verbose` adds
//! `debug!`, `debug` adds `trace!`, `warning` keeps only `warn!`/`error!`,
//! and `nothing` (accepted here, not by Redis 7.0) silences everything.
//!
//! Records for the target [`TRACE_TARGET`] (actor-message traces) are shown
//! whenever tracing is on (`trace yes`), whatever the loglevel, marked `.`.
//!
//! The logger is process-wide (log output is per process): the first
//! [`init`] installs it; later calls (another embedded server) succeed
//! without changing anything.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Target of actor-message trace lines.
pub const TRACE_TARGET: &str = "tandem::trace";

static ROLE: AtomicU8 = AtomicU8::new(b'C');
/// Redis verbosity: 0 debug, 1 verbose, 2 notice, 3 warning, 4 nothing.
static VERBOSITY: AtomicU8 = AtomicU8::new(2);
static TRACE: AtomicBool = AtomicBool::new(false);

/// Sets the role character shown in every line: 'M' master, 'S' replica,
/// 'C' child / not yet configured, 'X' sentinel.
pub fn set_role(role: char) {
    ROLE.store(role as u8, Ordering::Relaxed);
}

/// The current role character.
pub fn role() -> char {
    ROLE.load(Ordering::Relaxed) as char
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

fn enabled(meta: &log::Metadata<'_>) -> bool {
    if meta.target() == TRACE_TARGET {
        return TRACE.load(Ordering::Relaxed);
    }
    meta.level() <= filter_of(VERBOSITY.load(Ordering::Relaxed))
}

fn update_max_level() {
    let base = filter_of(VERBOSITY.load(Ordering::Relaxed));
    let max = if TRACE.load(Ordering::Relaxed) { log::LevelFilter::Trace } else { base };
    log::set_max_level(max);
}

/// Installs the process logger: `loglevel` is a Redis loglevel (or
/// "nothing"), `logfile` "" means standard output, else the file is opened
/// for appending; `trace` enables the trace target.
pub fn init(loglevel: &str, logfile: &str, trace: bool) -> Result<(), String> {
    let verbosity = verbosity_of(loglevel)?;
    let out: fern::Output = if logfile.is_empty() {
        std::io::stdout().into()
    } else {
        fern::log_file(logfile).map_err(|e| format!("Can't open the log file: {e}"))?.into()
    };
    let dispatch = fern::Dispatch::new()
        .format(|out, message, record| {
            let line = format_line(
                std::process::id(),
                role(),
                &chrono::Local::now(),
                level_char(record.level(), record.target()),
                message,
            );
            out.finish(format_args!("{line}"))
        })
        .filter(enabled)
        .chain(out);
    if dispatch.apply().is_err() {
        // Already installed (another server in this process): keep it.
        return Ok(());
    }
    VERBOSITY.store(verbosity, Ordering::Relaxed);
    TRACE.store(trace, Ordering::Relaxed);
    update_max_level();
    Ok(())
}

/// Changes the loglevel at runtime (CONFIG SET loglevel).
pub fn set_level(loglevel: &str) -> Result<(), String> {
    VERBOSITY.store(verbosity_of(loglevel)?, Ordering::Relaxed);
    update_max_level();
    Ok(())
}

/// Turns actor-message tracing on or off at runtime (CONFIG SET trace).
pub fn set_trace(on: bool) {
    TRACE.store(on, Ordering::Relaxed);
    update_max_level();
}

/// Whether trace lines are currently wanted (cheap check).
pub fn trace_enabled() -> bool {
    TRACE.load(Ordering::Relaxed) && log::log_enabled!(target: TRACE_TARGET, log::Level::Trace)
}

/// Logs `from -> to: kind` on the trace target; costs one atomic load when
/// tracing is off.
#[inline]
pub fn trace_msg(from: &str, to: &str, kind: &str) {
    if TRACE.load(Ordering::Relaxed) {
        log::trace!(target: TRACE_TARGET, "{from} -> {to}: {kind}");
    }
}

/// Writes a line straight to stderr in the log format (for use before the
/// logger is installed, e.g. fatal start-up problems).
pub fn write_stderr(mark: char, message: &str) {
    let line = format_line(std::process::id(), role(), &chrono::Local::now(), mark, &format_args!("{message}"));
    let _ = writeln!(std::io::stderr(), "{line}");
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

    /// The only test that installs the global logger.
    #[test]
    fn install_filter_trace_and_role() {
        let dir = std::env::temp_dir().join(format!("tandem-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("t.log");
        let _ = std::fs::remove_file(&file);
        init("notice", file.to_str().unwrap(), false).unwrap();
        set_role('M');
        log::info!("notice line");
        log::debug!("verbose line hidden");
        trace_msg("a", "b", "Hidden");
        set_level("verbose").unwrap();
        log::debug!("verbose line shown");
        set_level("warning").unwrap();
        set_trace(true);
        assert!(trace_enabled());
        log::info!("notice hidden");
        trace_msg("client#1", "db0", "Get");
        set_role('S');
        log::warn!("warning line");
        set_trace(false);
        trace_msg("a", "b", "Hidden2");
        // a second init (another server) is accepted and changes nothing
        init("debug", "", true).unwrap();
        assert!(!trace_enabled());
        log::logger().flush();
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        let pid = std::process::id();
        assert!(lines[0].starts_with(&format!("{pid}:M ")) && lines[0].ends_with(" * notice line"), "{text}");
        assert!(lines[1].ends_with(" - verbose line shown"), "{text}");
        assert!(lines[2].ends_with(" . client#1 -> db0: Get"), "{text}");
        assert!(lines[3].starts_with(&format!("{pid}:S ")) && lines[3].ends_with(" # warning line"), "{text}");
        // "pid:R dd Mon YYYY HH:MM:SS.mmm L msg"
        let parts: Vec<&str> = lines[0].splitn(7, ' ').collect();
        assert_eq!(parts[1].len(), 2);
        assert_eq!(parts[2].len(), 3);
        assert_eq!(parts[3].len(), 4);
        assert_eq!(parts[4].len(), 12);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
