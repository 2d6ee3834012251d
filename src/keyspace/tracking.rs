//! Client-side caching (CLIENT TRACKING): the tracking table and the invalidation messages,
//! owned by the keyspace.
//!
//! Why the keyspace: it is the ordering point of every write (clients, MULTI/EXEC, scripts,
//! the master's stream on a replica, expiry, eviction), and it runs the reads whose keys a
//! tracking connection must be told about. Invalidations reach connections the way Pub/Sub
//! messages do ([`Keyspace::push_to`]): into the connection's push queue, or into the running
//! client's reply.
//!
//! The order Redis 7.0 gives, kept here:
//! - an invalidation caused by a connection's own command (its write, or a key of its read
//!   expiring) is sent after that command's reply (after EXEC's whole reply, after a script's
//!   reply): the keyspace holds it in `pending` until the command is answered;
//! - BCAST invalidations are gathered per prefix and sent once the keyspace finished the
//!   batch (Redis's `beforeSleep`), the keys in byte order, one message per prefix;
//! - FLUSHDB / FLUSHALL (and a replica's full sync) invalidate everything: a null key list.
//!
//! Fast path: a read pays for tracking only while some connection tracks keys (one counter
//! is checked), and a write only while the table or a prefix is in use.

use super::cmd::{self, err};
use super::{Ctx, Keyspace};
use crate::resp::Out;
use crate::shared::{track, ClientMeta};
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Who changed a key when a script's command did (Redis's Lua client, no connection's id).
pub(crate) const SCRIPT_CLIENT: u64 = u64::MAX;

/// The channel RESP2 redirection clients receive invalidations on.
const CHANNEL: &[u8] = b"__redis__:invalidate";

/// A tracking connection.
struct Tracker {
    meta: Arc<ClientMeta>,
    /// Where its invalidations go (0: to itself), and that connection.
    redirect: u64,
    redirect_meta: Option<Arc<ClientMeta>>,
    /// BCAST prefixes, in byte order (CLIENT TRACKINGINFO lists them so).
    prefixes: BTreeSet<Bytes>,
}

impl Tracker {
    fn flags(&self) -> u32 {
        self.meta.tracking.load(Relaxed)
    }
}

/// One BCAST prefix: its connections, and the keys changed under it since the last
/// broadcast with the client that changed each (0: none, as expiry and eviction).
#[derive(Default)]
struct Prefix {
    clients: BTreeSet<u64>,
    keys: BTreeMap<Bytes, u64>,
}

type IdSet = HashSet<u64, ahash::RandomState>;

/// The server's tracking state.
#[derive(Default)]
pub struct Tracking {
    /// Key -> the connections that read it (Redis's tracking table: by name, every db).
    table: HashMap<Bytes, IdSet, ahash::RandomState>,
    /// Ids stored across the table (INFO `tracking_total_items`).
    items: u64,
    prefixes: BTreeMap<Bytes, Prefix>,
    /// Connections with tracking on.
    clients: HashMap<u64, Tracker>,
    /// Connections tracking the keys they read (on, not BCAST): reads look at them.
    readers: usize,
    /// Invalidations for the connection whose command runs, sent after its reply (None: a
    /// flush).
    pending: Vec<Option<Bytes>>,
    /// Keys were gathered for a broadcast.
    bcast_due: bool,
    /// The declared keys of the running script (its reads track them, as Redis).
    pub(crate) script_keys: Option<Vec<Bytes>>,
}

