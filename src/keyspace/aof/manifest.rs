//! The multi-part AOF's manifest: which files make the AOF (one base, incr files in order,
//! history files waiting to be removed), in Redis 7.0's text format, one line per file:
//! `file <name> seq <n> type <b|i|h>`.

use crate::util::splitargs::{repr, splitargs};
use std::path::Path;

/// One file of the AOF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: i64,
    pub kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Base,
    Incr,
    History,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Base => 'b',
            Kind::Incr => 'i',
            Kind::History => 'h',
        }
    }
}

/// The manifest as kept in memory (Redis's aofManifest).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    pub incr: Vec<AofFile>,
    pub history: Vec<AofFile>,
    pub base_seq: i64,
    pub incr_seq: i64,
}

/// Why a manifest could not be read: the line (number and text) and the reason, as Redis
/// logs them before it exits.
#[derive(Debug, PartialEq, Eq)]
pub struct ManifestError {
    pub line: Option<(usize, String)>,
    pub reason: &'static str,
}

const MAX_LINE: usize = 1024;

impl Manifest {
    /// Parses a manifest file's content.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::default();
        let mut max_seq = 0;
        if text.is_empty() {
            return Err(ManifestError { line: None, reason: "Found an empty AOF manifest" });
        }
        let mut rest = text;
        let mut linenum = 0;
        while !rest.is_empty() {
            // Lines as fgets reads them: at most MAX_LINE bytes each.
            let cut = rest.iter().take(MAX_LINE).position(|&b| b == b'\n').map(|i| i + 1);
            let (raw, tail) = rest.split_at(cut.unwrap_or(rest.len().min(MAX_LINE)));
            rest = tail;
            linenum += 1;
            if raw.first() == Some(&b'#') {
                continue;
            }
            let shown = || Some((linenum, String::from_utf8_lossy(trim(raw)).into_owned()));
            if !raw.ends_with(b"\n") {
                return Err(ManifestError { line: shown(), reason: "The AOF manifest file contains too long line" });
            }
            let line = trim(raw);
            let invalid = ManifestError { line: shown(), reason: "Invalid AOF manifest file format" };
            if line.is_empty() {
                return Err(invalid);
            }
            let args = match splitargs(line) {
                Some(a) if a.len() >= 6 && a.len() % 2 == 0 => a,
                _ => return Err(invalid),
            };
            let (mut name, mut seq, mut kind) = (None, 0i64, None);
            for pair in args.chunks(2) {
                let key = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
                match key.as_str() {
                    "file" => {
                        let n = String::from_utf8_lossy(&pair[1]).into_owned();
                        if n.contains('/') {
                            return Err(ManifestError { line: shown(), reason: "File can't be a path, just a filename" });
                        }
                        name = Some(n);
                    }
                    "seq" => seq = atoll(&pair[1]),
                    "type" => kind = pair[1].first().copied(),
                    _ => {}
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else { return Err(invalid) };
            if seq == 0 || name.is_empty() {
                return Err(invalid);
            }
            match kind {
                b'b' => {
                    if m.base.is_some() {
                        return Err(ManifestError { line: shown(), reason: "Found duplicate base file information" });
                    }
                    m.base_seq = seq;
                    m.base = Some(AofFile { name, seq, kind: Kind::Base });
                }
                b'h' => m.history.push(AofFile { name, seq, kind: Kind::History }),
                b'i' => {
                    if seq <= max_seq {
                        return Err(ManifestError { line: shown(), reason: "Found a non-monotonic sequence number" });
                    }
                    max_seq = seq;
                    m.incr_seq = seq;
                    m.incr.push(AofFile { name, seq, kind: Kind::Incr });
                }
                _ => return Err(ManifestError { line: shown(), reason: "Unknown AOF file type" }),
            }
        }
        if linenum == 0 {
            return Err(ManifestError { line: None, reason: "Found an empty AOF manifest" });
        }
        Ok(m)
    }

    /// The manifest's text: base first, then history, then incr files.
    pub fn format(&self) -> String {
        let mut s = String::new();
        for f in self.base.iter().chain(&self.history).chain(&self.incr) {
            let name = if needs_repr(&f.name) { repr(f.name.as_bytes()) } else { f.name.clone() };
            s.push_str(&format!("file {} seq {} type {}\n", name, f.seq, f.kind.letter()));
        }
        s
    }

    /// Whether the manifest names no base and no incr file (no AOF to load).
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incr.is_empty()
    }

    /// A new base file's name (`<appendfilename>.<seq>.base.<rdb|aof>`); the current base
    /// becomes history.
    pub fn new_base(&mut self, filename: &str, rdb: bool) -> String {
        if let Some(mut b) = self.base.take() {
            b.kind = Kind::History;
            self.history.insert(0, b);
        }
        self.base_seq += 1;
        let name = format!("{}.{}.base.{}", filename, self.base_seq, if rdb { "rdb" } else { "aof" });
        self.base = Some(AofFile { name: name.clone(), seq: self.base_seq, kind: Kind::Base });
        name
    }

    /// A new incr file's name (`<appendfilename>.<seq>.incr.aof`), appended to the list.
    pub fn new_incr(&mut self, filename: &str) -> String {
        self.incr_seq += 1;
        let name = format!("{}.{}.incr.aof", filename, self.incr_seq);
        self.incr.push(AofFile { name: name.clone(), seq: self.incr_seq, kind: Kind::Incr });
        name
    }

