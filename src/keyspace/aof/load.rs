//! Reading one AOF file: an optional RDB part (a base written with `aof-use-rdb-preamble`,
//! or an old single-file AOF's preamble), then commands in RESP, `#` annotations skipped,
//! with Redis's handling of a short file (`aof-load-truncated`), an incomplete MULTI and a
//! bad format.

use bytes::Bytes;
use std::io::{BufRead, BufReader, Read, Seek};

/// A unit of the file to apply: one command, or a MULTI ... EXEC block.
pub enum Unit {
    Cmd(Vec<Bytes>),
    Txn(Vec<Vec<Bytes>>),
}

/// How reading a file ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The whole file was read.
    Ok,
    /// The file ended in the middle of a command or transaction; the last whole unit ends at
    /// this offset.
    Short { valid_up_to: u64, reverted_multi: bool },
    /// Not an AOF (Redis's "Bad file format").
    Format,
    /// An unknown command name.
    Unknown(String),
    /// An I/O error other than the file's end.
    Io(String),
    /// What `apply` refused (the RDB part did not load, a command failed fatally).
    Refused(String),
}

/// Annotation lines are read at most this long (Redis's AOF_ANNOTATION_LINE_MAX_LEN).
const LINE_MAX: usize = 1024;

/// What reading the RDB part gives: applied by the caller.
pub type RdbPart = (Vec<crate::keyspace::Db>, crate::keyspace::snapshot::LoadInfo);

/// What the file holds, in order.
pub enum Event {
    /// The RDB part (the file starts with `REDIS`).
    Rdb(RdbPart),
    Unit(Unit),
}

/// Reads `f`, handing its RDB part and each unit to `apply`, in order. `progress` counts
/// the bytes read.
pub fn read_file(f: std::fs::File, ndbs: usize, progress: &std::sync::atomic::AtomicU64, apply: &mut dyn FnMut(Event) -> Result<(), String>) -> End {
    use std::sync::atomic::Ordering::Relaxed;
    let mut r = BufReader::with_capacity(1 << 16, f);
    let mut sig = [0u8; 5];
    let is_rdb = match r.fill_buf() {
        Ok(b) if b.len() >= 5 => {
            sig.copy_from_slice(&b[..5]);
            &sig == b"REDIS"
        }
        Ok(_) => false,
        Err(e) => return End::Io(e.to_string()),
    };
    if is_rdb {
        let size = r.get_ref().metadata().ok().map(|m| m.len());
        match crate::keyspace::snapshot::load_rdb_with(&mut r, size, ndbs, false, 0, None) {
            Ok(part) => {
                if let Err(e) = apply(Event::Rdb(part)) {
                    return End::Refused(e);
                }
            }
            Err(e) => return End::Refused(e.to_string()),
        }
    }
    let mut pos = match r.stream_position() {
        Ok(p) => p,
        Err(e) => return End::Io(e.to_string()),
    };
    progress.store(pos, Relaxed);
    let mut valid_up_to = pos;
    let mut txn: Option<(Vec<Vec<Bytes>>, u64)> = None;
    let mut line = Vec::with_capacity(64);
    loop {
        progress.store(pos, Relaxed);
        line.clear();
        match read_line(&mut r, &mut line, &mut pos) {
            Err(e) => return End::Io(e),
            Ok(false) => break,
            Ok(true) => {}
        }
        if line[0] == b'#' {
            continue;
        }
        if line[0] != b'*' {
            return End::Format;
        }
        if line.len() == 1 {
            // A lone `*` at the end of the file.
            return short(valid_up_to);
        }
        let argc = atoi(&line[1..]);
        if argc < 1 {
            return End::Format;
        }
        let mut argv = Vec::with_capacity((argc as usize).min(1024));
        for _ in 0..argc {
            line.clear();
            match read_line(&mut r, &mut line, &mut pos) {
                Err(e) => return End::Io(e),
                Ok(false) => return short(valid_up_to),
                Ok(true) => {}
            }
            if line[0] != b'$' {
                return End::Format;
            }
            let len = atoi(&line[1..]).max(0) as u64;
            let mut arg = Vec::new();
            match (&mut r).take(len).read_to_end(&mut arg) {
                Ok(n) if n as u64 == len => pos += len,
                Ok(_) => return short(valid_up_to),
                Err(e) => return End::Io(e.to_string()),
            }
            let mut crlf = [0u8; 2];
            match read_full(&mut r, &mut crlf) {
                Ok(2) => pos += 2,
                Ok(_) => return short(valid_up_to),
                Err(e) => return End::Io(e.to_string()),
            }
            argv.push(Bytes::from(arg));
        }
        let name = String::from_utf8_lossy(&argv[0]).to_string();
        if crate::keyspace::cmd::lookup(&argv[0]).is_none() {
            return End::Unknown(name);
        }
        if name.eq_ignore_ascii_case("multi") {
            if txn.is_none() {
                txn = Some((Vec::new(), valid_up_to));
            }
        } else if name.eq_ignore_ascii_case("exec") {
            if let Some((cmds, _)) = txn.take() {
                if let Err(e) = apply(Event::Unit(Unit::Txn(cmds))) {
                    return End::Refused(e);
                }
            }
        } else if let Some((cmds, _)) = txn.as_mut() {
            cmds.push(argv);
        } else if let Err(e) = apply(Event::Unit(Unit::Cmd(argv))) {
            return End::Refused(e);
        }
        valid_up_to = pos;
    }
    progress.store(pos, Relaxed);
    match txn {
        // The file ends inside MULTI: handled as a short read back to before the MULTI.
        Some((_, before)) => End::Short { valid_up_to: before, reverted_multi: true },
        None => End::Ok,
    }
}