impl Tracking {
    /// Connections with tracking on (INFO `tracking_clients`).
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }
    /// Keys in the table (INFO `tracking_total_keys`).
    pub fn key_count(&self) -> usize {
        self.table.len()
    }
    /// Client ids in the table (INFO `tracking_total_items`).
    pub fn item_count(&self) -> u64 {
        self.items
    }
    /// BCAST prefixes in use (INFO `tracking_total_prefixes`).
    pub fn prefix_count(&self) -> usize {
        self.prefixes.len()
    }
    /// Whether reads must be looked at (some connection tracks what it reads).
    #[inline]
    pub fn has_readers(&self) -> bool {
        self.readers > 0
    }
    /// Whether writes must be looked at (tracked keys or BCAST prefixes exist).
    #[inline]
    pub fn watches_writes(&self) -> bool {
        !self.table.is_empty() || !self.prefixes.is_empty()
    }
    /// Whether invalidations wait for the running command's reply.
    #[inline]
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    fn remove_prefixes(&mut self, id: u64, prefixes: &BTreeSet<Bytes>) {
        for p in prefixes {
            if let Some(state) = self.prefixes.get_mut(p) {
                state.clients.remove(&id);
                if state.clients.is_empty() {
                    self.prefixes.remove(p);
                }
            }
        }
    }

    /// Tracking off for `id` (CLIENT TRACKING OFF, RESET, disconnect). Its ids stay in the
    /// table until their keys are invalidated, as in Redis.
    pub fn disable(&mut self, id: u64) {
        let Some(t) = self.clients.remove(&id) else { return };
        let flags = t.flags();
        if flags & track::BCAST == 0 {
            self.readers = self.readers.saturating_sub(1);
        }
        self.remove_prefixes(id, &t.prefixes);
        t.meta.tracking.store(0, Relaxed);
        t.meta.tracking_redir.store(0, Relaxed);
    }

    /// The key arguments of a read whose keys are remembered.
    fn read_keys(spec: &cmd::CommandSpec, argv: &[Bytes]) -> Vec<Bytes> {
        let numkeys_at = |i: usize| -> Vec<Bytes> {
            let n = argv.get(i).and_then(|n| crate::util::num::parse_i64(n)).unwrap_or(0).max(0) as usize;
            argv.iter().skip(i + 1).take(n).cloned().collect()
        };
        match spec.name {
            "zunion" | "zinter" | "zdiff" | "sintercard" | "zintercard" => numkeys_at(1),
            "eval" | "evalsha" | "fcall" | "eval_ro" | "evalsha_ro" | "fcall_ro" => numkeys_at(2),
            "xread" => {
                let Some(at) = argv.iter().position(|a| cmd::eq(a, "streams")) else { return vec![] };
                let rest = &argv[at + 1..];
                rest[..rest.len() / 2].to_vec()
            }
            _ => spec.keys_of(argv).into_iter().map(|i| argv[i].clone()).collect(),
        }
    }

    /// Redis's trackingRememberKeys: `client` read `keys`.
    fn remember(&mut self, client: u64, keys: &[Bytes]) {
        let Some(t) = self.clients.get(&client) else { return };
        let flags = t.flags();
        if flags & track::BCAST != 0 {
            return;
        }
        let caching = flags & track::CACHING != 0;
        if (flags & track::OPTIN != 0 && !caching) || (flags & track::OPTOUT != 0 && caching) {
            return;
        }
        for k in keys {
            let ids = match self.table.get_mut(k) {
                Some(ids) => ids,
                // Copied: the argument may be a slice of a whole read buffer.
                None => self.table.entry(Bytes::copy_from_slice(k)).or_default(),
            };
            if ids.insert(client) {
                self.items += 1;
            }
        }
    }

    /// Notes a changed key for the BCAST prefixes it falls under (the last changer wins).
    fn gather(&mut self, key: &[u8], by: u64) {
        for (p, state) in self.prefixes.iter_mut() {
            if key.starts_with(p) {
                state.keys.insert(Bytes::copy_from_slice(key), by);
                self.bcast_due = true;
            }
        }
    }
}

/// `*N` then the keys as bulk strings: an invalidation's key list.
fn key_array<'a>(keys: impl Iterator<Item = &'a Bytes> + Clone) -> Bytes {
    let mut b = BytesMut::new();
    b.extend_from_slice(format!("*{}\r\n", keys.clone().count()).as_bytes());
    for k in keys {
        b.extend_from_slice(format!("${}\r\n", k.len()).as_bytes());
        b.extend_from_slice(k);
        b.extend_from_slice(b"\r\n");
    }
    b.freeze()
}

/// The null a connection's protocol uses (a flush's key list).
fn null_for(meta: &ClientMeta) -> &'static [u8] {
    if meta.resp.load(Relaxed) == 3 {
        b"_\r\n"
    } else {
        b"$-1\r\n"
    }
}

/// Where the running client's frames go: its reply buffer, with its id.
pub(crate) type Inline<'o> = Option<(u64, &'o mut Out)>;

