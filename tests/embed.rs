//! Embedding: the same flow as examples/embed.rs, run in-process and checked.

#[path = "../examples/embed.rs"]
mod embed_example;

use tandem::config::Config;

#[test]
fn embed_example_flow() {
    let r = tandem::rt::block_on(embed_example::demo()).expect("demo runs");
    assert_eq!(r.tcp_set, "+OK\r\n");
    assert_eq!(r.tcp_get, "$5\r\nhello\r\n");
    assert_eq!(r.actor_replies, "hello OK 43 2");
    assert_eq!(r.actor_get_over_tcp, "$2\r\n43\r\n");
    assert_eq!(r.other_server_get, "$-1\r\n");
    assert_eq!(r.other_server_own_get, "$7\r\nbonjour\r\n");
}

/// Starts a server, connects `n` clients (after a PING round trip each when `served_first`),
/// stops the server, and checks every client is closed and the port can be bound again.
fn stop_closes(n: usize, served_first: bool) {
    tandem::rt::block_on(async {
        use async_std::io::{ReadExt, WriteExt};
        let cfg = Config::from_text("port 0\nsave \"\"").unwrap();
        let server = tandem::Server::start(cfg).await.unwrap();
        let addr = server.addr;
        assert_ne!(addr.port(), 0);
        let mut clients = vec![];
        for _ in 0..n {
            let mut client = async_std::net::TcpStream::connect(addr).await.unwrap();
            if served_first {
                client.write_all(b"PING\r\n").await.unwrap();
                let mut buf = [0u8; 7];
                client.read_exact(&mut buf).await.unwrap();
                assert_eq!(&buf, b"+PONG\r\n");
            }
            clients.push(client);
        }
        server.stop().await;
        for (i, client) in clients.iter_mut().enumerate() {
            let mut buf = [0u8; 16];
            let n = async_std::future::timeout(std::time::Duration::from_secs(5), client.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("client {} still open 5s after stop()", i))
                .unwrap_or(0);
            assert_eq!(n, 0, "connection closed on stop");
        }
        // Nothing listens there any more: a new server can take the same port.
        async_std::task::sleep(std::time::Duration::from_millis(100)).await;
        let cfg = Config::from_text(&format!("port {}\nsave \"\"", addr.port())).unwrap();
        let again = tandem::Server::start(cfg).await.expect("port reusable after stop");
        again.stop().await;
    });
}

#[test]
fn stop_releases_the_port_and_closes_clients() {
    stop_closes(20, true);
}

/// A connection accepted just before `stop()` is registered by the listener actor after the
/// shutdown already closed the known clients (server.rs: `Handler<Accepted>` does not check
/// `shutting_down`, and `finish` runs before the listener stops), so it stays open forever in
/// an embedding process.
#[test]
fn stop_closes_a_connection_accepted_just_before() {
    stop_closes(50, false);
}

#[test]
fn bad_config_text_is_an_error() {
    assert!(Config::from_text("port notanumber").is_err());
    assert!(Config::from_text("nosuchdirective 1").is_err());
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A master and a replica in this process, 2 MB replicated through a 1 MB backlog, both
/// stopped: `stop()` must free every actor of each server (the backlog and the master link
/// included, which hold the server's shared state), so repeated cycles keep memory and open
/// descriptors flat.
#[test]
fn start_stop_cycles_with_replication_free_everything() {
    use async_std::io::{ReadExt, WriteExt};
    async fn cmd(s: &mut async_std::net::TcpStream, line: &str) -> String {
        s.write_all(format!("{}\r\n", line).as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
    async fn cycle() {
        let conf = "port 0\nsave \"\"\nrepl-backlog-size 1mb\nrepl-diskless-sync-delay 0";
        let m = tandem::Server::start(Config::from_text(conf).unwrap()).await.unwrap();
        let r = tandem::Server::start(Config::from_text(conf).unwrap()).await.unwrap();
        let mut mc = async_std::net::TcpStream::connect(m.addr).await.unwrap();
        let mut rc = async_std::net::TcpStream::connect(r.addr).await.unwrap();
        assert_eq!(cmd(&mut rc, &format!("REPLICAOF 127.0.0.1 {}", m.addr.port())).await, "+OK\r\n");
        let v = "x".repeat(1000);
        for i in 0..2000 {
            assert_eq!(cmd(&mut mc, &format!("SET k{} {}", i, v)).await, "+OK\r\n");
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while cmd(&mut rc, "DBSIZE").await != ":2000\r\n" {
            assert!(std::time::Instant::now() < deadline, "replica did not catch up");
            async_std::task::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop((mc, rc));
        r.stop().await;
        m.stop().await;
    }
    tandem::rt::block_on(async {
        // Warm up (allocator arenas, thread pools), then measure.
        for _ in 0..3 {
            cycle().await;
        }
        async_std::task::sleep(std::time::Duration::from_millis(300)).await;
        let (rss0, fds0) = (rss_kib(), open_fds());
        for _ in 0..20 {
            cycle().await;
        }
        async_std::task::sleep(std::time::Duration::from_millis(500)).await;
        let (rss1, fds1) = (rss_kib(), open_fds());
        eprintln!("20 cycles: RSS {} -> {} KiB, fds {} -> {}", rss0, rss1, fds0, fds1);
        assert!(fds1 <= fds0 + 2, "open fds {} -> {}", fds0, fds1);
        assert!(rss1 < rss0 + 16 * 1024, "RSS grew {} -> {} KiB over 20 cycles", rss0, rss1);
    });
}
