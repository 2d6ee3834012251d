//! The command table: names, arity, flags, key positions, and where each command runs.
//!
//! `Route::Keyspace` commands are functions over the keyspace actor's state; `Route::Client`
//! commands change connection state (AUTH, MULTI, CLIENT, ...) and run in the client actor
//! (the replication ones in `repl::commands`, which the client calls). The table lives in the
//! keyspace layer, which runs it; the layers above look commands up here.

pub mod bits;
pub mod clients;
pub mod config;
pub mod dump;
pub mod geo;
pub mod hashes;
pub mod hll;
pub mod keys;
pub mod lists;
pub mod lolwut;
pub mod server;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod streams_cg;
pub mod streams_read;
pub mod strings;
pub mod zsets;
pub mod zsets_range;

use crate::keyspace::{Ctx, Keyspace};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A keyspace command implementation.
pub type KsFn = fn(&mut Keyspace, &mut Ctx, &[Bytes]);

#[derive(Clone, Copy)]
pub enum Route {
    Keyspace(KsFn),
    Client,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Keyspace(_) => f.write_str("Keyspace"),
            Route::Client => f.write_str("Client"),
        }
    }
}

pub const WRITE: u32 = 1;
pub const READONLY: u32 = 2;
pub const DENYOOM: u32 = 4;
pub const ADMIN: u32 = 8;
pub const NOSCRIPT: u32 = 16;
pub const LOADING: u32 = 32;
pub const STALE: u32 = 64;
pub const FAST: u32 = 128;
pub const NO_AUTH: u32 = 256;
pub const NO_MULTI: u32 = 512;
pub const BLOCKING: u32 = 1024;
pub const MAY_REPLICATE: u32 = 2048;
pub const SKIP_MONITOR: u32 = 4096;
pub const ALLOW_BUSY: u32 = 8192;
/// Key positions depend on the arguments (COMMAND INFO's `movablekeys`).
pub const MOVABLEKEYS: u32 = 16384;
/// A Pub/Sub command (allowed in RESP2's subscribed context only for (un)subscribing).
pub const PUBSUB: u32 = 32768;
/// A container command (CLIENT LIST's `cmd=` names its subcommand); set from
/// `clients::CONTAINERS` when the table is built, never shown by COMMAND INFO.
pub const CONTAINER: u32 = 1 << 16;
/// SUBSCRIBE and its kin: RESP2's subscribed context allows them (with PING, QUIT, RESET);
/// set when the table is built, never shown.
pub const SUBSCRIBING: u32 = 1 << 17;
/// Refused with -LOADING while a replica loads its master's RDB asynchronously (serving the
/// old data meanwhile): the commands that would change the role or persistence under it.
pub const NO_ASYNC_LOADING: u32 = 1 << 18;
/// Not logged in the slow log itself (EXEC: the commands it runs are).
pub const SKIP_SLOWLOG: u32 = 1 << 19;
/// Allowed on an importing slot after ASKING (shown only: there is no cluster mode).
pub const ASKING: u32 = 1 << 20;
/// May name no key at all (scripts, functions): COMMAND GETKEYS gives an empty list.
pub const NO_MANDATORY_KEYS: u32 = 1 << 21;

/// Command flags in the order Redis's COMMAND INFO lists them.
const FLAG_NAMES: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (MAY_REPLICATE, "may_replicate"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (MOVABLEKEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];

#[derive(Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: &'static str,
    pub summary: &'static str,
    pub route: Route,
    /// Position in the table (command statistics are indexed by it).
    pub index: usize,
}