    /// The incr file written to: the last one, or a new one when there is none.
    pub fn last_incr(&mut self, filename: &str) -> String {
        match self.incr.last() {
            Some(f) => f.name.clone(),
            None => self.new_incr(filename),
        }
    }

    /// After a rewrite: every incr file but the one being written (`keep_last`) is history.
    pub fn mark_rewritten_incr_as_history(&mut self, keep_last: bool) {
        let keep = if keep_last { self.incr.pop() } else { None };
        for mut f in std::mem::take(&mut self.incr).into_iter().rev() {
            f.kind = Kind::History;
            self.history.insert(0, f);
        }
        self.incr.extend(keep);
    }
}

/// Writes `m` to `dir/<manifest>` through a temporary file, fsynced and renamed, then
/// fsyncs the directory (new AOF files may have appeared in it).
pub fn persist(dir: &Path, filename: &str, m: &Manifest) -> Result<(), String> {
    use std::io::Write;
    let name = manifest_name(filename);
    let tmp_name = format!("temp-{}", name);
    let (path, tmp) = (dir.join(&name), dir.join(&tmp_name));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| format!("Can't open the AOF manifest file {}: {}", tmp_name, crate::util::strerror(&e)))?;
    f.write_all(m.format().as_bytes())
        .map_err(|e| format!("Error trying to write the temporary AOF manifest file {}: {}", tmp_name, crate::util::strerror(&e)))?;
    f.sync_data().map_err(|e| format!("Fail to fsync the temp AOF file {}: {}.", tmp_name, crate::util::strerror(&e)))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        format!("Error trying to rename the temporary AOF manifest file {} into {}: {}", tmp_name, name, crate::util::strerror(&e))
    })?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// `<appendfilename>.manifest`
pub fn manifest_name(filename: &str) -> String {
    format!("{}.manifest", filename)
}

/// The temporary incr file used while AOF is being turned on (CONFIG SET appendonly yes).
pub fn temp_incr_name(filename: &str) -> String {
    format!("temp-{}.incr", filename)
}

fn trim(b: &[u8]) -> &[u8] {
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = b.iter().position(|c| !is_ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !is_ws(c)).map_or(start, |i| i + 1);
    &b[start..end.max(start)]
}

/// C's atoll: leading blanks, optional sign, digits; anything else ends it.
fn atoll(b: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits.bytes().take_while(|c| c.is_ascii_digit()).fold(0i64, |n, c| n.wrapping_mul(10).wrapping_add((c - b'0') as i64));
    if neg {
        -n
    } else {
        n
    }
}

/// Redis's sdsneedsrepr: names with blanks, quotes or non-printable bytes are quoted.
fn needs_repr(s: &str) -> bool {
    s.bytes().any(|c| c.is_ascii_whitespace() || c == b'\\' || c == b'"' || c == b'\'' || !(0x20..0x7f).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_as_redis() {
        let text = b"file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\n# c\nfile appendonly.aof.3.incr.aof seq 3 type i\nfile appendonly.aof.4.incr.aof seq 4 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.2.base.rdb");
        assert_eq!((m.base_seq, m.incr_seq, m.incr.len(), m.history.len()), (2, 4, 2, 1));
        assert_eq!(
            m.format(),
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.3.incr.aof seq 3 type i\nfile appendonly.aof.4.incr.aof seq 4 type i\n"
        );
    }

    #[test]
    fn refuses_what_redis_refuses() {
        let reason = |t: &[u8]| Manifest::parse(t).unwrap_err().reason;
        assert_eq!(reason(b""), "Found an empty AOF manifest");
        assert_eq!(reason(b"file a seq 1 type b"), "The AOF manifest file contains too long line");
        assert_eq!(reason(b"\n"), "Invalid AOF manifest file format");
        assert_eq!(reason(b"file a seq 1\n"), "Invalid AOF manifest file format");
        assert_eq!(reason(b"file a/b seq 1 type b\n"), "File can't be a path, just a filename");
        assert_eq!(reason(b"file a seq 1 type b\nfile b seq 2 type b\n"), "Found duplicate base file information");
        assert_eq!(reason(b"file a seq 2 type i\nfile b seq 1 type i\n"), "Found a non-monotonic sequence number");
        assert_eq!(reason(b"file a seq 1 type x\n"), "Unknown AOF file type");
        assert_eq!(reason(b"file a seq 0 type i\n"), "Invalid AOF manifest file format");
        // Comment lines are read 1024 bytes at a time, each piece a comment: accepted.
        assert!(Manifest::parse(&[b'#'; 2000]).unwrap().is_empty());
    }

    #[test]
    fn rewrite_bookkeeping() {
        let mut m = Manifest::default();
        assert_eq!(m.last_incr("appendonly.aof"), "appendonly.aof.1.incr.aof");
        assert_eq!(m.new_base("appendonly.aof", true), "appendonly.aof.1.base.rdb");
        assert_eq!(m.new_incr("appendonly.aof"), "appendonly.aof.2.incr.aof");
        m.mark_rewritten_incr_as_history(true);
        assert_eq!(m.format(), "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
        assert_eq!(m.new_base("appendonly.aof", false), "appendonly.aof.2.base.aof");
        assert_eq!(m.history[0].name, "appendonly.aof.1.base.rdb");
    }
}
