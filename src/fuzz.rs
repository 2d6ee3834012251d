//! Fuzz targets: one `fn(&[u8])` per input surface, driven by `tests/fuzz.rs` (see the
//! README's testing section and `scripts/fuzz.sh`). Every target must return normally for
//! any input; a panic, a hang or an unbounded allocation is a bug the driver reports.
//!
//! The parsers (RESP requests, RDB, AOF, manifest, configuration, DUMP payloads) are called
//! directly. Command argument handling and the replication stream go through embedded
//! servers: a server holding every type for random argv of every command, and a replica of a
//! fake master (a socket server in this module) for raw master streams.

mod commands;
mod repl;

use crate::keyspace::snapshot::{self, Snapshot};
use bytes::BytesMut;

/// One fuzz target: its corpus directory name and entry points.
pub struct Target {
    /// Name of the target and of its corpus directory `tests/fuzz-corpus/<name>/`.
    pub name: &'static str,
    /// Runs one input; panics on a bug.
    pub run: fn(&[u8]),
    /// Makes a mutated input pass the format's integrity check (checksum), so the decoder
    /// behind it is reached; the driver applies it to most inputs.
    pub seal: Option<fn(&mut Vec<u8>)>,
    /// Builds what the target needs before the first input (servers), untimed.
    pub init: Option<fn()>,
    /// Stops what `init` started.
    pub finish: Option<fn()>,
    /// The input is a choice sequence rather than a file format: the driver mostly feeds
    /// fresh random bytes instead of mutating the corpus.
    pub structured: bool,
}

/// Every target, in the order the driver runs them.
pub const TARGETS: &[Target] = &[
    Target { name: "resp", run: resp_request, seal: None, init: None, finish: None, structured: false },
    Target { name: "rdb", run: rdb_load, seal: Some(seal_rdb), init: None, finish: None, structured: false },
    Target { name: "aof", run: aof_load, seal: None, init: None, finish: None, structured: false },
    Target { name: "aof_manifest", run: aof_manifest, seal: None, init: None, finish: None, structured: false },
    Target { name: "config", run: config_text, seal: None, init: None, finish: None, structured: false },
    Target { name: "restore", run: restore_payload, seal: Some(seal_dump), init: None, finish: None, structured: false },
    Target { name: "commands", run: commands::run, seal: None, init: Some(commands::init), finish: Some(commands::finish), structured: true },
    Target { name: "repl", run: repl::run, seal: None, init: Some(repl::init), finish: Some(repl::finish), structured: false },
];

/// A tiny deterministic generator (xorshift64*) for choices derived from an input itself.
pub(crate) struct Xorshift(u64);

