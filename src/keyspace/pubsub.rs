//! Pub/Sub: the channel table and message delivery, owned by the keyspace.
//!
//! Why the keyspace and not an actor of its own: PUBLISH answers how many clients received
//! the message, keyspace notifications are published by the commands that cause them, and
//! PUBLISH goes into the replication stream; all three need the table at the command's place
//! in the keyspace's order, which a second actor could only give by a round trip per command.
//!
//! A message reaches a subscriber through its connection's [`PushQueue`]: the frame is
//! encoded once per protocol (RESP2 `*3 message`, RESP3 `>3 message`), shared by every
//! subscriber as `Bytes`, and the client actor writes it out. Frames for the client whose
//! commands are running (RESP3 subscribers publishing to themselves, notifications of their
//! own writes) go straight into its reply, at their place among the replies.
//!
//! [`PushQueue`]: crate::shared::push::PushQueue

use super::{Ctx, Keyspace};
use crate::config::ClientClass;
use crate::shared::push::Pushed;
use crate::shared::ClientMeta;
use crate::util::glob::glob_match;
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Subscribers of one channel or pattern, by client id.
type Subscribers = HashMap<u64, Arc<ClientMeta>, ahash::RandomState>;
/// Channel (or pattern) -> subscribers.
type Table = HashMap<Bytes, Subscribers, ahash::RandomState>;

/// What one client is subscribed to (insertion order kept: UNSUBSCRIBE without arguments
/// answers in that order).
#[derive(Default)]
struct ClientSubs {
    meta: Option<Arc<ClientMeta>>,
    channels: Vec<Bytes>,
    patterns: Vec<Bytes>,
    shard: Vec<Bytes>,
}

impl ClientSubs {
    fn publish_counts(&self) {
        if let Some(m) = &self.meta {
            m.subs.store(self.channels.len() as u64, Relaxed);
            m.psubs.store(self.patterns.len() as u64, Relaxed);
            m.ssubs.store(self.shard.len() as u64, Relaxed);
        }
    }
    fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty()
    }
}

/// The three kinds of subscription.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }
    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

/// The server's channel table.
#[derive(Default)]
pub struct PubSub {
    channels: Table,
    patterns: Table,
    shard: Table,
    clients: HashMap<u64, ClientSubs>,
    /// Connections in MONITOR mode.
    monitors: HashMap<u64, Arc<ClientMeta>>,
}