impl CommandSpec {
    pub fn is_write(&self) -> bool {
        self.flags & WRITE != 0
    }
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
    /// The flags COMMAND INFO lists (as Redis, `may_replicate` stays hidden).
    pub fn flag_names(&self) -> Vec<&'static str> {
        FLAG_NAMES.iter().filter(|(f, _)| self.flags & f & !MAY_REPLICATE != 0).map(|(_, n)| *n).collect()
    }
    /// Whether `argc` arguments (command name included) fit the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a > 0 && argc as i32 == a) || (a < 0 && argc as i32 >= -a)
    }
    /// Positions of the key arguments of `argv` (command name first): the fixed range, plus
    /// the destinations some commands name after a keyword (SORT's last `STORE`,
    /// GEORADIUS's `STORE`/`STOREDIST`), as Redis's key-spec extraction finds them.
    pub fn keys_of<A: AsRef<[u8]>>(&self, argv: &[A]) -> Vec<usize> {
        let mut keys = self.key_positions(argv.len());
        // `past`: how far a found keyword moves on (SORT looks at its key as an option too).
        let store = |from: usize, words: &[&str], skips: &[(&str, usize)], past: usize| {
            let mut found = None;
            let mut i = from;
            while i < argv.len() {
                let w = argv[i].as_ref();
                if let Some((_, n)) = skips.iter().find(|(k, _)| eq(w, k)) {
                    i += n + 1;
                    continue;
                }
                if words.iter().any(|k| eq(w, k)) && i + 1 < argv.len() {
                    found = Some(i + 1);
                    i += past;
                    continue;
                }
                i += 1;
            }
            found
        };
        let extra = match self.name {
            "sort" => store(2, &["store"], &[("limit", 2), ("get", 1), ("by", 1)], 1),
            "georadius" | "georadiusbymember" => store(5, &["store", "storedist"], &[], 2),
            _ => None,
        };
        keys.extend(extra);
        keys
    }

    /// Where the first key of `argv` is, if it has one: the fixed position, or for the
    /// script commands (EVAL, FCALL...) the argument after numkeys when numkeys is not 0.
    pub fn first_key_of<A: AsRef<[u8]>>(&self, argv: &[A]) -> Option<usize> {
        if self.first_key > 0 {
            return Some(self.first_key as usize);
        }
        let scripted = self.group == "scripting" && self.has(MOVABLEKEYS);
        let numkeys = argv.get(2).map(|n| n.as_ref());
        (scripted && argv.len() > 3 && numkeys.is_some_and(|n| n != b"0")).then_some(3)
    }

    /// Positions of key arguments in `argv`.
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        if self.first_key <= 0 {
            return vec![];
        }
        let last = if self.last_key < 0 { argc as i32 + self.last_key } else { self.last_key };
        let mut v = vec![];
        let mut i = self.first_key;
        while i <= last && (i as usize) < argc {
            v.push(i as usize);
            i += self.step.max(1);
        }
        v
    }
}

pub fn parse_flags(s: &str) -> u32 {
    s.split_whitespace()
        .map(|w| FLAG_NAMES.iter().find(|(_, n)| *n == w).map_or(0, |(f, _)| *f))
        .fold(0, |a, b| a | b)
}

/// Declares a table of commands as `fn specs() -> Vec<CommandSpec>` (one per family module).
#[macro_export]
macro_rules! command_specs {
    ($( $name:literal, $arity:expr, $flags:literal, $fk:expr, $lk:expr, $st:expr, $group:literal, $route:expr, $summary:literal; )*) => {
        pub fn specs() -> Vec<$crate::keyspace::cmd::CommandSpec> {
            vec![$( $crate::keyspace::cmd::CommandSpec {
                name: $name, arity: $arity, flags: $crate::keyspace::cmd::parse_flags($flags), first_key: $fk,
                last_key: $lk, step: $st, group: $group, summary: $summary, route: $route, index: 0,
            }, )*]
        }
    };
}

macro_rules! commands {
    ($($t:tt)*) => {
        mod base {
            use super::*;
            $crate::command_specs! { $($t)* }
        }
    };
}

/// Every family's commands, indexed.
fn build() -> Vec<CommandSpec> {
    let mut v = base::specs();
    for family in FAMILIES {
        v.extend(family());
    }
    for (i, c) in v.iter_mut().enumerate() {
        c.index = i;
        if clients::CONTAINERS.contains(&c.name) {
            c.flags |= CONTAINER;
        }
        if matches!(c.name, "subscribe" | "ssubscribe" | "psubscribe" | "unsubscribe" | "sunsubscribe" | "punsubscribe" | "ping" | "quit" | "reset") {
            c.flags |= SUBSCRIBING;
        }
    }
    v
}

