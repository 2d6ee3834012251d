//! tandem: a Redis-compatible server whose heart is master-replica replication, built from
//! actors.
//!
//! Module map (bytes -> frames -> commands -> keyspace, then replication):
//! - [`rt`]: the only module that names async-std and xactor (spawn, sleep, actors, sockets).
//! - [`resp`]: request parsing (multibulk, inline, Redis's limits) and reply encoding.
//! - [`cmd`]: the command table and the command implementations over the keyspace.
//! - [`client`]: the client actor (one per connection) and its connection commands.
//! - [`keyspace`]: the keyspace actor (databases, expiry, WATCH, the ordered write stream).
//! - [`repl`]: replication (the stream feed, backlog, replicas, the master link).
//! - [`server`]: the listener actor, `Server::start` and `run` (standalone and embedded).
//! - [`config`], [`logging`], [`info`], [`util`]: configuration, Redis-format logs, INFO,
//!   byte utilities.
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

pub mod client;
pub mod config;
pub mod hll;
pub mod keyspace;
pub mod logging;
pub mod rdb;
pub mod repl;
pub mod resp;
pub mod rt;
pub mod server;
pub mod shared;
pub mod signals;
pub mod util;

pub use server::{run, Server, ServerHandle, ShutdownRequest};