impl PubSub {
    fn table(&mut self, kind: Kind) -> &mut Table {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// Channels with subscribers (INFO `pubsub_channels`).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Patterns with subscribers (INFO `pubsub_patterns`, PUBSUB NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Shard channels with subscribers (INFO `pubsubshard_channels`).
    pub fn shard_count(&self) -> usize {
        self.shard.len()
    }

    /// Whether `client` is subscribed to anything (RESP2's subscribed context).
    pub fn is_subscribed(&self, client: u64) -> bool {
        self.clients.get(&client).is_some_and(|c| !c.is_empty())
    }

    /// Connections in MONITOR mode.
    pub fn monitor_total(&self) -> usize {
        self.monitors.len()
    }

    /// Whether any connection is in MONITOR mode.
    pub fn has_monitors(&self) -> bool {
        !self.monitors.is_empty()
    }

    /// The connection of `client` if it receives pushes (subscriber or monitor).
    pub fn push_target(&self, client: u64) -> Option<&Arc<ClientMeta>> {
        self.clients.get(&client).and_then(|c| c.meta.as_ref()).or_else(|| self.monitors.get(&client))
    }

    /// What `client` is subscribed to: (channels, patterns, shard channels).
    pub fn subscriptions(&self, client: u64) -> Option<(Vec<Bytes>, Vec<Bytes>, Vec<Bytes>)> {
        self.clients.get(&client).map(|s| (s.channels.clone(), s.patterns.clone(), s.shard.clone()))
    }

    /// Forgets everything about `client` (it disconnected, or RESET).
    pub fn remove_client(&mut self, client: u64) {
        if let Some(m) = self.monitors.remove(&client) {
            m.monitor.store(false, Relaxed);
        }
        let Some(subs) = self.clients.remove(&client) else { return };
        for (kind, names) in [(Kind::Channel, &subs.channels), (Kind::Pattern, &subs.patterns), (Kind::Shard, &subs.shard)] {
            for n in names {
                remove_subscriber(self.table(kind), n, client);
            }
        }
        if let Some(m) = &subs.meta {
            m.subs.store(0, Relaxed);
            m.psubs.store(0, Relaxed);
            m.ssubs.store(0, Relaxed);
        }
    }

}

fn remove_subscriber(table: &mut Table, name: &[u8], client: u64) {
    if let Some(subs) = table.get_mut(name) {
        subs.remove(&client);
        if subs.is_empty() {
            // A channel nobody listens to is forgotten, so PUBSUB CHANNELS stays bounded.
            table.remove(name);
        }
    }
}

/// A push frame: `*N` (RESP2) or `>N` (RESP3) followed by bulk strings and, if given, a
/// final integer.
pub fn frame(resp3: bool, bulks: &[&[u8]], int: Option<i64>) -> Bytes {
    use crate::resp::reply::itoa_buf;
    let n = bulks.len() + int.is_some() as usize;
    let mut b = BytesMut::with_capacity(16 + bulks.iter().map(|x| x.len() + 16).sum::<usize>());
    b.put_u8(if resp3 { b'>' } else { b'*' });
    b.extend_from_slice(itoa_buf(n as i64).as_str().as_bytes());
    b.extend_from_slice(b"\r\n");
    for x in bulks {
        b.put_u8(b'$');
        b.extend_from_slice(itoa_buf(x.len() as i64).as_str().as_bytes());
        b.extend_from_slice(b"\r\n");
        b.extend_from_slice(x);
        b.extend_from_slice(b"\r\n");
    }
    if let Some(i) = int {
        b.put_u8(b':');
        b.extend_from_slice(itoa_buf(i).as_str().as_bytes());
        b.extend_from_slice(b"\r\n");
    }
    b.freeze()
}

/// A (un)subscribe confirmation whose channel may be nil (nothing to unsubscribe from).
fn confirmation(resp3: bool, word: &[u8], name: Option<&[u8]>, count: usize) -> Bytes {
    match name {
        Some(n) => frame(resp3, &[word, n], Some(count as i64)),
        None => {
            let mut b = BytesMut::new();
            b.extend_from_slice(if resp3 { b">3\r\n" } else { b"*3\r\n" });
            b.extend_from_slice(format!("${}\r\n", word.len()).as_bytes());
            b.extend_from_slice(word);
            b.extend_from_slice(if resp3 { b"\r\n_\r\n" } else { b"\r\n$-1\r\n" });
            b.extend_from_slice(format!(":{count}\r\n").as_bytes());
            b.freeze()
        }
    }
}

/// Where pushed frames go while one command runs: the running client's reply, or the other
/// connections' push queues. Borrows only what delivery needs, so the channel table can be
/// walked while delivering (no list of targets, no reference count per subscriber).
struct Delivery<'a, 'o> {
    shared: &'a crate::shared::Shared,
    exec_client: u64,
    exec_pushes: &'a mut BytesMut,
    out: Option<&'o mut crate::resp::Out>,
    /// Connections that passed their output limit (closed once delivery is over).
    over: Vec<Arc<ClientMeta>>,
}

impl Delivery<'_, '_> {
    fn deliver(&mut self, meta: &Arc<ClientMeta>, frame: &Bytes) {
        if meta.id == self.exec_client {
            if let Some(out) = self.out.as_deref_mut() {
                out.buf.extend_from_slice(frame);
                self.exec_pushes.extend_from_slice(frame);
                return;
            }
        }
        crate::trace_msg!(self.shared.log, "keyspace", format_args!("client:{}", meta.id), "Push({} bytes)", frame.len());
        let limit = if meta.in_pubsub() { self.shared.hot.pubsub_limit() } else { self.shared.cfg().client_output_buffer_limit(ClientClass::Normal) };
        if meta.push.push(frame.clone(), limit) == Pushed::OverLimit {
            self.over.push(meta.clone());
        }
    }
}

/// Lazily encoded copies of one frame, one per protocol.
struct Frames<F: Fn(bool) -> Bytes> {
    make: F,
    resp2: Option<Bytes>,
    resp3: Option<Bytes>,
}

impl<F: Fn(bool) -> Bytes> Frames<F> {
    fn new(make: F) -> Self {
        Frames { make, resp2: None, resp3: None }
    }
    fn get(&mut self, resp3: bool) -> Bytes {
        let slot = if resp3 { &mut self.resp3 } else { &mut self.resp2 };
        slot.get_or_insert_with(|| (self.make)(resp3)).clone()
    }
}

impl Keyspace {
    /// Shows a command to the MONITOR connections, as Redis's `replicationFeedMonitors`:
    /// `+<unix time with µs> [<db> <peer>] "arg" ...` (the master's stream shows the
    /// master link's peer address, an in-process connection its own address).
    pub(crate) fn feed_monitors(&mut self, client: u64, db: usize, argv: &[Bytes], out: Option<&mut crate::resp::Out>, by_script: bool) {
        let meta = if self.applying_master {
            // The master's stream: shown with the master link's peer address, as Redis.
            self.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).values().find(|e| e.meta.is_master.load(Relaxed)).map(|e| e.meta.clone())
        } else {
            self.client_meta(client)
        };
        let peer = match meta {
            // A command a script runs (Redis's CLIENT_SCRIPT client).
            _ if by_script => String::from("lua"),
            Some(m) if m.addr.starts_with('/') => format!("unix:{}", m.addr),
            Some(m) => m.addr.clone(),
            None => String::from("?"),
        };
        let us = crate::util::now_us();
        let mut line = format!("+{}.{:06} [{} {}]", us / 1_000_000, us % 1_000_000, db, peer);
        for a in argv {
            line.push(' ');
            line.push_str(&crate::util::splitargs::repr(a));
        }
        line.push_str("\r\n");
        let frame = Bytes::from(line);
        let monitors: Vec<Arc<ClientMeta>> = self.pubsub.monitors.values().cloned().collect();
        let mut out = out;
        for m in monitors {
            self.push_to(&m, frame.clone(), out.as_deref_mut());
        }
    }