/// Command families declared in their own modules (data types).
const FAMILIES: &[fn() -> Vec<CommandSpec>] = &[lists::specs, hashes::specs, sets::specs, zsets::specs, hll::specs, bits::specs, geo::specs, sort::specs, dump::specs, streams::specs];

use keys as k;
use server as sv;
use crate::keyspace::pubsub as ps;
use strings as s;
use crate::keyspace::script::eval as ev;
use crate::keyspace::script::functions as fun;
use Route::{Client as C, Keyspace as K};

commands! {
    // strings
    "get", 2, "readonly fast", 1, 1, 1, "string", K(s::get), "Get the value of a key";
    "set", -3, "write denyoom", 1, 1, 1, "string", K(s::set), "Set the string value of a key";
    "setnx", 3, "write denyoom fast", 1, 1, 1, "string", K(s::setnx), "Set the value of a key, only if the key does not exist";
    "setex", 4, "write denyoom", 1, 1, 1, "string", K(s::setex), "Set the value and expiration of a key";
    "psetex", 4, "write denyoom", 1, 1, 1, "string", K(s::psetex), "Set the value and expiration in milliseconds of a key";
    "getset", 3, "write denyoom fast", 1, 1, 1, "string", K(s::getset), "Set the string value of a key and return its old value";
    "getdel", 2, "write fast", 1, 1, 1, "string", K(s::getdel), "Get the value of a key and delete the key";
    "getex", -2, "write fast", 1, 1, 1, "string", K(s::getex), "Get the value of a key and optionally set its expiration";
    "mget", -2, "readonly fast", 1, -1, 1, "string", K(s::mget), "Get the values of all the given keys";
    "mset", -3, "write denyoom", 1, -1, 2, "string", K(s::mset), "Set multiple keys to multiple values";
    "msetnx", -3, "write denyoom", 1, -1, 2, "string", K(s::msetnx), "Set multiple keys to multiple values, only if none of the keys exist";
    "incr", 2, "write denyoom fast", 1, 1, 1, "string", K(s::incr), "Increment the integer value of a key by one";
    "decr", 2, "write denyoom fast", 1, 1, 1, "string", K(s::decr), "Decrement the integer value of a key by one";
    "incrby", 3, "write denyoom fast", 1, 1, 1, "string", K(s::incrby), "Increment the integer value of a key by the given amount";
    "decrby", 3, "write denyoom fast", 1, 1, 1, "string", K(s::decrby), "Decrement the integer value of a key by the given number";
    "incrbyfloat", 3, "write denyoom fast", 1, 1, 1, "string", K(s::incrbyfloat), "Increment the float value of a key by the given amount";
    "append", 3, "write denyoom fast", 1, 1, 1, "string", K(s::append), "Append a value to a key";
    "strlen", 2, "readonly fast", 1, 1, 1, "string", K(s::strlen), "Get the length of the value stored in a key";
    "getrange", 4, "readonly", 1, 1, 1, "string", K(s::getrange), "Get a substring of the string stored at a key";
    "substr", 4, "readonly", 1, 1, 1, "string", K(s::getrange), "Get a substring of the string stored at a key";
    "setrange", 4, "write denyoom", 1, 1, 1, "string", K(s::setrange), "Overwrite part of a string at key starting at the specified offset";
    "setbit", 4, "write denyoom", 1, 1, 1, "bitmap", K(s::setbit), "Sets or clears the bit at offset in the string value stored at key";
    "getbit", 3, "readonly fast", 1, 1, 1, "bitmap", K(s::getbit), "Returns the bit value at offset in the string value stored at key";
    "lcs", -3, "readonly", 1, 2, 1, "string", K(s::lcs), "Find longest common substring";
    // keys
    "del", -2, "write", 1, -1, 1, "generic", K(k::del), "Delete a key";
    "unlink", -2, "write fast", 1, -1, 1, "generic", K(k::del), "Delete a key asynchronously";
    "exists", -2, "readonly fast", 1, -1, 1, "generic", K(k::exists), "Determine if a key exists";
    "type", 2, "readonly fast", 1, 1, 1, "generic", K(k::type_), "Determine the type stored at key";
    "expire", -3, "write fast", 1, 1, 1, "generic", K(k::expire), "Set a key's time to live in seconds";
    "pexpire", -3, "write fast", 1, 1, 1, "generic", K(k::pexpire), "Set a key's time to live in milliseconds";
    "expireat", -3, "write fast", 1, 1, 1, "generic", K(k::expireat), "Set the expiration for a key as a UNIX timestamp";
    "pexpireat", -3, "write fast", 1, 1, 1, "generic", K(k::pexpireat), "Set the expiration for a key as a UNIX timestamp specified in milliseconds";
    "ttl", 2, "readonly fast", 1, 1, 1, "generic", K(k::ttl), "Get the time to live for a key in seconds";
    "pttl", 2, "readonly fast", 1, 1, 1, "generic", K(k::pttl), "Get the time to live for a key in milliseconds";
    "expiretime", 2, "readonly fast", 1, 1, 1, "generic", K(k::expiretime), "Get the expiration Unix timestamp for a key";
    "pexpiretime", 2, "readonly fast", 1, 1, 1, "generic", K(k::pexpiretime), "Get the expiration Unix timestamp for a key in milliseconds";
    "persist", 2, "write fast", 1, 1, 1, "generic", K(k::persist), "Remove the expiration from a key";
    "rename", 3, "write", 1, 2, 1, "generic", K(k::rename), "Rename a key";
    "renamenx", 3, "write fast", 1, 2, 1, "generic", K(k::renamenx), "Rename a key, only if the new key does not exist";
    "keys", 2, "readonly", 0, 0, 0, "generic", K(k::keys), "Find all keys matching the given pattern";
    "scan", -2, "readonly", 0, 0, 0, "generic", K(k::scan), "Incrementally iterate the keys space";
    "randomkey", 1, "readonly", 0, 0, 0, "generic", K(k::randomkey), "Return a random key from the keyspace";
    "dbsize", 1, "readonly fast", 0, 0, 0, "server", K(k::dbsize), "Return the number of keys in the selected database";
    "flushdb", -1, "write", 0, 0, 0, "server", K(k::flushdb), "Remove all keys from the current database";
    "flushall", -1, "write", 0, 0, 0, "server", K(k::flushall), "Remove all keys from all databases";
    "select", 2, "loading stale fast", 0, 0, 0, "connection", K(k::select), "Change the selected database for the current connection";
    "swapdb", 3, "write fast", 0, 0, 0, "server", K(k::swapdb), "Swaps two Redis databases";
    "move", 3, "write fast", 1, 1, 1, "generic", K(k::move_), "Move a key to another database";
    "copy", -3, "write denyoom", 1, 2, 1, "generic", K(k::copy), "Copy a key";
    "object", -2, "readonly", 2, 2, 1, "generic", K(k::object), "A container for object introspection commands";
    "touch", -2, "readonly fast", 1, -1, 1, "generic", K(k::touch), "Alters the last access time of a key(s)";
    "watch", -2, "noscript loading stale fast", 1, -1, 1, "transactions", K(k::watch), "Watch the given keys to determine execution of the MULTI/EXEC block";
    "unwatch", 1, "noscript loading stale fast", 0, 0, 0, "transactions", K(k::unwatch), "Forget about all watched keys";
    // transactions and connection state (client actor)
    "multi", 1, "noscript loading stale fast allow_busy", 0, 0, 0, "transactions", C, "Mark the start of a transaction block";
    "exec", 1, "noscript loading stale skip_slowlog", 0, 0, 0, "transactions", C, "Execute all commands issued after MULTI";
    "discard", 1, "noscript loading stale fast allow_busy", 0, 0, 0, "transactions", C, "Discard all commands issued after MULTI";
    "auth", -2, "noscript loading stale fast no_auth allow_busy", 0, 0, 0, "connection", C, "Authenticate to the server";
    "hello", -1, "noscript loading stale fast no_auth allow_busy", 0, 0, 0, "connection", C, "Handshake with Redis";
    "quit", -1, "noscript loading stale fast no_auth allow_busy", 0, 0, 0, "connection", C, "Close the connection";
    "reset", 1, "noscript loading stale fast no_auth", 0, 0, 0, "connection", C, "Reset the connection";
    "client", -2, "admin noscript loading stale", 0, 0, 0, "connection", C, "A container for client connection commands";
    "config", -2, "admin noscript loading stale", 0, 0, 0, "server", C, "A container for server configuration commands";
    "command", -1, "loading stale", 0, 0, 0, "server", C, "Get array of Redis command details";
    "shutdown", -1, "admin noscript loading stale no_multi allow_busy", 0, 0, 0, "server", C, "Synchronously save the dataset to disk and then shut down the server";
    // replication (client actor: they take over the connection or wait)
    "replconf", -1, "admin noscript loading stale allow_busy", 0, 0, 0, "server", C, "An internal command for configuring the replication stream";
    "psync", -3, "admin noscript no_async_loading no_multi", 0, 0, 0, "server", C, "Internal command used for replication";
    "sync", 1, "admin noscript no_async_loading no_multi", 0, 0, 0, "server", C, "Internal command used for replication";
    "wait", 3, "noscript", 0, 0, 0, "generic", C, "Wait for the synchronous replication of all the write commands sent in the context of the current connection";
    "waitoffset", 4, "noscript stale", 0, 0, 0, "generic", C, "Wait until this server has applied a point (replication ID and offset) of the replication stream (tandem)";
    "verifyreplicas", -1, "admin noscript", 0, 0, 0, "server", C, "Prove that every replica holds this master's dataset at one replication offset (tandem)";
    "writeoffset", 1, "noscript stale fast", 0, 0, 0, "generic", C, "Return the replication ID and offset of the current connection's last write (tandem)";
    "replicaof", 3, "admin noscript stale no_async_loading", 0, 0, 0, "server", C, "Make the server a replica of another instance, or promote it as master";
    "slaveof", 3, "admin noscript stale no_async_loading", 0, 0, 0, "server", C, "Make the server a replica of another instance, or promote it as master";
    "acl", -2, "admin noscript loading stale", 0, 0, 0, "server", C, "A container for Access List Control commands";
    "module", -2, "admin noscript", 0, 0, 0, "server", C, "A container for module commands";
    "slowlog", -2, "admin loading stale", 0, 0, 0, "server", C, "A container for slow log commands";
    "latency", -2, "admin noscript loading stale", 0, 0, 0, "server", C, "A container for latency diagnostics commands";
    "cluster", -2, "", 0, 0, 0, "cluster", C, "A container for cluster commands";
    "asking", 1, "fast", 0, 0, 0, "cluster", C, "Sent by cluster clients after an -ASK redirect";
    "readonly", 1, "loading stale fast", 0, 0, 0, "cluster", C, "Enables read queries for a connection to a Redis Cluster replica node";
    "readwrite", 1, "loading stale fast", 0, 0, 0, "cluster", C, "Disables read queries for a connection to a Redis Cluster replica node";
    "migrate", -6, "write movablekeys", 3, 3, 1, "generic", C, "Atomically transfer a key from a Redis instance to another one.";
    "failover", -1, "admin noscript stale", 0, 0, 0, "server", C, "Start a coordinated failover between this server and one of its replicas";
    "role", 1, "noscript loading stale fast", 0, 0, 0, "server", K(sv::role), "Return the role of the instance in the context of replication";
    "save", 1, "admin noscript no_async_loading no_multi", 0, 0, 0, "server", K(crate::keyspace::persist::save_cmd), "Synchronously save the dataset to disk";
    "bgsave", -1, "admin noscript no_async_loading", 0, 0, 0, "server", K(crate::keyspace::persist::bgsave_cmd), "Asynchronously save the dataset to disk";
    "bgrewriteaof", 1, "admin noscript no_async_loading", 0, 0, 0, "server", K(crate::keyspace::aof::bgrewriteaof_cmd), "Asynchronously rewrite the append-only file";
    // pub/sub (keyspace actor: it owns the channel table)
    "subscribe", -2, "pubsub noscript loading stale", 0, 0, 0, "pubsub", K(ps::subscribe), "Listen for messages published to the given channels";
    "unsubscribe", -1, "pubsub noscript loading stale", 0, 0, 0, "pubsub", K(ps::unsubscribe), "Stop listening for messages posted to the given channels";
    "psubscribe", -2, "pubsub noscript loading stale", 0, 0, 0, "pubsub", K(ps::psubscribe), "Listen for messages published to channels matching the given patterns";
    "punsubscribe", -1, "pubsub noscript loading stale", 0, 0, 0, "pubsub", K(ps::punsubscribe), "Stop listening for messages posted to channels matching the given patterns";
    "ssubscribe", -2, "pubsub noscript loading stale", 1, -1, 1, "pubsub", K(ps::ssubscribe), "Listen for messages published to the given shard channels";
    "sunsubscribe", -1, "pubsub noscript loading stale", 1, -1, 1, "pubsub", K(ps::sunsubscribe), "Stop listening for messages posted to the given shard channels";
    "publish", 3, "pubsub loading stale fast may_replicate", 0, 0, 0, "pubsub", K(ps::publish), "Post a message to a channel";
    "spublish", 3, "pubsub loading stale fast may_replicate", 1, 1, 1, "pubsub", K(ps::spublish), "Post a message to a shard channel";
    "pubsub", -2, "", 0, 0, 0, "pubsub", K(ps::pubsub), "A container for Pub/Sub commands";
    "monitor", 1, "admin noscript loading stale", 0, 0, 0, "server", K(ps::monitor), "Listen for all requests received by the server in real time";
    // server (keyspace actor)
    "ping", -1, "fast", 0, 0, 0, "connection", K(sv::ping), "Ping the server";
    "echo", 2, "fast loading stale", 0, 0, 0, "connection", K(sv::echo), "Echo the given string";
    "info", -1, "loading stale", 0, 0, 0, "server", K(sv::info), "Get information and statistics about the server";
    "time", 1, "loading stale fast", 0, 0, 0, "server", K(sv::time), "Return the current server time";
    "lastsave", 1, "loading stale fast", 0, 0, 0, "server", K(sv::lastsave), "Get the UNIX time stamp of the last successful save to disk";
    "lolwut", -1, "readonly fast", 0, 0, 0, "server", K(lolwut::lolwut), "Display some computer art and the Redis version";
    "debug", -2, "admin noscript loading stale", 0, 0, 0, "server", K(sv::debug), "A container for debugging commands";
    "function", -2, "noscript", 0, 0, 0, "scripting", K(fun::function), "A container for function commands";
    "script", -2, "noscript", 0, 0, 0, "scripting", K(ev::script), "A container for Lua scripts management commands";
    "eval", -3, "noscript skip_monitor may_replicate stale no_mandatory_keys movablekeys", 0, 0, 0, "scripting", K(ev::eval), "Execute a Lua script server side";
    "evalsha", -3, "noscript skip_monitor may_replicate stale no_mandatory_keys movablekeys", 0, 0, 0, "scripting", K(ev::evalsha), "Execute a Lua script server side";
    "eval_ro", -3, "readonly noscript skip_monitor stale no_mandatory_keys movablekeys", 0, 0, 0, "scripting", K(ev::eval_ro), "Execute a read-only Lua script server side";
    "evalsha_ro", -3, "readonly noscript skip_monitor stale no_mandatory_keys movablekeys", 0, 0, 0, "scripting", K(ev::evalsha_ro), "Execute a read-only Lua script server side";
    "fcall", -3, "noscript skip_monitor may_replicate stale no_mandatory_keys movablekeys", 0, 0, 0, "scripting", K(fun::fcall), "Invoke a function";
    "fcall_ro", -3, "readonly noscript skip_monitor stale no_mandatory_keys movablekeys", 0, 0, 0, "scripting", K(fun::fcall_ro), "Invoke a read-only function";
    "memory", -2, "readonly", 0, 0, 0, "server", K(sv::memory), "A container for memory diagnostics commands";
}

