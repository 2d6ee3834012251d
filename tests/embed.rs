//! Embedding: the same flow as examples/embed.rs, run in-process and checked.

#[path = "../examples/embed.rs"]
mod embed_example;

use tandem::config::Config;

#[test]
fn embed_example_flow() {
    let r = tandem::rt::block_on(embed_example::demo()).expect("demo runs");
    assert_eq!(r.tcp_set, "+OK\r\n");
    assert_eq!(r.tcp_get, "$5\r\nhello\r\n");
    assert_eq!(r.actor_replies, "$5\r\nhello\r\n+OK\r\n:43\r\n:2\r\n");
    assert_eq!(r.actor_get_over_tcp, "$2\r\n43\r\n");
    assert_eq!(r.other_server_get, "$-1\r\n");
    assert_eq!(r.other_server_own_get, "$7\r\nbonjour\r\n");
}

#[test]
fn stop_releases_the_port_and_closes_clients() {
    tandem::rt::block_on(async {
        use async_std::io::ReadExt;
        let cfg = Config::from_text("port 0\nsave \"\"").unwrap();
        let server = tandem::Server::start(cfg).await.unwrap();
        let addr = server.addr;
        assert_ne!(addr.port(), 0);
        let mut client = async_std::net::TcpStream::connect(addr).await.unwrap();
        server.stop().await;
        let mut buf = [0u8; 16];
        let n = async_std::future::timeout(std::time::Duration::from_secs(5), client.read(&mut buf))
            .await
            .expect("client closed within 5s")
            .unwrap_or(0);
        assert_eq!(n, 0, "connection closed on stop");
        // Nothing listens there any more: a new server can take the same port.
        async_std::task::sleep(std::time::Duration::from_millis(100)).await;
        let cfg = Config::from_text(&format!("port {}\nsave \"\"", addr.port())).unwrap();
        let again = tandem::Server::start(cfg).await.expect("port reusable after stop");
        again.stop().await;
    });
}

#[test]
fn bad_config_text_is_an_error() {
    assert!(Config::from_text("port notanumber").is_err());
    assert!(Config::from_text("nosuchdirective 1").is_err());
}
