//! Trace lines: the grammar, one line at a time, and the merge of several logs by time.
//!
//! ```text
//! <pid>:<R> <dd> <Mon> <YYYY> <HH:MM:SS.mmm> . [<server>] <from> <arrow> <to>: <Kind>[(<args>)][ <text>][ {k=v ...}]
//! ```

/// The arrow of a trace line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arrow {
    /// `->`: a message sent to an actor (send or call).
    Send,
    /// `-->`: the reply to a call, from the callee back to the caller.
    Reply,
    /// `=>`: a protocol line written on or read from a replication socket (one side is
    /// `net:<ip:port>`).
    Wire,
}

impl Arrow {
    /// The arrow as written in the log (`->`, `-->`, `=>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Arrow::Send => "->",
            Arrow::Reply => "-->",
            Arrow::Wire => "=>",
        }
    }

    fn parse(s: &str) -> Option<Arrow> {
        match s {
            "->" => Some(Arrow::Send),
            "-->" => Some(Arrow::Reply),
            "=>" => Some(Arrow::Wire),
            _ => None,
        }
    }
}

/// When a line was logged; orders by date, then time of day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    /// The date as `yyyymmdd` (e.g. `20261206`).
    pub date: u32,
    /// Milliseconds since midnight.
    pub ms: u32,
}

/// One parsed trace line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    /// The process id at the start of the line.
    pub pid: u32,
    /// The role letter (`M`, `S`, `C`, `X`).
    pub role: char,
    /// Date and time of the line.
    pub stamp: Stamp,
    /// The server name between the brackets (usually its port), without the brackets.
    pub server: String,
    /// The sender (for a wire line: the side that writes, or `net:<peer>` when read).
    pub from: String,
    /// The arrow.
    pub arrow: Arrow,
    /// The receiver.
    pub to: String,
    /// The message kind (`Psync`), the reply (`FullResync`), or the first word of a protocol
    /// line (`PSYNC`, `+CONTINUE`, `RDB`).
    pub kind: String,
    /// What is between the parentheses right after the kind, if any (nested ones included).
    pub args: Option<String>,
    /// The free text after the kind and its arguments, if any.
    pub text: Option<String>,
    /// The trailing `{k=v ...}` block, in order (`off`, `conv`).
    pub meta: Vec<(String, String)>,
}

impl TraceLine {
    /// The message as logged, without the metadata block: `Kind(args) text`.
    pub fn body(&self) -> String {
        let mut s = self.kind.clone();
        if let Some(a) = &self.args {
            s.push('(');
            s.push_str(a);
            s.push(')');
        }
        if let Some(t) = &self.text {
            s.push(' ');
            s.push_str(t);
        }
        s
    }