/// The command table, built once (it is immutable, so sharing it between servers is safe).
pub fn table() -> &'static [CommandSpec] {
    static T: OnceLock<Vec<CommandSpec>> = OnceLock::new();
    T.get_or_init(build)
}

/// Finds a command by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    static M: OnceLock<HashMap<Vec<u8>, usize, ahash::RandomState>> = OnceLock::new();
    let m = M.get_or_init(|| {
        table().iter().map(|c| (c.name.as_bytes().to_vec(), c.index)).collect()
    });
    if name.len() > 32 {
        return None;
    }
    let mut lower = [0u8; 32];
    for (i, b) in name.iter().enumerate() {
        lower[i] = b.to_ascii_lowercase();
    }
    m.get(&lower[..name.len()]).map(|&i| &table()[i])
}

/// An argument as Redis's `%.<max>s` prints it: the raw bytes up to the first NUL, at most
/// `max` of them.
pub fn cstr(a: &[u8], max: usize) -> &[u8] {
    let a = &a[..a.len().min(max)];
    match a.iter().position(|&b| b == 0) {
        Some(nul) => &a[..nul],
        None => a,
    }
}

/// Redis's reply for an unknown command: the name (128 bytes at most) and the first
/// arguments, quoted, until the list reaches 128 bytes; raw bytes as sent. An empty argv
/// (an empty request inside a master's MULTI) has an empty name.
pub fn unknown_command_error(argv: &[Bytes]) -> Vec<u8> {
    let mut args: Vec<u8> = Vec::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        args.push(b'\'');
        args.extend_from_slice(cstr(a, 128 - args.len() + 1));
        args.extend_from_slice(b"' ");
    }
    let mut s = b"ERR unknown command '".to_vec();
    s.extend_from_slice(cstr(argv.first().map_or(&b""[..], |a| &a[..]), 128));
    s.extend_from_slice(b"', with args beginning with: ");
    s.extend_from_slice(&args);
    s
}

