//! The master link's socket: buffered line and chunk reads that stop when the link is told
//! to, and a writer task that sends what the link queues plus `REPLCONF ACK` every second.

use crate::rt::{self, ReadExt, TcpStream, WriteExt};
use crate::shared::Shared;
use bytes::{Buf, Bytes, BytesMut};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Runs `fut` unless the link is told to stop first (`None` then): the stop handle's
/// sender is dropped by the MasterLink actor.
pub(super) async fn or_stop<F: std::future::Future>(stop: &flume::Receiver<()>, fut: F) -> Option<F::Output> {
    use futures::FutureExt;
    let stopped = stop.recv_async().fuse();
    let fut = fut.fuse();
    futures::pin_mut!(stopped, fut);
    futures::select! {
        v = fut => Some(v),
        _ = stopped => None,
    }
}

/// A connection to the master: buffered reads plus a writer task for ACKs and replies.
///
/// `out` is the writer's sender: dropping the `Conn` (and any [`Conn::sender`] handle) ends
/// the writer, which drops its clone of the socket.
pub(super) struct Conn {
    pub stream: TcpStream,
    pub buf: BytesMut,
    out: flume::Sender<Bytes>,
    /// The offset the writer ACKs every second (-1: not streaming yet, no ACKs).
    pub acked: Arc<AtomicI64>,
    stop: flume::Receiver<()>,
    timeout: Duration,
}

/// Why a read failed.
pub(super) const STOPPED: &str = "stopped";
pub(super) const TIMEOUT: &str = "timeout";

impl Conn {
    /// Wraps a connected socket and starts its writer task.
    pub fn new(stream: TcpStream, stop: flume::Receiver<()>, timeout: Duration, shared: Arc<Shared>, tag: (String, String)) -> Conn {
        let (tx, rx) = flume::unbounded::<Bytes>();
        let acked = Arc::new(AtomicI64::new(-1));
        rt::spawn(write_loop(stream.clone(), rx, acked.clone(), shared, tag));
        Conn { stream, buf: BytesMut::new(), out: tx, acked, stop, timeout }
    }

    /// Reads more bytes into `buf` (at most `repl-timeout` of silence).
    pub async fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 64 * 1024];
        let read = or_stop(&self.stop, rt::timeout(self.timeout, self.stream.read(&mut chunk))).await;
        let Some(read) = read else { return Err(STOPPED.into()) };
        match read {
            None => Err(TIMEOUT.into()),
            Some(Ok(0)) => Err("connection closed".into()),
            Some(Err(e)) => Err(e.to_string()),
            Some(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    /// Reads one `\r\n`-terminated line (without it).
    pub async fn line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut l = self.buf.split_to(i + 1);
                l.truncate(i);
                if l.last() == Some(&b'\r') {
                    l.truncate(l.len() - 1);
                }
                return Ok(String::from_utf8_lossy(&l).into_owned());
            }
            self.fill().await?;
        }
    }

    /// Reads one line, skipping the bare `\n` keepalives a master sends while preparing.
    pub async fn reply_line(&mut self) -> Result<String, String> {
        loop {
            let l = self.line().await?;
            if !l.is_empty() {
                return Ok(l);
            }
        }
    }

    /// Queues a command for the writer.
    pub fn send(&self, argv: &[&[u8]]) {
        let mut b = BytesMut::new();
        crate::resp::reply::encode_command(argv, &mut b);
        let _ = self.out.send(b.freeze());
    }

    /// A handle that queues for the writer, for work that answers the master later
    /// (tandem-verify's digest). The writer lasts while a handle does.
    pub fn sender(&self) -> flume::Sender<Bytes> {
        self.out.clone()
    }

    /// Queues `REPLCONF ACK <off>`.
    pub fn ack(&self, off: i64) {
        let _ = self.out.send(ack_command(off));
    }
}

/// `REPLCONF ACK <off>`.
fn ack_command(off: i64) -> Bytes {
    let mut b = BytesMut::new();
    let o = off.to_string();
    crate::resp::reply::encode_command(&[&b"REPLCONF"[..], b"ACK", o.as_bytes()], &mut b);
    b.freeze()
}

/// The link's writer task: what the link queues (handshake, ACK replies to GETACK) and, once
/// streaming (`acked >= 0`), `REPLCONF ACK` every second, as Redis's replication cron does.
/// It holds the receiver and a clone of the socket, no sender: it ends when the link drops
/// its `Conn`, or at a write error, and the socket clone goes with it.
///
/// `tag` is (peer, conversation id) for the trace lines of the periodic ACKs.
async fn write_loop(mut ws: TcpStream, rx: flume::Receiver<Bytes>, acked: Arc<AtomicI64>, shared: Arc<Shared>, tag: (String, String)) {
    let period = Duration::from_secs(1);
    let mut next_ack = std::time::Instant::now() + period;
    loop {
        let wait = next_ack.saturating_duration_since(std::time::Instant::now());
        let b = match rt::timeout(wait, rx.recv_async()).await {
            Some(Ok(b)) => b,
            Some(Err(_)) => break,
            None => {
                next_ack = std::time::Instant::now() + period;
                let off = acked.load(Relaxed);
                if off < 0 {
                    continue;
                }
                crate::trace_wire!(shared.log, "link-io", tag.0, "REPLCONF ACK {} {{off={} conv={}}}", off, off, tag.1);
                ack_command(off)
            }
        };
        shared.stats.net_output_bytes.fetch_add(b.len() as u64, Relaxed);
        if ws.write_all(&b).await.is_err() {
            break;
        }
    }
}

/// Reads the RDB from the chunks the link task receives (blocking side of the channel), so
/// loading overlaps the transfer.
pub(super) struct ChanReader {
    pub rx: flume::Receiver<Bytes>,
    pub cur: Bytes,
}

impl std::io::Read for ChanReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.recv() {
                Ok(b) => self.cur = b,
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len());
        out[..n].copy_from_slice(&self.cur[..n]);
        self.cur.advance(n);
        Ok(n)
    }
}