    /// The value of `key` in the metadata block.
    pub fn meta_value(&self, key: &str) -> Option<&str> {
        self.meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The replication offset (`off=`), if the line carries one.
    pub fn offset(&self) -> Option<&str> {
        self.meta_value("off")
    }

    /// The replica conversation id (`conv=<ip:port>`), if the line carries one.
    pub fn conv(&self) -> Option<&str> {
        self.meta_value("conv")
    }

    /// Whether this is a socket protocol line (`=>`).
    pub fn is_wire(&self) -> bool {
        self.arrow == Arrow::Wire
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses `HH:MM:SS.mmm` (also `HH:MM:SS` and `HH:MM`) into milliseconds since midnight.
pub fn parse_time_of_day(s: &str) -> Option<u32> {
    let (hms, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| all_digits(p) && p.len() <= 2) {
        return None;
    }
    let h: u32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let sec: u32 = if parts.len() == 3 { parts[2].parse().ok()? } else { 0 };
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let ms = match frac {
        None => 0,
        Some(f) if all_digits(f) && f.len() <= 3 && parts.len() == 3 => {
            // ".5" is 500 ms, ".05" 50 ms.
            f.parse::<u32>().ok()? * 10u32.pow(3 - f.len() as u32)
        }
        Some(_) => return None,
    };
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms)
}

fn parse_stamp(dd: &str, mon: &str, yyyy: &str, time: &str) -> Option<Stamp> {
    if !all_digits(dd) || dd.len() > 2 || !all_digits(yyyy) || yyyy.len() != 4 {
        return None;
    }
    let day: u32 = dd.parse().ok()?;
    let month = MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
    let year: u32 = yyyy.parse().ok()?;
    if !(1..=31).contains(&day) {
        return None;
    }
    // The log always writes the milliseconds.
    if time.len() != 12 {
        return None;
    }
    let ms = parse_time_of_day(time)?;
    Some(Stamp { date: year * 10000 + month * 100 + day, ms })
}

/// The trailing ` {k=v k=v}` block: (message before it, pairs), or None if there is none.
fn split_meta(msg: &str) -> Option<(&str, Vec<(String, String)>)> {
    let inner_end = msg.strip_suffix('}')?;
    let open = inner_end.rfind('{')?;
    if open > 0 && !inner_end[..open].ends_with(' ') {
        return None;
    }
    let inner = &inner_end[open + 1..];
    let mut pairs = Vec::new();
    for tok in inner.split_whitespace() {
        let (k, v) = tok.split_once('=')?;
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return None;
        }
        pairs.push((k.to_string(), v.to_string()));
    }
    if pairs.is_empty() {
        return None;
    }
    Some((msg[..open].trim_end(), pairs))
}

/// Splits `Kind[(args)][ text]`.
fn split_kind(msg: &str) -> Option<(String, Option<String>, Option<String>)> {
    let end = msg.find(['(', ' ']).unwrap_or(msg.len());
    let kind = &msg[..end];
    if kind.is_empty() {
        return None;
    }
    let mut rest = &msg[end..];
    let mut args = None;
    if rest.starts_with('(') {
        let mut depth = 0usize;
        let mut close = None;
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        match close {
            Some(i) => {
                args = Some(rest[1..i].to_string());
                rest = &rest[i + 1..];
            }
            None => {
                // Unbalanced: the kind is the whole first word, parenthesis included.
                let end = msg.find(' ').unwrap_or(msg.len());
                let text = msg[end..].trim();
                return Some((msg[..end].to_string(), None, (!text.is_empty()).then(|| text.to_string())));
            }
        }
    }
    let text = rest.trim();
    Some((kind.to_string(), args, (!text.is_empty()).then(|| text.to_string())))
}

/// Parses one log line; `None` for anything that is not a trace line (another level mark, or a
/// `.` line that does not follow the grammar).
pub fn parse_line(line: &str) -> Option<TraceLine> {
    let line = line.trim_end_matches(['\r', '\n']);
    let mut it = line.splitn(7, ' ');
    let head = it.next()?;
    let (dd, mon, yyyy, time, mark) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    let msg = it.next()?;
    let (pid, role) = head.split_once(':')?;
    if !all_digits(pid) || mark != "." {
        return None;
    }
    let pid: u32 = pid.parse().ok()?;
    let mut rc = role.chars();
    let role = rc.next()?;
    if rc.next().is_some() || !"MSCX".contains(role) {
        return None;
    }
    let stamp = parse_stamp(dd, mon, yyyy, time)?;

    let msg = msg.strip_prefix('[')?;
    let close = msg.find(']')?;
    let server = &msg[..close];
    if server.is_empty() || server.contains(char::is_whitespace) {
        return None;
    }
    let msg = msg[close + 1..].strip_prefix(' ')?;
    let mut it = msg.splitn(4, ' ');
    let (from, arrow, to, body) = (it.next()?, it.next()?, it.next()?, it.next()?);
    let arrow = Arrow::parse(arrow)?;
    let to = to.strip_suffix(':')?;
    if from.is_empty() || to.is_empty() {
        return None;
    }
    let body = body.trim();
    let (body, meta) = split_meta(body).unwrap_or((body, Vec::new()));
    let (kind, args, text) = split_kind(body.trim_end())?;
    Some(TraceLine {
        pid,
        role,
        stamp,
        server: server.to_string(),
        from: from.to_string(),
        arrow,
        to: to.to_string(),
        kind,
        args,
        text,
        meta,
    })
}

/// The trace lines of one log, in log order.
pub fn parse_log(text: &str) -> Vec<TraceLine> {
    text.lines().filter_map(parse_line).collect()
}

/// The trace lines of several logs merged by time; lines with the same time keep their order
/// (the order of the logs, then the order within a log).
pub fn merge(logs: &[&str]) -> Vec<TraceLine> {
    let mut all: Vec<TraceLine> = logs.iter().flat_map(|t| parse_log(t)).collect();
    all.sort_by_key(|l| l.stamp);
    all
}