/// Redis's reply for an unknown subcommand of `container` (upper-case name).
pub fn unknown_subcommand(sub: &[u8], container: &str) -> Vec<u8> {
    [&b"ERR unknown subcommand '"[..], cstr(sub, 128), format!("'. Try {} HELP.", container).as_bytes()].concat()
}

pub fn arity_error(name: &str) -> String {
    format!("ERR wrong number of arguments for '{}' command", name)
}

/// Error texts Redis users and tests match on.
pub mod err {
    pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    pub const NOT_INT: &str = "ERR value is not an integer or out of range";
    pub const NOT_FLOAT: &str = "ERR value is not a valid float";
    pub const SYNTAX: &str = "ERR syntax error";
    pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
    pub const NO_KEY: &str = "ERR no such key";
    pub const DB_RANGE: &str = "ERR DB index is out of range";
    pub const BULK_TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
}

/// Parses an integer argument or writes Redis's error.
pub fn arg_i64(ctx: &mut Ctx, a: &[u8]) -> Option<i64> {
    let v = crate::util::num::parse_i64(a);
    if v.is_none() {
        ctx.error(err::NOT_INT);
    }
    v
}

/// Case-insensitive argument comparison.
pub fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// `container|subcommand` for a container command given a subcommand-like first argument
/// (INFO commandstats and latencystats count subcommands apart, as Redis 7.0).
pub fn sub_name(spec: &CommandSpec, argv: &[Bytes]) -> Option<String> {
    let sub = argv.get(1)?;
    if !spec.has(CONTAINER) || sub.is_empty() || !sub.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        return None;
    }
    Some(format!("{}|{}", spec.name, String::from_utf8_lossy(sub).to_ascii_lowercase()))
}

/// The INFO commandstats counters of a command as called with `argv`.
pub fn stat<'a>(shared: &'a crate::shared::Shared, spec: &CommandSpec, argv: &[Bytes]) -> crate::shared::Stat<'a> {
    shared.stat(spec.index, sub_name(spec, argv))
}

