//! Embedding: the same flow as examples/embed.rs, run in-process and checked.

#[path = "../examples/embed.rs"]
mod embed_example;

use tandem::config::Config;

#[test]
fn embed_example_flow() {
    let r = tandem::block_on(embed_example::demo()).expect("demo runs");
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
    tandem::block_on(async {
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