    /// Whether `client` is subscribed to anything.
    pub(crate) fn pubsub_subscribed(&self, client: u64) -> bool {
        self.pubsub.is_subscribed(client)
    }

    /// Publishes a keyspace notification, as Redis's `notifyKeyspaceEvent`: `event` happened
    /// to `key` in the command's db; `class` is one of `config::notify`'s bits. Published on
    /// `__keyspace@<db>__:<key>` (message: the event) if `K` is on, and on
    /// `__keyevent@<db>__:<event>` (message: the key) if `E` is on, when `class` is enabled.
    /// Call it after the change, in the order Redis does.
    pub(crate) fn notify(&mut self, ctx: &mut Ctx, class: u32, event: &str, key: &[u8]) {
        let db = ctx.db;
        self.notify_db(Some(ctx.out), class, event, key, db);
    }

    /// [`notify`](Self::notify) outside a command (expiry by the cron, evictions): `out` is
    /// the running Exec's reply if there is one.
    pub(crate) fn notify_db(&mut self, out: Option<&mut crate::resp::Out>, class: u32, event: &str, key: &[u8], db: usize) {
        use crate::config::notify;
        let flags = self.shared.hot.notify_flags.load(Relaxed);
        if flags & class == 0 || flags & (notify::KEYSPACE | notify::KEYEVENT) == 0 {
            return;
        }
        let mut out = out;
        if flags & notify::KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{db}__:").into_bytes();
            ch.extend_from_slice(key);
            self.publish(&ch, event.as_bytes(), false, out.as_deref_mut());
        }
        if flags & notify::KEYEVENT != 0 {
            let ch = format!("__keyevent@{db}__:{event}");
            self.publish(ch.as_bytes(), key, false, out.as_deref_mut());
        }
    }

    /// Sends a frame to `meta`'s connection: into the running Exec's reply when it is that
    /// client's, else into its push queue (closing it if that passes its output limit).
    pub(crate) fn push_to(&mut self, meta: &Arc<ClientMeta>, frame: Bytes, out: Option<&mut crate::resp::Out>) {
        let mut d = Delivery { shared: &self.shared, exec_client: self.exec_client, exec_pushes: &mut self.exec_pushes, out, over: Vec::new() };
        d.deliver(meta, &frame);
        for m in d.over {
            self.close_for_output_limit(&m);
        }
    }

    /// Redis's `freeClientAsync` after `checkClientOutputBufferLimits`: logged, counted, and
    /// the connection closed at once.
    fn close_for_output_limit(&mut self, meta: &Arc<ClientMeta>) {
        let info = crate::keyspace::cmd::clients::client_line(meta);
        crate::warning!(self.shared.log, "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.", info);
        meta.killed.store(true, Relaxed);
        if let Some(e) = self.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).get(&meta.id) {
            (e.kill)();
        }
    }

    /// The connection metadata of a client (to push to it).
    pub(crate) fn client_meta(&self, client: u64) -> Option<Arc<ClientMeta>> {
        if let Some(m) = self.pubsub.push_target(client) {
            return Some(m.clone());
        }
        self.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).get(&client).map(|e| e.meta.clone())
    }

    /// Delivers `message` on `channel` to its subscribers (and, unless `shard`, to the
    /// patterns matching it); returns how many received it.
    pub(crate) fn publish(&mut self, channel: &[u8], message: &[u8], shard: bool, out: Option<&mut crate::resp::Out>) -> usize {
        let table = if shard { &self.pubsub.shard } else { &self.pubsub.channels };
        let mut d = Delivery { shared: &self.shared, exec_client: self.exec_client, exec_pushes: &mut self.exec_pushes, out, over: Vec::new() };
        let mut n = 0;
        if let Some(subs) = table.get(channel) {
            let word: &[u8] = if shard { b"smessage" } else { b"message" };
            let mut frames = Frames::new(|r3| frame(r3, &[word, channel, message], None));
            for m in subs.values() {
                d.deliver(m, &frames.get(m.resp.load(Relaxed) == 3));
                n += 1;
            }
        }
        if !shard {
            for (pat, subs) in &self.pubsub.patterns {
                if !glob_match(pat, channel, false) {
                    continue;
                }
                let mut frames = Frames::new(|r3| frame(r3, &[b"pmessage", pat, channel, message], None));
                for m in subs.values() {
                    d.deliver(m, &frames.get(m.resp.load(Relaxed) == 3));
                    n += 1;
                }
            }
        }
        let over = std::mem::take(&mut d.over);
        drop(d);
        for m in over {
            self.close_for_output_limit(&m);
        }
        n
    }

    /// (P|S)SUBSCRIBE for the running client: adds the subscriptions and answers one
    /// confirmation per name (with the client's subscription count after it).
    fn subscribe(&mut self, ctx: &mut Ctx, kind: Kind, names: &[Bytes]) {
        let Some(meta) = self.client_meta(ctx.client_id) else {
            ctx.error("ERR this connection cannot subscribe");
            return;
        };
        let resp3 = ctx.out.resp3;
        for name in names {
            let subs = self.pubsub.clients.entry(ctx.client_id).or_default();
            subs.meta.get_or_insert_with(|| meta.clone());
            let list = match kind {
                Kind::Channel => &mut subs.channels,
                Kind::Pattern => &mut subs.patterns,
                Kind::Shard => &mut subs.shard,
            };
            if !list.contains(name) {
                list.push(name.clone());
                self.pubsub.table(kind).entry(name.clone()).or_default().insert(ctx.client_id, meta.clone());
            }
            let subs = &self.pubsub.clients[&ctx.client_id];
            let count = if kind == Kind::Shard { subs.shard.len() } else { subs.channels.len() + subs.patterns.len() };
            subs.publish_counts();
            let f = confirmation(resp3, kind.subscribe_word(), Some(name), count);
            self.push_to(&meta, f, Some(ctx.out));
        }
    }

    /// (P|S)UNSUBSCRIBE for the running client: the names given, or all of that kind;
    /// always at least one confirmation (a nil name when there was nothing).
    fn unsubscribe(&mut self, ctx: &mut Ctx, kind: Kind, names: &[Bytes]) {
        let resp3 = ctx.out.resp3;
        let client = ctx.client_id;
        let names: Vec<Bytes> = if names.is_empty() {
            self.pubsub
                .clients
                .get(&client)
                .map(|s| match kind {
                    Kind::Channel => s.channels.clone(),
                    Kind::Pattern => s.patterns.clone(),
                    Kind::Shard => s.shard.clone(),
                })
                .unwrap_or_default()
        } else {
            names.to_vec()
        };
        let meta = self.client_meta(client);
        let mut frames = Vec::new();
        for name in &names {
            let mut count = 0;
            if let Some(subs) = self.pubsub.clients.get_mut(&client) {
                let list = match kind {
                    Kind::Channel => &mut subs.channels,
                    Kind::Pattern => &mut subs.patterns,
                    Kind::Shard => &mut subs.shard,
                };
                let had = list.iter().position(|x| x == name).map(|i| list.remove(i)).is_some();
                count = if kind == Kind::Shard { subs.shard.len() } else { subs.channels.len() + subs.patterns.len() };
                subs.publish_counts();
                if had {
                    remove_subscriber(self.pubsub.table(kind), name, client);
                }
            }
            frames.push(confirmation(resp3, kind.unsubscribe_word(), Some(name), count));
        }
        if names.is_empty() {
            let count = self
                .pubsub
                .clients
                .get(&client)
                .map(|s| if kind == Kind::Shard { s.shard.len() } else { s.channels.len() + s.patterns.len() })
                .unwrap_or(0);
            frames.push(confirmation(resp3, kind.unsubscribe_word(), None, count));
        }
        if self.pubsub.clients.get(&client).is_some_and(|s| s.is_empty()) {
            self.pubsub.clients.remove(&client);
        }
        for f in frames {
            match &meta {
                Some(m) => self.push_to(m, f, Some(ctx.out)),
                None => {
                    ctx.out.buf.extend_from_slice(&f);
                    self.exec_pushes.extend_from_slice(&f);
                }
            }
        }
    }
}

