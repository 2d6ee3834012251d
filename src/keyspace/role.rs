//! How replication changes the keyspace, applied in its order: the role (a replica leaves
//! expiry to its master and releases blocked clients), a full sync's dataset replacing ours,
//! and the master's stream applied command by command. The replication actors decide; these
//! methods are what their handlers (in `repl`) ask of the keyspace.

use super::{Db, Item, Keyspace};
use crate::resp::Out;
use crate::shared::repl::Role;
use std::sync::atomic::Ordering::Relaxed;

impl Keyspace {
    /// Applies the role the MasterLink actor decided, and publishes it for the client actors.
    pub(crate) fn set_role(&mut self, role: Role) {
        self.feed.flush();
        let replica = role.is_replica();
        self.is_replica = replica;
        self.shared.is_replica.store(replica, Relaxed);
        self.shared.log.set_role(role.log_char());
        if replica {
            self.unblock_all("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
            // Our own history becomes the cached master for the first PSYNC.
            if self.feed.active || self.feed.offset > 0 {
                self.feed.has_history = true;
            }
            self.feed.replica_mode = true;
        } else if self.feed.replica_mode {
            self.feed.replica_mode = false;
            self.feed.shift_replid(None);
            self.feed.last_db = None;
            self.feed.drop_replicas();
        }
    }

    /// Replica side: the dataset received in a full sync (the master's `replid` at `offset`,
    /// its stream having selected `stream_db`, -1: none) replaces ours.
    pub(crate) fn load_snapshot(&mut self, dbs: Vec<Db>, replid: String, offset: i64, stream_db: i64) {
        self.feed.flush();
        let mut dbs = dbs;
        dbs.resize_with(self.dbs.len(), Db::default);
        let old = std::mem::replace(&mut self.dbs, dbs);
        if self.shared.cfg().flag("replica-lazy-flush") {
            let n = old.iter().map(|d| d.keys.len() as u64).sum();
            super::lazyfree::free_later(&self.shared, old, n);
        } else {
            drop(old);
        }
        self.replica_own_expires.clear();
        self.touch_all_watched(None);
        self.tracking_flush();
        self.feed.load_history(replid, offset, stream_db);
    }

    /// Replica side: runs commands from the master's stream (starting in `db`), then appends
    /// their raw bytes to our own stream. Returns the db the stream ends in.
    pub(crate) fn apply_master_stream(&mut self, items: &[Item], raw: &[u8], db: usize) -> usize {
        let mut out = Out::new(false);
        let mut db = db;
        self.applying_master = true;
        let _ = self.exec_items(items, &mut db, 0, &mut out, &mut Vec::new());
        self.applying_master = false;
        self.tracking_broadcast(None);
        self.feed.applied(raw, db);
        db
    }
}
