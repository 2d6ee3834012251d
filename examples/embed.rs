//! Embedding tandem in an async-std application.
//!
//! Starts a server on a free port, talks to it over TCP (raw RESP), then runs commands
//! in-process through the embedding API (`ServerHandle::exec`: an in-process client of the
//! server, with its own client id), shows that two servers in one process keep separate data,
//! and stops both.
//!
//! Run with `cargo run --example embed`.

use async_std::io::{ReadExt, WriteExt};
use async_std::net::TcpStream;
use tandem::config::Config;
use tandem::embed::Value;

/// What the demo observed (the integration test checks these).
#[derive(Debug, Default)]
pub struct Report {
    pub tcp_set: String,
    pub tcp_get: String,
    pub actor_replies: String,
    pub actor_get_over_tcp: String,
    pub other_server_get: String,
    pub other_server_own_get: String,
}

/// Encodes a command as a RESP multibulk.
fn resp(args: &[&str]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    v
}

/// Sends one command and reads one reply (good enough for short replies: one read).
async fn roundtrip(stream: &mut TcpStream, args: &[&str]) -> Result<String, String> {
    stream.write_all(&resp(args)).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    // Read until the reply is complete: a simple line, or a bulk with its payload.
    loop {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        got.extend_from_slice(&buf[..n]);
        if reply_complete(&got) {
            return Ok(String::from_utf8_lossy(&got).into_owned());
        }
    }
}

fn reply_complete(b: &[u8]) -> bool {
    let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else { return false };
    if b[0] != b'$' {
        return true;
    }
    let len: i64 = std::str::from_utf8(&b[1..nl]).ok().and_then(|s| s.parse().ok()).unwrap_or(-1);
    len < 0 || b.len() >= nl + 2 + len as usize + 2
}

/// A reply as text: bulk/status as is, integers as digits, errors with their `-`.
fn text(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Error(e) => format!("-{e}"),
        Value::Nil => "(nil)".into(),
        other => other.as_str().unwrap_or_else(|| format!("{other:?}")),
    }
}

/// The whole demo: returns what it saw.
pub async fn demo() -> Result<Report, String> {
    let mut report = Report::default();
    let cfg = Config::from_text("port 0\nsave \"\"").map_err(|e| e.to_string())?;
    let server = tandem::Server::start(cfg).await?;
    println!("server listening on {}", server.addr);

    // 1. Over TCP, like any client.
    let mut stream = TcpStream::connect(server.addr).await.map_err(|e| e.to_string())?;
    report.tcp_set = roundtrip(&mut stream, &["SET", "greeting", "hello"]).await?;
    report.tcp_get = roundtrip(&mut stream, &["GET", "greeting"]).await?;
    println!("TCP: SET -> {:?}, GET -> {:?}", report.tcp_set, report.tcp_get);

    // 2. In-process, through the embedding API: the same command path as a TCP client.
    let mut replies = vec![];
    for cmd in [&["GET", "greeting"][..], &["SET", "from-actor", "42"], &["INCR", "from-actor"], &["DBSIZE"]] {
        replies.push(text(&server.exec(cmd).await?));
    }
    report.actor_replies = replies.join(" ");
    println!("in-process replies: {:?}", report.actor_replies);
    // What the actor wrote is visible to TCP clients.
    report.actor_get_over_tcp = roundtrip(&mut stream, &["GET", "from-actor"]).await?;
    println!("TCP sees the actor's write: {:?}", report.actor_get_over_tcp);

    // 3. A second server in the same process has its own keyspace.
    let cfg2 = Config::from_text("port 0\nsave \"\"").map_err(|e| e.to_string())?;
    let other = tandem::Server::start(cfg2).await?;
    let mut s2 = TcpStream::connect(other.addr).await.map_err(|e| e.to_string())?;
    report.other_server_get = roundtrip(&mut s2, &["GET", "greeting"]).await?;
    roundtrip(&mut s2, &["SET", "greeting", "bonjour"]).await?;
    report.other_server_own_get = roundtrip(&mut s2, &["GET", "greeting"]).await?;
    println!(
        "second server on {}: GET greeting before its own SET -> {:?}, after -> {:?}; first server still has {:?}",
        other.addr,
        report.other_server_get,
        report.other_server_own_get,
        roundtrip(&mut stream, &["GET", "greeting"]).await?
    );

    // 4. Stop both: connections close, the ports are released.
    other.stop().await;
    server.stop().await;
    println!("both servers stopped");
    Ok(report)
}

#[allow(dead_code)]
fn main() {
    match tandem::block_on(demo()) {
        Ok(_) => {}
        Err(e) => {
            eprintln!("embed example failed: {}", e);
            std::process::exit(1);
        }
    }
}