/// MONITOR: every command run from now on is shown on this connection.
pub fn monitor(ks: &mut Keyspace, ctx: &mut Ctx, _a: &[Bytes]) {
    if ctx.in_txn {
        ctx.error("ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    let Some(meta) = ks.client_meta(ctx.client_id) else {
        ctx.error("ERR this connection cannot monitor");
        return;
    };
    // A replica's connection ignores it, as Redis.
    if meta.is_replica.load(Relaxed) {
        return;
    }
    meta.monitor.store(true, Relaxed);
    ks.pubsub.monitors.insert(meta.id, meta);
    ks.shared.hot.monitors.store(ks.pubsub.monitors.len() as u64, Relaxed);
    ctx.out.ok();
}

/// SUBSCRIBE channel [channel ...]
pub fn subscribe(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ks.subscribe(ctx, Kind::Channel, &a[1..]);
}

/// PSUBSCRIBE pattern [pattern ...]
pub fn psubscribe(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ks.subscribe(ctx, Kind::Pattern, &a[1..]);
}

/// SSUBSCRIBE shardchannel [shardchannel ...] (refused inside MULTI, as Redis refuses it to
/// a client that cannot block).
pub fn ssubscribe(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if ctx.in_txn {
        ctx.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
        return;
    }
    ks.subscribe(ctx, Kind::Shard, &a[1..]);
}

/// UNSUBSCRIBE [channel ...]
pub fn unsubscribe(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ks.unsubscribe(ctx, Kind::Channel, &a[1..]);
}

/// PUNSUBSCRIBE [pattern ...]
pub fn punsubscribe(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ks.unsubscribe(ctx, Kind::Pattern, &a[1..]);
}

/// SUNSUBSCRIBE [shardchannel ...]
pub fn sunsubscribe(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ks.unsubscribe(ctx, Kind::Shard, &a[1..]);
}

/// PUBLISH channel message: propagated to replicas (as Redis outside cluster mode).
pub fn publish(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let n = ks.publish(&a[1], &a[2], false, Some(ctx.out));
    ctx.force_propagate = true;
    ctx.out.int(n as i64);
}

/// SPUBLISH shardchannel message.
pub fn spublish(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let n = ks.publish(&a[1], &a[2], true, Some(ctx.out));
    ctx.force_propagate = true;
    ctx.out.int(n as i64);
}

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// PUBSUB CHANNELS | NUMSUB | NUMPAT | SHARDCHANNELS | SHARDNUMSUB | HELP
pub fn pubsub(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match (sub.as_str(), a.len()) {
        ("help", 2) => {
            ctx.out.help(&PUBSUB_HELP);
        }
        ("channels", 2 | 3) | ("shardchannels", 2 | 3) => {
            let table = if sub == "channels" { &ks.pubsub.channels } else { &ks.pubsub.shard };
            let names: Vec<&Bytes> = table.keys().filter(|c| a.len() == 2 || glob_match(&a[2], c, false)).collect();
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(n);
            }
        }
        ("numsub", _) | ("shardnumsub", _) => {
            let table = if sub == "numsub" { &ks.pubsub.channels } else { &ks.pubsub.shard };
            ctx.out.array((a.len() - 2) * 2);
            for c in &a[2..] {
                ctx.out.bulk(c);
                ctx.out.int(table.get(c).map_or(0, |s| s.len()) as i64);
            }
        }
        ("numpat", 2) => ctx.out.int(ks.pubsub.patterns.len() as i64),
        _ => ctx.error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(crate::keyspace::cmd::cstr(&a[1], 128))
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_in_both_protocols() {
        assert_eq!(&frame(false, &[b"message", b"ch", b"hi"], None)[..], b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
        assert_eq!(&frame(true, &[b"subscribe", b"ch"], Some(1))[..], b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
        assert_eq!(&confirmation(false, b"unsubscribe", None, 0)[..], b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
        assert_eq!(&confirmation(true, b"unsubscribe", None, 0)[..], b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
    }
}
