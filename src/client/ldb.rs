//! The connection's side of the Lua debugger (`SCRIPT DEBUG YES|SYNC|NO`).
//!
//! With debugging on, the next EVAL runs in a debugging session (see
//! `keyspace::script::ldb`): while the keyspace runs it, the reader task forwards what the
//! client sends to the session and a writer task writes the session's log arrays. At the
//! end the EVAL's reply is written and the connection is closed, as Redis does.

use super::{Client, Next};
use crate::keyspace::cmd::{self, CommandSpec};
use crate::keyspace::script::ldb::LdbLink;
use crate::keyspace::{Cmd, Exec, Item};
use crate::resp::request::Argv;
use crate::rt::{self, Conn, WriteExt};
use crate::shared::ClientMeta;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering;

/// SCRIPT DEBUG mode of a connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Off,
    /// YES: the session's changes are rolled back (Redis forks for it).
    Yes,
    /// SYNC: the changes stay.
    Sync,
}

/// Whether the debugger handles this command: SCRIPT DEBUG <mode>, or a script command
/// while debugging is on.
pub(crate) fn concerns(mode: Mode, spec: &CommandSpec, argv: &[Bytes]) -> bool {
    match spec.name {
        "script" => argv.len() == 3 && cmd::eq(&argv[1], "debug"),
        "eval" | "eval_ro" | "evalsha" | "evalsha_ro" => mode != Mode::Off,
        _ => false,
    }
}

/// The reader's hook: in a session, what was read goes to the debugger (true).
pub(crate) fn forward(meta: &ClientMeta, buf: &mut BytesMut) -> bool {
    if !meta.ldb_on.load(Ordering::Acquire) {
        return false;
    }
    let tx = meta.ldb_input.lock().ok().and_then(|g| g.clone());
    match tx {
        Some(tx) => {
            let _ = tx.send(buf.split().freeze());
            true
        }
        None => false,
    }
}

/// The client closed its connection: a session waiting for it stops waiting.
pub(crate) fn client_gone(meta: &ClientMeta) {
    if let Ok(mut g) = meta.ldb_input.lock() {
        g.take();
        meta.ldb_on.store(false, Ordering::Release);
    }
}

/// Writes a session's log arrays as they come (ends with the session).
async fn write_logs(mut stream: Conn, rx: flume::Receiver<Bytes>) {
    while let Ok(b) = rx.recv_async().await {
        if stream.write_all(&b).await.is_err() {
            break;
        }
    }
}

impl Client {
    /// SCRIPT DEBUG, or EVAL / EVALSHA with debugging on.
    pub(super) async fn ldb_command(&mut self, spec: &'static CommandSpec, argv: Argv) -> Next {
        // Replies stay in order (and pending ones make SCRIPT DEBUG a pipeline's).
        self.flush_boxed().await;
        self.drain_output().await;
        if spec.name == "script" {
            self.script_debug(&argv[2]);
            return Next::Continue;
        }
        if spec.name.starts_with("evalsha") {
            // As Redis: a SHA of the wrong length is not looked at.
            let msg = if argv.len() > 1 && argv[1].len() != 40 {
                "NOSCRIPT No matching script. Please use EVAL."
            } else {
                "ERR Please use EVAL instead of EVALSHA for debugging"
            };
            self.out.error(msg);
            return Next::Continue;
        }
        self.debug_eval(spec, argv).await
    }

    /// SCRIPT DEBUG YES|SYNC|NO (refused after other commands of the same pipeline whose
    /// replies are not written yet, as Redis).
    fn script_debug(&mut self, arg: &Bytes) {
        if !self.out.buf.is_empty() {
            return self.out.error("ERR SCRIPT DEBUG must be called outside a pipeline");
        }
        let mode = if cmd::eq(arg, "no") {
            Mode::Off
        } else if cmd::eq(arg, "yes") {
            Mode::Yes
        } else if cmd::eq(arg, "sync") {
            Mode::Sync
        } else {
            return self.out.error("ERR Use SCRIPT DEBUG YES/SYNC/NO");
        };
        self.ldb_mode = mode;
        self.out.ok();
    }

    /// Runs an EVAL in a debugging session; the connection closes after its reply.
    async fn debug_eval(&mut self, spec: &'static CommandSpec, argv: Argv) -> Next {
        if !self.write_out().await {
            return Next::Close;
        }
        let (in_tx, in_rx) = flume::unbounded();
        let (out_tx, out_rx) = flume::unbounded();
        if let Ok(mut g) = self.meta.ldb_input.lock() {
            *g = Some(in_tx);
            self.meta.ldb_on.store(true, Ordering::Release);
        }
        let writer = rt::spawn(write_logs(self.stream.clone(), out_rx));
        let link = LdbLink { sync: self.ldb_mode == Mode::Sync, input: in_rx, output: out_tx, meta: self.meta.clone() };
        self.exec_seq += 1;
        let msg = Exec {
            client_id: self.id,
            seq: self.exec_seq,
            db: self.db,
            resp3: self.resp3,
            items: vec![Item::Cmd(Cmd { spec, argv })],
            pushes: false,
            out: BytesMut::new(),
            ldb: Some(Box::new(link)),
        };
        let done = self.keyspace.call(msg).await;
        // The log lines go out before the reply.
        writer.await;
        if let Ok(mut g) = self.meta.ldb_input.lock() {
            g.take();
            self.meta.ldb_on.store(false, Ordering::Release);
        }
        self.ldb_mode = Mode::Off;
        match done {
            Ok(d) => self.absorb(&d.out, d.db, d.repl_offset),
            Err(_) => self.out.error("ERR server is shutting down"),
        }
        Next::Close
    }
}