impl Xorshift {
    /// Seeded from the bytes of `data` (FNV-1a), so a choice depends on the input alone.
    pub(crate) fn of(data: &[u8]) -> Self {
        Xorshift(fnv(data) | 1)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// FNV-1a 64 of `data` (also names crash files).
pub fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

// ---------------------------------------------------------------- RESP requests

type Parsed = (Vec<(Vec<bytes::Bytes>, usize)>, Option<crate::resp::ProtoError>);

/// Parses `data` fed in the chunks ending at `cuts` (then the rest); checks that the bytes
/// taken, in progress and left add up to the input.
fn parse_chunked(data: &[u8], cuts: &[usize], limits: crate::resp::Limits, keep_empty: bool) -> Parsed {
    let mut p = crate::resp::RequestParser::new();
    p.keep_empty = keep_empty;
    let mut buf = BytesMut::new();
    let mut out = vec![];
    let mut from = 0;
    for &end in cuts.iter().chain(std::iter::once(&data.len())) {
        buf.extend_from_slice(&data[from..end]);
        from = end;
        if let Err(e) = p.parse(&mut buf, limits, &mut out) {
            return (out.into_iter().map(|r| (r.argv.to_vec(), r.wire_len)).collect(), Some(e));
        }
    }
    let reqs: Vec<_> = out.into_iter().map(|r| (r.argv.to_vec(), r.wire_len)).collect();
    if keep_empty {
        let taken: usize = reqs.iter().map(|r| r.1).sum();
        assert_eq!(taken + p.partial_bytes() + buf.len(), data.len(), "requests, partial request and buffer add up to the input");
    }
    (reqs, None)
}

/// The request parser (multibulk and inline) with the limits a client has (authenticated
/// or not, `proto-max-bulk-len` default and tiny) and a replica's (empty requests kept):
/// the input parsed whole and in random chunks gives the same requests and error.
pub fn resp_request(data: &[u8]) {
    use crate::resp::Limits;
    let mut rng = Xorshift::of(data);
    let variants = [
        (Limits { max_bulk_len: 512 << 20, authenticated: true }, false),
        (Limits { max_bulk_len: 512 << 20, authenticated: false }, false),
        (Limits { max_bulk_len: 3, authenticated: true }, false),
        (Limits { max_bulk_len: i64::MAX, authenticated: true }, true),
    ];
    for (limits, keep_empty) in variants {
        let whole = parse_chunked(data, &[], limits, keep_empty);
        let mut cuts: Vec<usize> = (0..1 + rng.below(8)).map(|_| rng.below(data.len() as u64 + 1) as usize).collect();
        cuts.sort_unstable();
        let split = parse_chunked(data, &cuts, limits, keep_empty);
        if whole != split && !line_limit_reached(&whole, &split) {
            panic!("chunks {cuts:?} ({limits:?}): whole {} / split {}", summary(&whole), summary(&split));
        }
    }
}

/// A line longer than the inline limit is refused only while its end has not arrived, as in
/// Redis (whose reads of 16 KiB decide it): a split input may then fail where the whole
/// input parses, after the same requests.
fn line_limit_reached(whole: &Parsed, split: &Parsed) -> bool {
    split.1.as_ref().is_some_and(|e| e.0.starts_with("too big")) && whole.0.starts_with(&split.0)
}

/// A short description of a parse result (requests can be large).
fn summary(p: &Parsed) -> String {
    let shown: Vec<String> = p.0.iter().take(4).map(|(argv, len)| format!("{} args/{len} bytes", argv.len())).collect();
    format!("{} requests [{}...], error {:?}", p.0.len(), shown.join(", "), p.1)
}

// ---------------------------------------------------------------- RDB

/// Zeroes an RDB's checksum (Redis skips the check then), so loads can succeed.
fn seal_rdb(data: &mut Vec<u8>) {
    let n = data.len();
    if n >= 17 {
        data[n - 8..].fill(0);
    }
}

/// Writes `dbs` as an RDB and loads it back: what tandem loaded it must be able to save
/// and load again, with the same DEBUG DIGEST.
fn rdb_round_trip(dbs: Vec<crate::keyspace::Db>, functions: Vec<bytes::Bytes>) {
    let before = snapshot::digest(&dbs);
    let snap = Snapshot {
        dbs,
        replid: "0".repeat(40),
        offset: 0,
        stream_db: 0,
        key_save_delay: 0,
        functions,
        cancel: Default::default(),
        ctime: 0,
        used_mem: 0,
    };
    let out = snapshot::write_rdb(&snap, Vec::new(), true).expect("writing a loaded dataset");
    let (again, _) = snapshot::load_rdb(&out[..], Some(out.len() as u64), 16, false).expect("loading what tandem wrote");
    assert_eq!(before, snapshot::digest(&again), "digest after an RDB round trip");
}

/// The RDB loader as a replica and a restart use it (size known and unknown, 16 databases,
/// expired keys kept); a dataset it accepts survives a save and a reload.
pub fn rdb_load(data: &[u8]) {
    let sized = snapshot::load_rdb(data, Some(data.len() as u64), 16, false);
    let streamed = snapshot::load_rdb(data, None, 16, false);
    assert_eq!(sized.is_ok(), streamed.is_ok(), "a known size changes no verdict: {:?} / {:?}", sized.as_ref().err(), streamed.as_ref().err());
    if let (Ok((dbs, info)), Ok((dbs2, _))) = (sized, streamed) {
        assert_eq!(snapshot::digest(&dbs), snapshot::digest(&dbs2));
        rdb_round_trip(dbs, info.functions);
        // A master's restart drops expired keys: the other branch of the sink.
        let _ = snapshot::load_rdb(data, Some(data.len() as u64), 16, true);
    }
}

// ---------------------------------------------------------------- AOF

/// An anonymous in-memory file holding `data` (the AOF reader takes a `File`).
fn mem_file(data: &[u8]) -> std::fs::File {
    use std::io::{Seek, Write};
    use std::os::fd::FromRawFd;
    // SAFETY: memfd_create returns a new descriptor owned by the File (or -1, checked).
    let fd = unsafe { libc::memfd_create(c"tandem-fuzz".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    f.write_all(data).expect("memfd write");
    f.rewind().expect("memfd seek");
    f
}

/// One AOF file as loading reads it (RDB preamble, commands, annotations, MULTI blocks,
/// truncation); the verdict's offsets stay inside the file.
pub fn aof_load(data: &[u8]) {
    use crate::keyspace::aof::load::{read_file, End, Event, Unit};
    let progress = std::sync::atomic::AtomicU64::new(0);
    let mut units = 0usize;
    let end = read_file(mem_file(data), 16, &progress, &mut |e| {
        match e {
            Event::Rdb((dbs, _)) => drop(snapshot::digest(&dbs)),
            Event::Unit(Unit::Cmd(argv)) => assert!(!argv.is_empty()),
            Event::Unit(Unit::Txn(cmds)) => assert!(cmds.iter().all(|c| !c.is_empty())),
        }
        units += 1;
        Ok(())
    });
    if let End::Short { valid_up_to, .. } = end {
        assert!(valid_up_to <= data.len() as u64, "valid_up_to {valid_up_to} past the end");
    }
}

/// The multi-part AOF manifest parser; a manifest it accepts formats to a text that parses
/// to the same manifest.
pub fn aof_manifest(data: &[u8]) {
    use crate::keyspace::aof::manifest::Manifest;
    if let Ok(m) = Manifest::parse(data) {
        let text = m.format();
        let again = Manifest::parse(text.as_bytes());
        if !text.is_empty() {
            let again = again.unwrap_or_else(|e| panic!("the formatted manifest {text:?} does not parse: {e:?}"));
            assert_eq!(again.format(), text, "formatting is stable");
        }
    }
}

// ---------------------------------------------------------------- configuration

/// The redis.conf parser (as a file and as command-line options); an accepted text is then
/// rewritten (CONFIG REWRITE over the same text), read back (CONFIG GET *) and its lines
/// set again (CONFIG SET).
pub fn config_text(data: &[u8]) {
    // A last `logfile ""`: loading a config creates its log file (as Redis checks it opens),
    // and fuzzed names must not land in the working directory.
    let text = format!("{}\nlogfile \"\"\n", String::from_utf8_lossy(data));
    let _ = crate::config::Config::load_layers("", &[], &text);
    let Ok(mut cfg) = crate::config::Config::from_text(&text) else { return };
    let _ = cfg.rewrite_content(&text);
    let _ = cfg.get(b"*");
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let (name, value) = l.split_once(' ').unwrap_or((l, ""));
            (!name.is_empty() && !name.starts_with('#')).then(|| (name.as_bytes().to_vec(), value.as_bytes().to_vec()))
        })
        .collect();
    for pair in &pairs {
        let _ = cfg.set(std::slice::from_ref(pair));
    }
    let _ = cfg.set(&pairs);
}

// ---------------------------------------------------------------- DUMP / RESTORE

/// Gives a DUMP payload a correct CRC64 (its RDB version kept), so RESTORE's decoder, not
/// its checksum test, sees the mutated body.
pub(crate) fn seal_dump(data: &mut Vec<u8>) {
    if data.len() < 10 {
        return;
    }
    let n = data.len();
    let crc = crate::rdb::crc64::crc64(&data[..n - 8]);
    data[n - 8..].copy_from_slice(&crc.to_le_bytes());
}

/// The DUMP payload decoder RESTORE uses (and FUNCTION RESTORE's): a value it accepts
/// becomes a keyspace value that dumps and decodes again to the same digest.
pub fn restore_payload(data: &[u8]) {
    use crate::rdb::reader::{parse_dump_payload, parse_function_payload};
    let _ = parse_function_payload(data);
    let Ok(v) = parse_dump_payload(data) else { return };
    let value = snapshot::from_rdb(v);
    let payload = crate::rdb::writer::dump_payload(snapshot::value_ref(&value), &crate::rdb::RdbOptions::default())
        .expect("a restored value dumps");
    let again = parse_dump_payload(&payload).expect("tandem's DUMP of a restored value decodes");
    let mut a = crate::rdb::Digest::new();
    a.add_key(b"k", snapshot::value_ref(&value), None);
    let mut b = crate::rdb::Digest::new();
    b.add_key_value(b"k", &again, None);
    assert_eq!(a.hex(), b.hex(), "digest after DUMP of a restored value");
}

/// Runs `fut` on the calling thread with a deadline: `Err` past it.
pub(crate) fn within<T>(ms: u64, fut: impl std::future::Future<Output = T>) -> Result<T, String> {
    crate::rt::block_on(crate::rt::timeout(std::time::Duration::from_millis(ms), fut)).ok_or_else(|| format!("no answer within {ms} ms"))
}

/// Panics when the server's log grew a `== BUG ==` line since offset `seen` (a command
/// panicked and the keyspace caught it); only the new part of the log is read.
pub(crate) fn check_log(path: &std::path::Path, seen: &mut u64, what: &str) {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else { return };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len <= *seen {
        return;
    }
    let mut new = Vec::new();
    if f.seek(SeekFrom::Start(*seen)).is_err() || f.read_to_end(&mut new).is_err() {
        return;
    }
    *seen += new.len() as u64;
    let new = String::from_utf8_lossy(&new);
    if let Some(line) = new.lines().find(|l| l.contains("== BUG ==")) {
        panic!("{what}: {line}");
    }
}