impl Keyspace {
    /// After a command (see `call`): a read of a tracking connection remembers its keys; a
    /// read inside a script remembers the script's declared keys.
    pub(crate) fn tracking_after_call(&mut self, spec: &cmd::CommandSpec, argv: &[Bytes], client: u64, nested: bool) {
        if !spec.has(cmd::READONLY) || spec.has(cmd::PUBSUB) || matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro") {
            return;
        }
        let keys = match (&self.tracking.script_keys, nested) {
            (Some(k), true) => k.clone(),
            _ => Tracking::read_keys(spec, argv),
        };
        self.tracking.remember(client, &keys);
    }

    /// Before a script command runs: its declared keys (what its reads will track).
    pub(crate) fn tracking_script_start(&mut self, spec: &cmd::CommandSpec, argv: &[Bytes]) -> Option<Vec<Bytes>> {
        let keys = if matches!(spec.name, "eval" | "evalsha" | "fcall" | "eval_ro" | "evalsha_ro" | "fcall_ro") {
            Some(Tracking::read_keys(spec, argv))
        } else {
            None
        };
        std::mem::replace(&mut self.tracking.script_keys, keys)
    }

    /// Redis's trackingInvalidateKey: `key` changed (`by`: the client that changed it, 0 for
    /// expiry and eviction). `bcast`: also note it for the BCAST prefixes.
    pub(crate) fn tracking_invalidate(&mut self, key: &[u8], by: u64, bcast: bool) {
        if bcast && !self.tracking.prefixes.is_empty() {
            self.tracking.gather(key, by);
        }
        let Some(ids) = self.tracking.table.remove(key) else { return };
        self.tracking.items = self.tracking.items.saturating_sub(ids.len() as u64);
        let mut body = None;
        for id in ids {
            let Some(t) = self.tracking.clients.get(&id) else { continue };
            let flags = t.flags();
            if flags & track::BCAST != 0 || (flags & track::NOLOOP != 0 && id == self.running) {
                continue;
            }
            if id == self.running {
                self.tracking.pending.push(Some(Bytes::copy_from_slice(key)));
                continue;
            }
            let body = body.get_or_insert_with(|| key_array(std::iter::once(&Bytes::copy_from_slice(key)))).clone();
            self.tracking_send(id, &body, None);
        }
    }

    /// Redis's trackingInvalidateKeysOnFlush: every tracking connection learns that all its
    /// keys are gone (a null key list); the table empties.
    pub(crate) fn tracking_flush(&mut self) {
        let mut ids: Vec<u64> = self.tracking.clients.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if id == self.running {
                self.tracking.pending.push(None);
            } else if let Some(null) = self.tracking.clients.get(&id).map(|t| null_for(&t.meta)) {
                self.tracking_send(id, null, None);
            }
        }
        self.tracking.table.clear();
        self.tracking.items = 0;
    }

    /// Sends the invalidations held for `client` until its command was answered.
    pub(crate) fn tracking_flush_pending(&mut self, client: u64, out: &mut Out) {
        let pending = std::mem::take(&mut self.tracking.pending);
        let null = self.tracking.clients.get(&client).map(|t| null_for(&t.meta));
        for key in pending {
            match key {
                Some(k) => {
                    let body = key_array(std::iter::once(&k));
                    self.tracking_send(client, &body, Some((client, &mut *out)));
                }
                None => {
                    if let Some(null) = null {
                        self.tracking_send(client, null, Some((client, &mut *out)));
                    }
                }
            }
        }
    }

    /// Redis's sendTrackingMessage: `body` (a key list, or a null) to `target`, or to the
    /// connection it redirects to. A RESP3 connection gets `>2 invalidate <body>`; a RESP2
    /// redirection connection subscribed to anything gets it as a message on
    /// `__redis__:invalidate`; a RESP2 connection without redirection gets nothing.
    fn tracking_send(&mut self, target: u64, body: &[u8], inline: Inline<'_>) {
        let Some(t) = self.tracking.clients.get(&target) else { return };
        let mut dest = t.meta.clone();
        let mut redirected = false;
        if t.redirect != 0 {
            let alive = t.redirect_meta.as_ref().filter(|m| !m.killed.load(Relaxed) && !m.push.is_closed()).cloned();
            match alive {
                Some(m) => {
                    dest = m;
                    redirected = true;
                }
                None => {
                    dest.tracking.fetch_or(track::BROKEN_REDIR, Relaxed);
                    if dest.resp.load(Relaxed) == 3 {
                        let mut f = BytesMut::from(&b">2\r\n$21\r\ntracking-redir-broken\r\n"[..]);
                        f.extend_from_slice(format!(":{}\r\n", t.redirect).as_bytes());
                        self.tracking_deliver(&dest, f.freeze(), inline);
                    }
                    return;
                }
            }
        }
        let mut f = BytesMut::with_capacity(64 + body.len());
        if dest.resp.load(Relaxed) == 3 {
            f.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
        } else if redirected && dest.in_pubsub() {
            // A Pub/Sub message whose payload is the key list.
            f.extend_from_slice(format!("*3\r\n$7\r\nmessage\r\n${}\r\n", CHANNEL.len()).as_bytes());
            f.extend_from_slice(CHANNEL);
            f.extend_from_slice(b"\r\n");
        } else {
            return;
        }
        f.extend_from_slice(body);
        self.tracking_deliver(&dest, f.freeze(), inline);
    }

    /// Into the given reply when `dest` owns it, else as any push.
    fn tracking_deliver(&mut self, dest: &Arc<ClientMeta>, frame: Bytes, inline: Inline<'_>) {
        match inline {
            Some((owner, out)) if owner == dest.id => {
                out.buf.extend_from_slice(&frame);
                if owner == self.exec_client {
                    self.exec_pushes.extend_from_slice(&frame);
                }
            }
            // Another connection's queue (never the reply being built: it may be a waiter's).
            _ => self.push_to(dest, frame, None),
        }
    }

    /// Redis's trackingBroadcastInvalidationMessages: the keys gathered under each prefix go
    /// to its connections (a NOLOOP one is not told of its own changes).
    pub(crate) fn tracking_broadcast(&mut self, inline: Inline<'_>) {
        if !self.tracking.bcast_due {
            return;
        }
        self.tracking.bcast_due = false;
        let mut sends: Vec<(u64, Bytes)> = Vec::new();
        for state in self.tracking.prefixes.values_mut() {
            if state.keys.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut state.keys);
            let all = key_array(keys.keys());
            for &id in &state.clients {
                let noloop = self.tracking.clients.get(&id).is_some_and(|t| t.flags() & track::NOLOOP != 0);
                if !noloop {
                    sends.push((id, all.clone()));
                    continue;
                }
                let mine = keys.iter().filter(|(_, &by)| by != id).map(|(k, _)| k);
                if mine.clone().next().is_some() {
                    sends.push((id, key_array(mine)));
                }
            }
        }
        let mut inline = inline;
        for (id, body) in sends {
            let inl = inline.as_mut().map(|(o, out)| (*o, &mut **out));
            self.tracking_send(id, &body, inl);
        }
    }

    /// Redis's trackingLimitUsedSlots: over `tracking-table-max-keys`, keys leave the table
    /// (their readers invalidated) until it fits again.
    pub(crate) fn tracking_limit(&mut self) {
        let max = self.shared.hot.tracking_max_keys.load(Relaxed) as usize;
        if max == 0 || self.tracking.table.len() <= max {
            return;
        }
        let excess = self.tracking.table.len() - max;
        // The table's order is a random one (a per-process hash seed).
        let keys: Vec<Bytes> = self.tracking.table.keys().take(excess).cloned().collect();
        for k in keys {
            self.tracking_invalidate(&k, 0, false);
        }
    }

    /// CLIENT CACHING applies to the next command (or transaction) only.
    pub(crate) fn tracking_command_done(&mut self, client: u64) {
        if let Some(t) = self.tracking.clients.get(&client) {
            t.meta.tracking.fetch_and(!track::CACHING, Relaxed);
        }
    }

    /// CLIENT TRACKING ON: Redis's enableTracking (options already checked).
    fn tracking_enable(&mut self, meta: Arc<ClientMeta>, redirect: (u64, Option<Arc<ClientMeta>>), options: u32, prefixes: &[Bytes]) {
        let id = meta.id;
        let old = meta.tracking.load(Relaxed);
        if old & track::ON == 0 {
            self.tracking.clients.insert(id, Tracker { meta: meta.clone(), redirect: 0, redirect_meta: None, prefixes: BTreeSet::new() });
            if options & track::BCAST == 0 {
                self.tracking.readers += 1;
            }
        }
        let keep = old & track::CACHING;
        let flags = track::ON | keep | (options & (track::BCAST | track::OPTIN | track::OPTOUT | track::NOLOOP));
        meta.tracking.store(flags, Relaxed);
        meta.tracking_redir.store(redirect.0, Relaxed);
        meta.gets_invalidations.store(true, Relaxed);
        if let Some(m) = &redirect.1 {
            m.gets_invalidations.store(true, Relaxed);
        }
        let mut added = Vec::new();
        if let Some(t) = self.tracking.clients.get_mut(&id) {
            t.redirect = redirect.0;
            t.redirect_meta = redirect.1;
            if options & track::BCAST != 0 {
                let empty = [Bytes::new()];
                let list = if prefixes.is_empty() { &empty[..] } else { prefixes };
                for p in list {
                    let p = Bytes::copy_from_slice(p);
                    if t.prefixes.insert(p.clone()) {
                        added.push(p);
                    }
                }
            }
        }
        for p in added {
            self.tracking.prefixes.entry(p).or_default().clients.insert(id);
        }
    }

    /// A client disconnected or was RESET.
    pub(crate) fn tracking_forget(&mut self, client: u64) {
        self.tracking.disable(client);
    }
}

