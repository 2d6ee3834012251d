//! Replication: the feed of the replication stream (owned by the keyspace actor), and later
//! the backlog, replica and master-link actors.

use crate::keyspace::{Ctx, Keyspace};
use crate::resp::reply::encode_command;
use bytes::{Bytes, BytesMut};
use std::fmt::Write;

/// Full/partial resync counters (INFO stats).
#[derive(Default, Debug, Clone)]
pub struct ReplStats {
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
}

/// The keyspace's side of the replication stream: IDs, offset, the stream's selected db, and
/// MULTI/EXEC wrapping of transactions.
pub struct Feed {
    pub replid: String,
    pub replid2: String,
    /// master_repl_offset: bytes of stream produced so far.
    pub offset: i64,
    pub second_offset: i64,
    /// True once a backlog exists (the first replica attached): only then does the stream
    /// grow, as in Redis.
    pub active: bool,
    /// The db the stream last SELECTed (None: the next command is preceded by SELECT).
    last_db: Option<usize>,
    /// Commands of the transaction being executed: emitted at its end.
    txn: Option<Vec<(usize, Vec<Bytes>)>>,
    /// Bytes produced and not yet handed to the backlog.
    pending: BytesMut,
    pub stats: ReplStats,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            replid: crate::util::random_hex(40),
            replid2: "0".repeat(40),
            offset: 0,
            second_offset: -1,
            active: false,
            last_db: None,
            txn: None,
            pending: BytesMut::new(),
            stats: ReplStats::default(),
        }
    }
}

impl Feed {
    pub fn offset(&self) -> i64 {
        self.offset
    }

    pub fn replication_buffer_bytes(&self) -> usize {
        0
    }

    pub fn begin_txn(&mut self) {
        self.txn = Some(Vec::new());
    }

    pub fn end_txn(&mut self) {
        let Some(cmds) = self.txn.take() else { return };
        match cmds.len() {
            0 => {}
            1 => {
                let (db, argv) = cmds.into_iter().next().unwrap_or_default();
                self.emit(db, &argv);
            }
            _ => {
                let db = cmds[0].0;
                self.emit(db, &[Bytes::from_static(b"MULTI")]);
                for (db, argv) in &cmds {
                    self.emit(*db, argv);
                }
                self.emit(db, &[Bytes::from_static(b"EXEC")]);
            }
        }
    }

    /// Appends the effects of one command executed in `db`.
    pub fn propagate(&mut self, db: usize, cmds: Vec<Vec<Bytes>>, _in_txn: bool) {
        if !self.active {
            return;
        }
        if let Some(t) = self.txn.as_mut() {
            t.extend(cmds.into_iter().map(|c| (db, c)));
            return;
        }
        if cmds.len() > 1 {
            self.emit(db, &[Bytes::from_static(b"MULTI")]);
            for c in &cmds {
                self.emit(db, c);
            }
            self.emit(db, &[Bytes::from_static(b"EXEC")]);
        } else if let Some(c) = cmds.first() {
            self.emit(db, c);
        }
    }

    fn emit(&mut self, db: usize, argv: &[Bytes]) {
        let before = self.pending.len();
        if self.last_db != Some(db) {
            encode_command(&[Bytes::from_static(b"SELECT"), Bytes::from(db.to_string())], &mut self.pending);
            self.last_db = Some(db);
        }
        encode_command(argv, &mut self.pending);
        self.offset += (self.pending.len() - before) as i64;
    }

    /// The INFO replication fields.
    pub fn info_fields(&self, ks: &Keyspace) -> String {
        let mut o = String::new();
        let size = ks.shared.cfg().repl_backlog_size();
        let _ = write!(
            o,
            "role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n\
             master_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\n\
             second_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\n\
             repl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
            self.replid,
            self.replid2,
            self.offset,
            self.second_offset,
            self.active as u8,
            size,
            if self.active { 1 } else { 0 },
            0
        );
        o
    }
}

/// DEBUG subcommands that belong to persistence/replication (DIGEST, RELOAD, ...).
/// Returns false when `sub` is not one of them.
pub fn debug_extra(_ks: &mut Keyspace, _ctx: &mut Ctx, _sub: &str, _a: &[Bytes]) -> bool {
    false
}

/// Starts the replication actors of a server (the master link when `replicaof` is set).
pub async fn start(_shared: &std::sync::Arc<crate::shared::Shared>, _keyspace: &crate::rt::Addr<Keyspace>) {}
