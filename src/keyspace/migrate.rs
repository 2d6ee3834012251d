//! MIGRATE's two steps in the keyspace. The client actor that runs MIGRATE talks to the
//! target server itself (the keyspace never waits on a socket): first it asks for the keys
//! serialized as DUMP serializes them, with the time each has left to live; once the target
//! has acknowledged their RESTOREs it asks, unless COPY, for those keys to be deleted. A key
//! is deleted only if it still holds what was sent (a client may have written it while the
//! target restored it: that write is kept, not lost), through DEL, so the deletion is
//! propagated, notified and counted as Redis propagates a MIGRATE (as `DEL key ...`).

use super::snapshot::value_ref;
use super::{cmd, Cmd, Keyspace};
use crate::rdb::{self, RdbOptions};
use crate::resp::Out;
use crate::rt::{async_trait, Context, Handler, Message};
use bytes::Bytes;

/// The keys of `db` to migrate, serialized: (key, DUMP payload, ms to live, 0 for none), for
/// the keys that exist and have not expired, in the order asked.
pub struct MigrateDump {
    pub client_id: u64,
    pub db: usize,
    pub keys: Vec<Bytes>,
}
impl Message for MigrateDump {
    type Result = Vec<(Bytes, Bytes, i64)>;
}

/// Deletes the migrated keys the target acknowledged, each only if it still serializes to
/// the payload sent; answers how many were deleted.
pub struct MigrateDelete {
    pub client_id: u64,
    pub db: usize,
    pub keys: Vec<(Bytes, Bytes)>,
}
impl Message for MigrateDelete {
    type Result = usize;
}

impl Keyspace {
    /// A key's DUMP payload and its time left (ms, at least 1; 0: no expiry), if it exists
    /// and has not expired.
    fn migrate_payload(&self, db: usize, key: &[u8], opts: &RdbOptions, now: i64) -> Option<(Vec<u8>, i64)> {
        let d = self.dbs.get(db)?;
        let v = d.keys.get(key)?;
        let ttl = match d.expires.get(key) {
            Some(&at) if at <= now => return None,
            Some(&at) => (at - now).max(1),
            None => 0,
        };
        Some((rdb::writer::dump_payload(value_ref(v), opts)?, ttl))
    }

    fn dump_options(&self) -> RdbOptions {
        RdbOptions { compress: self.shared.cfg().rdbcompression(), ..RdbOptions::default() }
    }
}

#[async_trait]
impl Handler<MigrateDump> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: MigrateDump) -> Vec<(Bytes, Bytes, i64)> {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.client_id), "keyspace", "MigrateDump({} keys)", msg.keys.len());
        let opts = self.dump_options();
        let now = crate::util::now_ms();
        msg.keys
            .into_iter()
            .filter_map(|k| {
                let (payload, ttl) = self.migrate_payload(msg.db, &k, &opts, now)?;
                Some((k, Bytes::from(payload), ttl))
            })
            .collect()
    }
}

#[async_trait]
impl Handler<MigrateDelete> for Keyspace {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: MigrateDelete) -> usize {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.client_id), "keyspace", "MigrateDelete({} keys)", msg.keys.len());
        let opts = self.dump_options();
        let now = crate::util::now_ms();
        let mut argv: crate::resp::request::Argv = Default::default();
        argv.push(Bytes::from_static(b"DEL"));
        for (k, sent) in msg.keys {
            if self.migrate_payload(msg.db, &k, &opts, now).is_some_and(|(p, _)| p[..] == sent[..]) {
                argv.push(k);
            }
        }
        let n = argv.len() - 1;
        let Some(spec) = cmd::lookup(b"del") else { return 0 };
        if n == 0 {
            return 0;
        }
        let mut out = Out::new(false);
        let mut db = msg.db;
        self.exec_client = msg.client_id;
        let _ = self.call(&Cmd { spec, argv }, &mut db, msg.client_id, &mut out, false);
        self.exec_client = 0;
        self.flush_feed_soon(ctx);
        n
    }
}