/// Redis's checkPrefixCollisionsOrReply: a new prefix may not be a prefix of another one
/// (existing or given), nor have one as its prefix.
fn prefix_collision(existing: Option<&BTreeSet<Bytes>>, given: &[Bytes]) -> Option<Vec<u8>> {
    let overlaps = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    for (i, p) in given.iter().enumerate() {
        if let Some(old) = existing.and_then(|set| set.iter().find(|o| overlaps(o, p))) {
            return Some(
                [&b"ERR Prefix '"[..], p, b"' overlaps with an existing prefix '", old, b"'. Prefixes for a single client must not overlap."].concat(),
            );
        }
        if let Some(other) = given[i + 1..].iter().find(|o| overlaps(o, p)) {
            return Some(
                [&b"ERR Prefix '"[..], p, b"' overlaps with another provided prefix '", other, b"'. Prefixes for a single client must not overlap."].concat(),
            );
        }
    }
    None
}

/// CLIENT TRACKING's options, parsed.
struct TrackingArgs {
    redirect: i64,
    options: u32,
    prefixes: Vec<Bytes>,
}

fn parse_tracking(ks: &Keyspace, ctx: &mut Ctx, a: &[Bytes]) -> Option<TrackingArgs> {
    let mut r = TrackingArgs { redirect: 0, options: 0, prefixes: Vec::new() };
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        let o = &a[j];
        if cmd::eq(o, "redirect") && more {
            j += 1;
            if r.redirect != 0 {
                ctx.error("ERR A client can only redirect to a single other client");
                return None;
            }
            r.redirect = cmd::arg_i64(ctx, &a[j])?;
            let exists = r.redirect > 0 && ks.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&(r.redirect as u64));
            if !exists {
                ctx.error("ERR The client ID you want redirect to does not exist");
                return None;
            }
        } else if cmd::eq(o, "bcast") {
            r.options |= track::BCAST;
        } else if cmd::eq(o, "optin") {
            r.options |= track::OPTIN;
        } else if cmd::eq(o, "optout") {
            r.options |= track::OPTOUT;
        } else if cmd::eq(o, "noloop") {
            r.options |= track::NOLOOP;
        } else if cmd::eq(o, "prefix") && more {
            j += 1;
            r.prefixes.push(a[j].clone());
        } else {
            ctx.error(err::SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(r)
}

/// Why CLIENT TRACKING ON with these options is refused, as Redis words it.
fn tracking_refusal(current: u32, args: &TrackingArgs) -> Option<&'static str> {
    let o = args.options;
    if o & track::BCAST == 0 && !args.prefixes.is_empty() {
        return Some("ERR PREFIX option requires BCAST mode to be enabled");
    }
    if current & track::ON != 0 && (current & track::BCAST != 0) != (o & track::BCAST != 0) {
        return Some("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if o & track::BCAST != 0 && o & (track::OPTIN | track::OPTOUT) != 0 {
        return Some("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if o & track::OPTIN != 0 && o & track::OPTOUT != 0 {
        return Some("ERR You can't specify both OPTIN mode and OPTOUT mode");
    }
    if (o & track::OPTIN != 0 && current & track::OPTOUT != 0) || (o & track::OPTOUT != 0 && current & track::OPTIN != 0) {
        return Some("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    None
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP]
fn tracking_cmd(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(args) = parse_tracking(ks, ctx, a) else { return };
    let Some(meta) = ks.client_meta(ctx.client_id) else {
        return ctx.error("ERR this connection cannot track keys");
    };
    if cmd::eq(&a[2], "on") {
        let current = meta.tracking.load(Relaxed);
        if let Some(e) = tracking_refusal(current, &args) {
            return ctx.error(e);
        }
        if args.options & track::BCAST != 0 {
            let existing = ks.tracking.clients.get(&meta.id).map(|t| &t.prefixes);
            if let Some(e) = prefix_collision(existing, &args.prefixes) {
                return ctx.error(e);
            }
        }
        let redirect_meta = (args.redirect > 0)
            .then(|| ks.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).get(&(args.redirect as u64)).map(|e| e.meta.clone()))
            .flatten();
        ks.tracking_enable(meta, (args.redirect.max(0) as u64, redirect_meta), args.options, &args.prefixes);
    } else if cmd::eq(&a[2], "off") {
        ks.tracking.disable(meta.id);
    } else {
        return ctx.error(err::SYNTAX);
    }
    ctx.out.ok();
}

/// CLIENT CACHING YES|NO
fn caching_cmd(ctx: &mut Ctx, meta: &ClientMeta, a: &[Bytes]) {
    let flags = meta.tracking.load(Relaxed);
    if flags & track::ON == 0 {
        return ctx.error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
    }
    if cmd::eq(&a[2], "yes") {
        if flags & track::OPTIN == 0 {
            return ctx.error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
        }
    } else if cmd::eq(&a[2], "no") {
        if flags & track::OPTOUT == 0 {
            return ctx.error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
        }
    } else {
        return ctx.error(err::SYNTAX);
    }
    meta.tracking.fetch_or(track::CACHING, Relaxed);
    ctx.out.ok();
}

/// CLIENT TRACKINGINFO: flags, redirect, prefixes.
fn trackinginfo_cmd(ks: &Keyspace, ctx: &mut Ctx, meta: &ClientMeta) {
    let flags = meta.tracking.load(Relaxed);
    let on = flags & track::ON != 0;
    let mut names: Vec<&str> = vec![if on { "on" } else { "off" }];
    let caching = flags & track::CACHING != 0;
    for (bit, name) in [(track::BCAST, "bcast"), (track::OPTIN, "optin"), (track::OPTOUT, "optout"), (track::NOLOOP, "noloop"), (track::BROKEN_REDIR, "broken_redirect")] {
        if flags & bit == 0 {
            continue;
        }
        names.push(name);
        if caching && bit == track::OPTIN {
            names.push("caching-yes");
        }
        if caching && bit == track::OPTOUT {
            names.push("caching-no");
        }
    }
    ctx.out.map(3);
    ctx.out.bulk(b"flags");
    ctx.out.set(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    ctx.out.bulk(b"redirect");
    ctx.out.int(if on { meta.tracking_redir.load(Relaxed) as i64 } else { -1 });
    ctx.out.bulk(b"prefixes");
    let prefixes: Vec<Bytes> = ks.tracking.clients.get(&meta.id).map(|t| t.prefixes.iter().cloned().collect()).unwrap_or_default();
    ctx.out.array(prefixes.len());
    for p in prefixes {
        ctx.out.bulk(&p);
    }
}

/// The CLIENT subcommands the keyspace runs (TRACKING, CACHING, GETREDIR, TRACKINGINFO):
/// they read or change the tracking state, in order with the connection's other commands.
pub fn client_tracking(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if cmd::eq(&a[1], "tracking") {
        return tracking_cmd(ks, ctx, a);
    }
    let Some(meta) = ks.client_meta(ctx.client_id) else {
        return ctx.error("ERR this connection cannot track keys");
    };
    if cmd::eq(&a[1], "caching") {
        caching_cmd(ctx, &meta, a);
    } else if cmd::eq(&a[1], "getredir") {
        let flags = meta.tracking.load(Relaxed);
        ctx.out.int(if flags & track::ON != 0 { meta.tracking_redir.load(Relaxed) as i64 } else { -1 });
    } else {
        trackinginfo_cmd(ks, ctx, &meta);
    }
}

/// The CLIENT entry the tracking subcommands run under: the table's CLIENT (same statistics
/// slot, flags but `admin`: MONITOR shows them, as Redis), routed to the keyspace.
static ROUTED: std::sync::OnceLock<cmd::CommandSpec> = std::sync::OnceLock::new();

/// The command entry a request runs under: CLIENT TRACKING, CACHING, GETREDIR and
/// TRACKINGINFO (with a valid arity) go to the keyspace, everything else as the table says.
pub fn routed(spec: &'static cmd::CommandSpec, argv: &[Bytes]) -> &'static cmd::CommandSpec {
    if spec.name != "client" || !is_tracking_subcommand(argv) {
        return spec;
    }
    ROUTED.get_or_init(|| cmd::CommandSpec {
        name: spec.name,
        arity: spec.arity,
        flags: spec.flags & !cmd::ADMIN,
        first_key: 0,
        last_key: 0,
        step: 0,
        group: spec.group,
        summary: spec.summary,
        route: cmd::Route::Keyspace(client_tracking),
        index: spec.index,
    })
}

/// CONFIG SET tracking-table-max-keys: the new limit applies at once.
pub struct TrackingLimit;
impl crate::rt::Message for TrackingLimit {
    type Result = ();
}

#[crate::rt::async_trait]
impl crate::rt::Handler<TrackingLimit> for Keyspace {
    async fn handle(&mut self, _ctx: &mut crate::rt::Context<Self>, _msg: TrackingLimit) {
        crate::trace_msg!(self.shared.log, "client", "keyspace", "TrackingLimit");
        self.tracking_limit();
    }
}

impl Keyspace {
    /// The connection of `client` when invalidations may be waiting for it (its Exec takes
    /// them first).
    pub(crate) fn invalidation_target(&self, client: u64) -> Option<Arc<ClientMeta>> {
        match self.tracking.clients.get(&client) {
            Some(t) => Some(t.meta.clone()),
            None => self.client_meta(client),
        }
    }
}

/// Whether a CLIENT call is one of those the keyspace runs (its arity already right).
pub fn is_tracking_subcommand(argv: &[Bytes]) -> bool {
    let Some(sub) = argv.get(1) else { return false };
    (cmd::eq(sub, "tracking") && argv.len() >= 3)
        || (cmd::eq(sub, "caching") && argv.len() == 3)
        || ((cmd::eq(sub, "getredir") || cmd::eq(sub, "trackinginfo")) && argv.len() == 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_collisions_as_redis_words_them() {
        let given = [Bytes::from_static(b"FOOBAR"), Bytes::from_static(b"FOO")];
        let e = prefix_collision(None, &given).unwrap();
        assert_eq!(e, b"ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. Prefixes for a single client must not overlap.");
        let mut set = BTreeSet::new();
        set.insert(Bytes::from_static(b"BAR"));
        let e = prefix_collision(Some(&set), &[Bytes::from_static(b"BARB")]).unwrap();
        assert_eq!(e, b"ERR Prefix 'BARB' overlaps with an existing prefix 'BAR'. Prefixes for a single client must not overlap.");
        assert!(prefix_collision(Some(&set), &[Bytes::from_static(b"FOO")]).is_none());
    }

    #[test]
    fn key_lists() {
        let k = [Bytes::from_static(b"a"), Bytes::from_static(b"bc")];
        assert_eq!(&key_array(k.iter())[..], b"*2\r\n$1\r\na\r\n$2\r\nbc\r\n");
    }
}