fn short(valid_up_to: u64) -> End {
    End::Short { valid_up_to, reverted_multi: false }
}

/// Reads one line as C's fgets would with Redis's buffer: up to and including `\n`, at most
/// LINE_MAX - 1 bytes. Ok(false) at the end of the file with nothing read.
fn read_line<R: BufRead>(r: &mut R, out: &mut Vec<u8>, pos: &mut u64) -> Result<bool, String> {
    loop {
        let buf = r.fill_buf().map_err(|e| e.to_string())?;
        if buf.is_empty() {
            return Ok(!out.is_empty());
        }
        let room = LINE_MAX - 1 - out.len();
        let take = buf.iter().take(room).position(|&b| b == b'\n').map(|i| i + 1);
        let n = take.unwrap_or(buf.len().min(room));
        out.extend_from_slice(&buf[..n]);
        r.consume(n);
        *pos += n as u64;
        if take.is_some() || out.len() >= LINE_MAX - 1 {
            return Ok(true);
        }
    }
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// C's atoi/strtol on a header line: optional sign, digits, anything after ignored.
fn atoi(b: &[u8]) -> i64 {
    let b = &b[b.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
    let (neg, d) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let n = d.iter().take_while(|c| c.is_ascii_digit()).fold(0i64, |n, c| n.saturating_mul(10).saturating_add((c - b'0') as i64));
    if neg {
        -n
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read(content: &[u8]) -> (End, Vec<String>) {
        let path = std::env::temp_dir().join(format!("tandem-aof-load-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::File::create(&path).unwrap().write_all(content).unwrap();
        let mut seen = vec![];
        let progress = std::sync::atomic::AtomicU64::new(0);
        let end = read_file(std::fs::File::open(&path).unwrap(), 16, &progress, &mut |e| {
            match e {
                Event::Unit(Unit::Cmd(a)) => seen.push(String::from_utf8_lossy(&a.concat()).into_owned()),
                Event::Unit(Unit::Txn(c)) => seen.push(format!("txn{}", c.len())),
                Event::Rdb(_) => seen.push("rdb".into()),
            }
            Ok(())
        });
        let _ = std::fs::remove_file(&path);
        (end, seen)
    }

    #[test]
    fn reads_commands_annotations_and_transactions() {
        let (end, seen) = read(b"#TS:1\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n");
        assert_eq!(end, End::Ok);
        assert_eq!(seen, vec!["SELECT0".to_string(), "txn1".into()]);
    }

    #[test]
    fn short_files_and_bad_formats_as_redis() {
        let set = b"*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$1\r\n5\r\n";
        let mut short = set.to_vec();
        short.extend_from_slice(b"*3\r\n$3\r\nset\r\n$3\r\nfo");
        assert_eq!(read(&short).0, End::Short { valid_up_to: set.len() as u64, reverted_multi: false });
        let mut multi = set.to_vec();
        multi.extend_from_slice(b"*1\r\n$5\r\nmulti\r\n*3\r\n$3\r\nset\r\n$3\r\nbar\r\n$1\r\n1\r\n");
        let (end, seen) = read(&multi);
        assert_eq!(end, End::Short { valid_up_to: set.len() as u64, reverted_multi: true });
        assert_eq!(seen.len(), 1);
        assert_eq!(read(b"!!!!\r\n").0, End::Format);
        assert_eq!(read(b"*0\r\n").0, End::Format);
        assert_eq!(read(b"*1\r\n$3\r\nfoo\r\n").0, End::Unknown("foo".into()));
        assert_eq!(read(b"").0, End::Ok);
    }
}
