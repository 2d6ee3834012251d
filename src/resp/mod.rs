//! RESP: bytes <-> frames.
//!
//! `request` turns a client's (or a master's) byte stream into argument vectors, with
//! Redis's limits and protocol errors; `reply` writes RESP2/RESP3 replies into a buffer.

pub mod reply;
pub mod request;

pub use reply::Out;
pub use request::{Limits, ProtoError, Request, RequestParser};
