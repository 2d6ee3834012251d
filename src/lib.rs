#![warn(missing_docs)]

//! tandem: a Redis-compatible server whose heart is master-replica replication, built from
//! actors.
//!
//! Module map, in layers from the bottom (each names only the layers below it;
//! `scripts/check-module-cycles.py` checks that no `crate::` path points upward):
//! - `util`, `resp`, `rdb`, [`config`], [`logging`], `hll`, `rt`: byte utilities,
//!   request parsing and reply encoding, the RDB format, configuration, Redis-format logs,
//!   HyperLogLog, and the only module that names async-std and xactor.
//! - `shared`: what one server's actors share: configuration, statistics, the client
//!   registry, and the replication state the replication actors publish (plain data).
//! - `keyspace`: the keyspace actor (databases, expiry, WATCH, the ordered write stream and
//!   its feed), the command table and the commands that run in it, INFO, persistence, full
//!   syncs. It knows nothing of the replication actors: the stream goes to a sink.
//! - `repl`: replication: the backlog and a replica actor per attached replica (master
//!   side), the master link (replica side), failover, and the replication commands.
//! - `client`: the client actor (one per connection) and the commands it runs itself.
//! - [`server`]: the listener actor, `Server::start` and `run` (standalone and embedded).
//! - [`signals`]: SIGTERM/SIGINT for the binary.
//! - [`embed`], [`events`]: the embedding API (in-process connections, replication helpers)
//!   and the replication events an application can follow.
//! - [`tracediag`]: trace lines of logs to a mermaid sequence diagram (the `tandem-trace` binary).
//!
//! Embedding:
//! ```no_run
//! # async fn demo() -> Result<(), String> {
//! let cfg = tandem::config::Config::from_text("port 0\nsave \"\"").map_err(|e| e.to_string())?;
//! let server = tandem::Server::start(cfg).await?;
//! println!("listening on {}", server.addr);
//! server.stop().await;
//! # Ok(()) }
//! ```

pub(crate) mod client;
pub mod config;
pub mod embed;
pub mod events;
#[doc(hidden)] pub mod fuzz;
pub(crate) mod hll;
pub(crate) mod keyspace;
pub mod logging;
pub(crate) mod rdb;
pub(crate) mod repl;
pub(crate) mod resp;
pub(crate) mod rt;
pub mod server;
pub(crate) mod shared;
pub(crate) mod stream;
pub mod signals;
pub mod tracediag;
pub(crate) mod util;

pub use keyspace::info::{set_allocated_probe, set_thread_alloc_probe};
pub use keyspace::memory::{set_allocator_probes, AllocatorProbes, AllocatorStats};

/// Lets the servers of this process set its title from `proc-title-template`, as Redis
/// does (the tandem binary calls it once its arguments are read; an application embedding
/// tandem keeps its own title by not calling it).
pub fn enable_proc_title() {
    util::proctitle::enable();
}
pub use rt::block_on;

/// Makes this process's servers write BGSAVE and full-sync RDBs in forked children, as Redis
/// does (the tandem binary calls it). Without it (the default for an embedding application,
/// which a fork would copy whole) they are written on threads of the process.
pub fn enable_save_children() {
    util::fork::enable()
}
pub use server::{run, Server, ServerHandle, ShutdownRequest};
