//! The command line of `tandem-trace`.

use std::io::Read;

use super::{diagram_logs, kind_names, kind_spec, parse_time_of_day, Filter};

/// The usage text (`tandem-trace --help`).
pub const USAGE: &str = "\
usage: tandem-trace diagram [options] [LOG...]

Reads trace lines (`trace yes`, level mark `.`) from the LOG files (or standard input, also
as `-`), merges several logs by time and writes a mermaid sequence diagram to standard output.

options:
  --replica <ip:port>   only lines of that replica's conversation (conv=<ip:port>, or a
                        sender/receiver named by it: replica:<ip:port>, net:<ip:port>)
  --since HH:MM:SS.mmm  only lines at or after that time of day
  --until HH:MM:SS.mmm  only lines at or before that time of day
  --kind <kind>         handshake, fullsync, psync, propagation, wait, failover, promotion,
                        all (default all)
  --server <name>       only the lines of that server ([6379] or 6379)
  --no-wire             leave out replication protocol lines (=>)
  --normalize           deterministic output: aliases (S1, client1, replica1, net1),
                        <replid>, numbers as N, no metadata, repeats collapsed as (xK)
  -h, --help            this text
";

/// A parsed command line.
#[derive(Clone, Debug)]
pub enum Command {
    /// `diagram`: the filter and the log files (none: standard input; `-`: standard input).
    Diagram {
        /// The filters and output options.
        filter: Filter,
        /// The logs to read, in order.
        files: Vec<String>,
    },
    /// `-h`, `--help`, `help`.
    Help,
}

fn time_arg(opt: &str, v: &str) -> Result<u32, String> {
    parse_time_of_day(v).ok_or_else(|| format!("{opt}: bad time '{v}' (want HH:MM:SS.mmm)"))
}

/// Parses the arguments (without the program name).
pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("diagram") => {}
        Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some(other) => return Err(format!("unknown command '{other}'")),
        None => return Err("missing command".to_string()),
    }
    let mut filter = Filter::default();
    let mut files = Vec::new();
    while let Some(a) = it.next() {
        let (opt, inline) = match a.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().cloned().ok_or_else(|| format!("{opt} needs a value")),
            }
        };
        match opt {
            "-h" | "--help" => return Ok(Command::Help),
            "--replica" => filter.replica = Some(value()?),
            "--since" => filter.since = Some(time_arg(opt, &value()?)?),
            "--until" => filter.until = Some(time_arg(opt, &value()?)?),
            "--server" => filter.server = Some(value()?),
            "--kind" => {
                let k = value()?;
                filter.kind = match kind_spec(&k) {
                    Some(spec) => Some(spec),
                    None if k.eq_ignore_ascii_case("all") => None,
                    None => return Err(format!("--kind: unknown kind '{k}' (one of {})", kind_names().join(", "))),
                };
            }
            "--no-wire" | "--normalize" if inline.is_some() => return Err(format!("{opt} takes no value")),
            "--no-wire" => filter.no_wire = true,
            "--normalize" => filter.normalize = true,
            "-" => files.push(a.clone()),
            o if o.starts_with('-') => return Err(format!("unknown option '{a}'")),
            _ => files.push(a.clone()),
        }
    }
    Ok(Command::Diagram { filter, files })
}

/// Runs the command line: the text to print (the diagram or the usage), or an error message.
/// `stdin` is read when no file is named, and for `-`.
pub fn run(args: &[String], stdin: &mut dyn Read) -> Result<String, String> {
    let (filter, files) = match parse_args(args)? {
        Command::Help => return Ok(USAGE.to_string()),
        Command::Diagram { filter, files } => (filter, files),
    };
    let read_stdin = |stdin: &mut dyn Read| -> Result<String, String> {
        let mut buf = Vec::new();
        stdin.read_to_end(&mut buf).map_err(|e| format!("standard input: {e}"))?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    let mut logs = Vec::new();
    if files.is_empty() {
        logs.push(read_stdin(stdin)?);
    }
    for f in &files {
        if f == "-" {
            logs.push(read_stdin(stdin)?);
        } else {
            let bytes = std::fs::read(f).map_err(|e| format!("{f}: {e}"))?;
            logs.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    let refs: Vec<&str> = logs.iter().map(String::as_str).collect();
    Ok(diagram_logs(&refs, &filter))
}
