//! `tandem-trace`: trace lines from one or more servers' logs to a mermaid sequence diagram.
//!
//! With `trace yes` a server logs every actor message, reply and replication protocol line
//! (level mark `.`):
//!
//! ```text
//! 4242:M 06 Dec 2026 15:00:00.123 . [6379] client:7 -> keyspace: Psync(replid=?, offset=-1) {conv=127.0.0.1:6380}
//! 4242:M 06 Dec 2026 15:00:00.124 . [6379] keyspace --> client:7: FullResync {conv=127.0.0.1:6380}
//! 4243:S 06 Dec 2026 15:00:00.125 . [6380] master-link => net:127.0.0.1:6379: PSYNC ? -1
//! ```
//!
//! [`parse_line`] reads one line ([`TraceLine`]), [`merge`] several logs by time, a
//! [`Filter`] picks lines (replica, time window, conversation kind from the table
//! [`KINDS`], server, wire lines) and [`render()`] writes the diagram; [`diagram`] and
//! [`diagram_logs`] do it all. [`cli`] is the command line of the `tandem-trace` binary.
//!
//! Pure code: std only, no other module of the crate, no async.
//!
//! ```
//! use tandem::tracediag::{diagram, Filter};
//! let log = "4242:M 06 Dec 2026 15:00:00.123 . [6379] client:7 -> keyspace: Psync(replid=?, offset=-1) {conv=127.0.0.1:6380}\n\
//!            4242:M 06 Dec 2026 15:00:00.124 . [6379] keyspace --> client:7: FullResync {conv=127.0.0.1:6380}\n";
//! let out = diagram(log, &Filter { normalize: true, ..Filter::default() });
//! assert_eq!(out, "sequenceDiagram\n    participant S1.client1 as S1 client1\n    participant S1.keyspace as S1 keyspace\n    \
//!                  S1.client1->>S1.keyspace: Psync(replid=?, offset=N)\n    S1.keyspace-->>S1.client1: FullResync\n");
//! ```

pub mod cli;
pub mod kinds;
pub mod parse;
pub mod render;

#[cfg(test)]
mod tests;

pub use kinds::{kind_names, kind_spec, kinds_of, KindSpec, KINDS};
pub use parse::{merge, parse_line, parse_log, parse_time_of_day, Arrow, Stamp, TraceLine};
pub use render::{escape, render};

/// Which lines go into the diagram, and how it is written. The default keeps every line.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// `--replica <ip:port>`: only lines whose `conv=` is that address, or whose sender or
    /// receiver is named by it (`replica:<ip:port>`, `net:<ip:port>`, or the address itself).
    pub replica: Option<String>,
    /// `--since`: only lines at or after this time of day (milliseconds since midnight).
    pub since: Option<u32>,
    /// `--until`: only lines at or before this time of day (milliseconds since midnight).
    pub until: Option<u32>,
    /// `--kind`: only lines of this conversation kind; `None` is `all`.
    pub kind: Option<&'static KindSpec>,
    /// `--server <name>`: only the lines of that server (the name in brackets; brackets optional).
    pub server: Option<String>,
    /// `--no-wire`: leave out protocol lines (`=>`).
    pub no_wire: bool,
    /// `--normalize`: deterministic output for golden tests (see [`render()`]).
    pub normalize: bool,
}

/// Whether the participant `name` is the address `addr` or ends in `:<addr>`.
fn names_addr(name: &str, addr: &str) -> bool {
    name == addr || name.split_once(':').is_some_and(|(_, rest)| rest == addr)
}

impl Filter {
    /// Whether `line` passes every filter.
    pub fn keeps(&self, line: &TraceLine) -> bool {
        if self.no_wire && line.is_wire() {
            return false;
        }
        if let Some(s) = &self.server {
            let s = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
            if line.server != s {
                return false;
            }
        }
        if self.since.is_some_and(|t| line.stamp.ms < t) || self.until.is_some_and(|t| line.stamp.ms > t) {
            return false;
        }
        if self.kind.is_some_and(|k| !k.matches(line)) {
            return false;
        }
        if let Some(r) = &self.replica {
            if line.conv() != Some(r.as_str()) && !names_addr(&line.from, r) && !names_addr(&line.to, r) {
                return false;
            }
        }
        true
    }
}

/// The diagram of the trace lines of one log text (several servers' logs concatenated are
/// merged by time too).
pub fn diagram(text: &str, filter: &Filter) -> String {
    diagram_logs(&[text], filter)
}

/// The diagram of several logs, merged by time.
pub fn diagram_logs(logs: &[&str], filter: &Filter) -> String {
    let lines = merge(logs);
    render(lines.iter().filter(|l| filter.keeps(l)), filter.normalize)
}
