//! Real redis-server as the oracle: the same commands on a fresh tandem and (when installed)
//! a fresh redis-server must give the same replies.

use super::*;

/// Runs each command on a fresh tandem and (when installed) a fresh redis-server, in order on
/// one connection each; each entry carries the expected raw reply, so the test means
/// something without redis-server too (and checks that Redis agrees with the table).
pub fn assert_table(table: &[(&[&str], &str)]) {
    let t = Server::tandem(&[]);
    let mut tc = t.conn();
    let r = have_redis().then(|| Server::redis(&[]));
    let mut rc = r.as_ref().map(|r| r.conn());
    for (c, want) in table {
        if let Some(rc) = rc.as_mut() {
            assert_eq!(&rc.raw(c), want, "redis-server disagrees with the test table for {:?}", c);
        }
        assert_eq!(&tc.raw(c), want, "tandem reply to {:?}", c);
    }
}

/// Runs the commands in order on a fresh tandem and (when installed) a fresh redis-server,
/// one connection each, asserting identical raw replies.
pub fn assert_same_as_redis(cmds: &[&[&str]]) {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        cmds.iter().map(|cmd| format!("{:?} -> {}", cmd, c.raw(cmd))).collect()
    })
}

/// Runs `f(port)` against a fresh tandem and (when installed) a fresh redis-server and
/// compares what it returns, step by step (as text: invalid UTF-8 replaced).
pub fn same_on_both<T: AsRef<[u8]>>(f: impl Fn(u16) -> Vec<T>) {
    same_on_both_with(&[], f)
}

/// [`same_on_both`] with both servers started with the `extra` arguments.
pub fn same_on_both_with<T: AsRef<[u8]>>(extra: &[&str], f: impl Fn(u16) -> Vec<T>) {
    let t = Server::tandem(extra);
    let got = f(t.port);
    if have_redis() {
        let r = Server::redis(extra);
        let want = f(r.port);
        assert_eq!(got.len(), want.len(), "tandem (left) and redis-server (right) ran a different number of steps");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(g.as_ref()),
                String::from_utf8_lossy(w.as_ref()),
                "step {i}: tandem (left) and redis-server (right) differ"
            );
        }
    }
}
