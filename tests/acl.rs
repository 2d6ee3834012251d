//! ACL users: rules, GETUSER/LIST, NOPERM, AUTH, ACL LOG, the ACL file, `user` lines, and a
//! restricted replication user; replies compared with a real redis-server run side by side.

mod support;
use std::time::Duration;
use support::*;

/// Rules with at most one single-command rule per selector: Redis lists several in its
/// hash table's order, which changes from run to run.
const SETUPS: &[&[&str]] = &[
    &["ACL", "SETUSER", "alice", "on", ">p1", ">p2", "<p1", "~k*", "%R~r*", "%W~w*", "&ch*", "+@string", "-incr"],
    &["ACL", "SETUSER", "bob", "reset", "nopass", "on", "(~x +get)", "(%R~y", "+@hash)", "&news"],
    &["ACL", "SETUSER", "carol", "on", "nopass", "+client|id", "allkeys", "allchannels"],
    &["ACL", "SETUSER", "dave", "+@all", "-@dangerous", "-debug"],
    &["ACL", "SETUSER", "erin", "#e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "+select|0", "off", "skip-sanitize-payload"],
    &["ACL", "SETUSER", "frank", "-@all", "+@read", "+@write", "~*", "resetkeys", "%RW~a", "clearselectors", "(+set ~s)", "(+get ~g)", "clearselectors"],
];

#[test]
fn rules_getuser_and_list_same_as_redis() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut out: Vec<String> = SETUPS.iter().map(|s| c.raw(s)).collect();
        for u in ["default", "alice", "bob", "carol", "dave", "erin", "frank", "nobody"] {
            out.push(c.raw(&["ACL", "GETUSER", u]));
        }
        out.push(c.raw(&["ACL", "LIST"]));
        out.push(c.raw(&["ACL", "USERS"]));
        out.push(c.raw(&["ACL", "CAT"]));
        out
    });
}

#[test]
fn category_rules_describe_as_redis() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let cats = c.cmd(&["ACL", "CAT"]).strings();
        let mut out = vec![];
        for cat in cats {
            let minus = format!("-@{cat}");
            let plus = format!("+@{cat}");
            c.raw(&["ACL", "SETUSER", "u", "reset", "+@all", &minus]);
            out.push(c.raw(&["ACL", "LIST"]));
            c.raw(&["ACL", "SETUSER", "u", "reset", "-@all", &plus]);
            out.push(c.raw(&["ACL", "LIST"]));
        }
        out
    });
}

#[test]
fn setuser_errors_same_as_redis() {
    assert_same_as_redis(&[
        &["ACL", "SETUSER", "x", "allkeys", "~a"],
        &["ACL", "SETUSER", "x", "&*", "&a"],
        &["ACL", "SETUSER", "x", "+nosuch"],
        &["ACL", "SETUSER", "x", "+@nosuch"],
        &["ACL", "SETUSER", "x", "-select|0"],
        &["ACL", "SETUSER", "x", "+config|get|x"],
        &["ACL", "SETUSER", "x", "+config|nosuch"],
        &["ACL", "SETUSER", "x", "+debug|"],
        &["ACL", "SETUSER", "x", "!abc"],
        &["ACL", "SETUSER", "x", "<nope"],
        &["ACL", "SETUSER", "x", "(~x", "+get"],
        &["ACL", "SETUSER", "x", "(~x +nosuch)"],
        &["ACL", "SETUSER", "x", "%X~a"],
        &["ACL", "SETUSER", "x", "(\"\" +get)"],
        &["ACL", "SETUSER", "x", "()"],
        &["ACL", "SETUSER", "x", "%R"],
        &["ACL", "SETUSER", "x", "%"],
        &["ACL", "SETUSER", "x", "~a b"],
        &["ACL", "SETUSER", "x", "+select|"],
        &["ACL", "SETUSER", "x", "bad"],
        &["ACL", "SETUSER", "a b"],
        &["ACL", "USERS"],
        &["ACL", "DELUSER", "default"],
        &["ACL", "DELUSER", "x", "nosuch"],
        &["ACL", "CAT", "nosuch"],
        &["ACL", "CAT", "a", "b"],
        &["ACL", "GENPASS", "0"],
        &["ACL", "GENPASS", "5000"],
        &["ACL", "GENPASS", "x"],
        &["ACL", "LOG", "x"],
        &["ACL", "HELP"],
        &["ACL", "HELP", "x"],
        &["ACL", "NOSUCH"],
        &["ACL", "LOAD"],
        &["ACL", "SAVE"],
        &["ACL", "DRYRUN", "nobody", "get", "x"],
        &["ACL", "DRYRUN", "default", "nosuch"],
        &["ACL", "DRYRUN", "default", "get"],
    ]);
}

#[test]
fn genpass_lengths() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    for (bits, len) in [(None, 64), (Some("1"), 1), (Some("5"), 2), (Some("4096"), 1024)] {
        let mut cmd = vec!["ACL", "GENPASS"];
        cmd.extend(bits);
        let p = c.cmd(&cmd).text();
        assert_eq!(p.len(), len, "{:?}", bits);
        assert!(p.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{p}");
    }
}

#[test]
fn dryrun_same_as_redis() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        for s in SETUPS {
            c.raw(s);
        }
        let cases: &[&[&str]] = &[
            &["bob", "get", "x"],
            &["bob", "get", "z"],
            &["bob", "set", "x", "1"],
            &["bob", "hget", "y", "f"],
            &["bob", "hset", "y", "f", "v"],
            &["bob", "publish", "news", "m"],
            &["bob", "publish", "other", "m"],
            &["alice", "get", "k1"],
            &["alice", "get", "r1"],
            &["alice", "set", "r1", "v"],
            &["alice", "set", "w1", "v"],
            &["alice", "set", "w1", "v", "GET"],
            &["alice", "bitfield", "r1", "GET", "u8", "0"],
            &["alice", "bitfield", "r1", "SET", "u8", "0", "1"],
            &["alice", "get", "w1"],
            &["alice", "incr", "k1"],
            &["alice", "copy", "r1", "w1"],
            &["alice", "copy", "w1", "r1"],
            &["alice", "strlen", "w1"],
            &["alice", "mset", "k1", "v", "r1", "v"],
            &["carol", "client", "id"],
            &["carol", "client", "kill", "1.1.1.1:1"],
            &["dave", "flushall"],
            &["dave", "debug", "object", "x"],
            &["dave", "keys", "*"],
            &["erin", "select", "0"],
            &["erin", "select", "1"],
            &["frank", "set", "a", "1"],
            &["frank", "set", "b", "1"],
            &["alice", "eval", "", "1", "k1"],
            &["alice", "eval", "", "2", "k1", "r1"],
            &["alice", "eval_ro", "", "1", "r1"],
            &["alice", "eval", "", "0", "r1"],
            &["alice", "eval", "", "3", "k1"],
            &["alice", "sort", "r1", "STORE", "w1"],
            &["alice", "sort", "w1", "STORE", "w1"],
            &["alice", "zunionstore", "w1", "2", "r1", "k1"],
            &["alice", "zunionstore", "r1", "2", "r1", "k1"],
            &["alice", "georadius", "r1", "0", "0", "1", "m", "STORE", "w1"],
            &["alice", "georadius", "r1", "0", "0", "1", "m", "STOREDIST", "r2"],
            &["alice", "xread", "STREAMS", "r1", "k1", "0", "0"],
            &["alice", "xread", "STREAMS", "r1", "w1", "0", "0"],
            &["alice", "memory", "usage", "zz"],
            &["alice", "exists", "w1"],
            &["alice", "lmove", "k1", "w1", "LEFT", "RIGHT"],
            &["alice", "lmove", "w1", "k1", "LEFT", "RIGHT"],
            &["alice", "migrate", "h", "1", "", "0", "5000", "AUTH", "KEYS", "KEYS", "k1"],
            &["alice", "migrate", "h", "1", "r1", "0", "5000"],
            &["bob", "sintercard", "2", "x", "x"],
            &["alice", "spublish", "k1", "m"],
        ];
        let mut out = vec![];
        for case in cases {
            let mut cmd = vec!["ACL", "DRYRUN"];
            cmd.extend_from_slice(case);
            out.push(format!("{:?} -> {}", case, c.raw(&cmd)));
        }
        out
    });
}

/// The fields of ACL LOG entries that do not depend on time or connection ids.
fn log_summary(c: &mut Conn) -> Vec<String> {
    let r = c.cmd(&["ACL", "LOG"]);
    r.array()
        .iter()
        .map(|e| {
            let f = e.array();
            let field = |k: &str| f.chunks(2).find(|p| p[0].text() == k).map(|p| p[1].text()).unwrap_or_default();
            let info = field("client-info");
            let user_in_info = info.split(' ').find(|w| w.starts_with("user=")).unwrap_or("").to_string();
            format!(
                "count={} reason={} context={} object={} username={} {} age-ok={}",
                field("count"),
                field("reason"),
                field("context"),
                field("object"),
                field("username"),
                user_in_info,
                field("age-seconds").parse::<f64>().map(|a| (0.0..60.0).contains(&a)).unwrap_or(false)
            )
        })
        .collect()
}

#[test]
fn noperm_replies_and_acl_log_same_as_redis() {
    same_on_both(|port| {
        let mut admin = Conn::connect(port);
        for s in SETUPS {
            admin.raw(s);
        }
        let mut c = Conn::connect(port);
        let steps: &[&[&str]] = &[
            &["AUTH", "alice", "p1"],
            &["AUTH", "alice", "p2"],
            &["ACL", "WHOAMI"],
            &["SET", "k1", "v"],
            &["GET", "k1"],
            &["GET", "other"],
            &["SET", "r1", "v"],
            &["GET", "r1"],
            &["INCR", "k1"],
            &["INCR", "k1"],
            &["PING"],
            &["MULTI"],
            &["GET", "other"],
            &["GET", "k1"],
            &["EXEC"],
            &["AUTH", "bob", "x"],
            &["GET", "x"],
            &["SET", "x", "1"],
            &["PUBLISH", "news", "m"],
            &["PUBLISH", "sports", "m"],
            &["SUBSCRIBE", "sports"],
            &["PSUBSCRIBE", "new*"],
            &["AUTH", "carol", "x"],
            &["CLIENT", "ID"],
            &["CLIENT", "KILL", "127.0.0.1:1"],
            &["AUTH", "erin", "x"],
        ];
        let mut out: Vec<String> = steps
            .iter()
            .map(|s| {
                let r = c.raw(s);
                // CLIENT ID's number differs between the servers.
                let r = if s[0] == "CLIENT" && r.starts_with(':') { ":<id>\r\n".to_string() } else { r };
                format!("{:?} -> {}", s, r)
            })
            .collect();
        out.extend(log_summary(&mut admin));
        out.push(admin.raw(&["ACL", "LOG", "1"]).lines().next().unwrap_or_default().to_string());
        out.push(admin.raw(&["ACL", "LOG", "RESET"]));
        out.push(admin.raw(&["ACL", "LOG"]));
        out
    });
}

#[test]
fn exec_checks_the_rules_again() {
    same_on_both(|port| {
        let mut admin = Conn::connect(port);
        admin.raw(&["ACL", "SETUSER", "t", "on", "nopass", "~*", "+@all"]);
        let mut c = Conn::connect(port);
        let mut out = vec![c.raw(&["AUTH", "t", "x"]), c.raw(&["MULTI"]), c.raw(&["INCR", "n"]), c.raw(&["GET", "n"])];
        out.push(admin.raw(&["ACL", "SETUSER", "t", "-incr"]));
        out.push(c.raw(&["EXEC"]));
        out.extend(log_summary(&mut admin));
        out
    });
}

#[test]
fn auth_hello_and_client_list_user() {
    same_on_both(|port| {
        let mut admin = Conn::connect(port);
        admin.raw(&["ACL", "SETUSER", "u", "on", ">pw", "+@all", "~*"]);
        admin.raw(&["ACL", "SETUSER", "off", "off", ">pw", "+@all"]);
        let mut c = Conn::connect(port);
        let mut out = vec![
            c.raw(&["AUTH", "u", "bad"]),
            c.raw(&["AUTH", "off", "pw"]),
            c.raw(&["AUTH", "nobody", "pw"]),
            c.raw(&["HELLO", "2", "AUTH", "u", "bad"]),
            c.raw(&["AUTH", "u", "pw"]),
            c.raw(&["ACL", "WHOAMI"]),
        ];
        let id = c.cmd(&["CLIENT", "ID"]).text();
        let list = c.raw(&["CLIENT", "LIST", "ID", &id]);
        out.push(list.split(' ').filter(|w| w.starts_with("user=")).collect::<Vec<_>>().join(" "));
        out.push(c.raw(&["RESET"]));
        out.push(c.raw(&["ACL", "WHOAMI"]));
        let mut h = Conn::connect(port);
        let hello = h.cmd(&["HELLO", "2", "AUTH", "u", "pw"]);
        out.push(format!("{}", matches!(hello, Reply::Array(_))));
        out.push(h.raw(&["ACL", "WHOAMI"]));
        out.push(admin.raw(&["CLIENT", "KILL", "USER", "nobody"]));
        out.push(admin.raw(&["CLIENT", "KILL", "USER", "u"]));
        out
    });
}

#[test]
fn default_user_off_or_with_password() {
    same_on_both(|port| {
        let mut admin = Conn::connect(port);
        admin.raw(&["ACL", "SETUSER", "admin", "on", ">a", "+@all", "~*", "&*"]);
        let mut out = vec![admin.raw(&["ACL", "SETUSER", "default", "off"])];
        let mut c = Conn::connect(port);
        out.push(c.raw(&["PING"]));
        out.push(c.raw(&["AUTH", "x"]));
        out.push(admin.raw(&["ACL", "SETUSER", "default", "on", "resetpass", ">secret"]));
        let mut c = Conn::connect(port);
        out.push(c.raw(&["PING"]));
        out.push(c.raw(&["AUTH", "secret"]));
        out.push(c.raw(&["PING"]));
        out.push(admin.raw(&["CONFIG", "SET", "requirepass", "other"]));
        out.push(admin.raw(&["ACL", "GETUSER", "default"]));
        out.push(c.raw(&["AUTH", "secret"]));
        out.push(c.raw(&["AUTH", "other"]));
        out.push(admin.raw(&["CONFIG", "SET", "requirepass", ""]));
        out.push(admin.raw(&["ACL", "LIST"]));
        out
    });
}

#[test]
fn deleting_a_user_closes_its_connections() {
    for kind in [Kind::Tandem, Kind::Redis] {
        if kind == Kind::Redis && !have_redis() {
            continue;
        }
        let s = Server::start(kind, &[]);
        let mut admin = s.conn();
        admin.raw(&["ACL", "SETUSER", "gone", "on", ">pw", "+@all", "~*"]);
        let mut victim = s.conn();
        assert_eq!(victim.raw(&["AUTH", "gone", "pw"]), "+OK\r\n");
        let mut me = s.conn();
        assert_eq!(me.raw(&["AUTH", "gone", "pw"]), "+OK\r\n");
        let mut other = s.conn();
        assert_eq!(other.raw(&["ACL", "DELUSER", "nosuch"]), ":0\r\n");
        // The deleting connection gets its reply, then both close; others stay.
        assert_eq!(me.raw(&["ACL", "DELUSER", "gone"]), ":1\r\n", "{}", kind.label());
        assert!(me.is_closed(Duration::from_secs(3)), "{}", kind.label());
        assert!(victim.is_closed(Duration::from_secs(3)), "{}", kind.label());
        assert_eq!(other.raw(&["PING"]), "+PONG\r\n");
    }
}

#[test]
fn subscribers_lose_revoked_channels() {
    for kind in [Kind::Tandem, Kind::Redis] {
        if kind == Kind::Redis && !have_redis() {
            continue;
        }
        let s = Server::start(kind, &[]);
        let mut admin = s.conn();
        admin.raw(&["ACL", "SETUSER", "ps", "on", "nopass", "+@all", "resetchannels", "&foo"]);
        let mut sub = s.conn();
        sub.raw(&["AUTH", "ps", "x"]);
        sub.cmd(&["SUBSCRIBE", "foo"]);
        // Gaining channels keeps the subscriber; losing them closes it.
        admin.raw(&["ACL", "SETUSER", "ps", "&bar"]);
        assert!(!sub.is_closed(Duration::from_millis(300)), "{}", kind.label());
        // Another subscriber of the user, to a channel it keeps, stays.
        let mut keeps = s.conn();
        keeps.raw(&["AUTH", "ps", "x"]);
        keeps.cmd(&["SUBSCRIBE", "bar"]);
        let mut pat = s.conn();
        pat.raw(&["AUTH", "ps", "x"]);
        pat.cmd(&["PSUBSCRIBE", "foo"]);
        admin.raw(&["ACL", "SETUSER", "ps", "resetchannels", "&bar"]);
        assert!(sub.is_closed(Duration::from_secs(3)), "{}", kind.label());
        assert!(pat.is_closed(Duration::from_secs(3)), "{}", kind.label());
        assert!(!keeps.is_closed(Duration::from_millis(300)), "{}", kind.label());
        // A pattern subscription needs the same pattern literally.
        admin.raw(&["ACL", "SETUSER", "ps", "&b*"]);
        let mut pat = s.conn();
        pat.raw(&["AUTH", "ps", "x"]);
        assert!(pat.raw(&["PSUBSCRIBE", "ba*"]).starts_with("-NOPERM"), "{}", kind.label());
        pat.cmd(&["PSUBSCRIBE", "b*"]);
        admin.raw(&["ACL", "SETUSER", "ps", "resetchannels", "&bar"]);
        assert!(pat.is_closed(Duration::from_secs(3)), "{}", kind.label());
        assert!(!keeps.is_closed(Duration::from_millis(300)), "{}", kind.label());
    }
}

/// Starts `kind` with `aclfile` set to a file holding `content` in its own directory.
fn with_aclfile(kind: Kind, content: &str) -> (Server, std::path::PathBuf) {
    let dir = TempDir::new("aclfile");
    let path = dir.path().join("users.acl");
    std::fs::write(&path, content).unwrap();
    let p = path.to_string_lossy().to_string();
    let s = Server::launch(kind).args(&["--aclfile", &p]).start();
    std::mem::forget(dir);
    (s, path)
}

#[test]
fn aclfile_load_and_save_same_as_redis() {
    let initial = "user default on nopass ~* &* +@all\nuser alice on #e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ~a* &* -@all +get\n";
    let run = |kind: Kind| -> Vec<String> {
        let (s, path) = with_aclfile(kind, initial);
        let mut c = s.conn();
        let p = path.to_string_lossy().to_string();
        let mut out = vec![c.raw(&["ACL", "LIST"])];
        out.push(c.raw(&["ACL", "SETUSER", "bob", "on", ">pw", "%R~b*", "&news", "+@hash", "(~x +set)"]));
        out.push(c.raw(&["ACL", "SAVE"]));
        out.push(std::fs::read_to_string(&path).unwrap());
        let mut alice = s.conn();
        out.push(alice.raw(&["AUTH", "alice", ""]));
        // A broken file changes nothing.
        std::fs::write(&path, "user carol on +nosuch\nuser dave on\nuser dave off\nnot a user line\n").unwrap();
        out.push(c.raw(&["ACL", "LOAD"]).replace(&p, "<file>"));
        out.push(c.raw(&["ACL", "USERS"]));
        // A good one replaces every user; alice's connection is closed.
        std::fs::write(&path, "user carol on nopass ~* -@all +ping\n").unwrap();
        out.push(c.raw(&["ACL", "LOAD"]));
        out.push(c.raw(&["ACL", "LIST"]));
        out.push(format!("alice closed: {}", alice.is_closed(Duration::from_secs(3))));
        std::fs::remove_file(&path).unwrap();
        out.push(c.raw(&["ACL", "LOAD"]).replace(&p, "<file>"));
        out
    };
    let got = run(Kind::Tandem);
    assert!(got[3].contains("user bob on #"), "{:?}", got);
    if have_redis() {
        let want = run(Kind::Redis);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "step {i}: tandem (left) and redis-server (right) differ");
        }
    }
}

#[test]
fn user_lines_in_config_same_as_redis() {
    same_on_both_with(&["--user", "default", "on", "nopass", "~*", "+@all", "-flushdb", "--user", "ro", "on", ">pw", "%R~*", "+@read"], |port| {
        let mut c = Conn::connect(port);
        vec![c.raw(&["ACL", "LIST"]), c.raw(&["FLUSHDB"]), c.raw(&["AUTH", "ro", "pw"]), c.raw(&["SET", "a", "1"]), c.raw(&["GET", "a"])]
    });
}

#[test]
fn duplicate_config_users_refuse_to_start() {
    let out = std::process::Command::new(Kind::Tandem.program()).args(["--port", "0", "--user", "foo", "--user", "foo"]).output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Duplicate user"), "{text}");
}

/// `masteruser`/`masterauth` against a master whose replication user may only run what
/// replication needs; `master` and `replica` are any mix of tandem and redis-server.
fn restricted_replication(master: Kind, replica: Kind) {
    let m = Server::repl(master, "master", &[]);
    let mut mc = m.conn();
    assert_eq!(mc.raw(&["ACL", "SETUSER", "repl", "on", ">rpw", "+psync", "+replconf", "+ping"]), "+OK\r\n");
    assert_eq!(mc.raw(&["ACL", "SETUSER", "default", "resetpass", ">adm"]), "+OK\r\n");
    mc.raw(&["AUTH", "adm"]);
    mc.raw(&["SET", "before", "1"]);
    let r = Server::repl(replica, "replica", &["--masteruser", "repl", "--masterauth", "rpw"]);
    let mut rc = r.conn();
    assert_eq!(rc.raw(&["REPLICAOF", "127.0.0.1", &m.port.to_string()]), "+OK\r\n");
    mc.raw(&["SET", "after", "2"]);
    wait_for("the replica to sync as the restricted user", || {
        rc.raw(&["GET", "after"]) == "$1\r\n2\r\n" && rc.raw(&["GET", "before"]) == "$1\r\n1\r\n"
    });
    // The replication user can do nothing else.
    let mut other = m.conn();
    other.raw(&["AUTH", "repl", "rpw"]);
    assert_eq!(other.raw(&["GET", "before"]), "-NOPERM this user has no permissions to run the 'get' command\r\n");
    // A wrong password keeps the replica out.
    let r2 = Server::repl(replica, "replica2", &["--masteruser", "repl", "--masterauth", "wrong"]);
    let mut r2c = r2.conn();
    r2c.raw(&["REPLICAOF", "127.0.0.1", &m.port.to_string()]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(r2c.raw(&["GET", "before"]), "$-1\r\n");
}

#[test]
fn tandem_replica_of_redis_with_restricted_user() {
    if !have_redis() {
        return;
    }
    restricted_replication(Kind::Redis, Kind::Tandem);
}

#[test]
fn redis_replica_of_tandem_with_restricted_user() {
    if !have_redis() {
        return;
    }
    restricted_replication(Kind::Tandem, Kind::Redis);
}

#[test]
fn scripts_and_sort_patterns_follow_the_callers_rules() {
    same_on_both(|port| {
        let mut admin = Conn::connect(port);
        admin.raw(&["ACL", "SETUSER", "lua", "on", "nopass", "+@all", "-incr", "~s*", "~l*"]);
        admin.raw(&["RPUSH", "l1", "1", "2"]);
        let mut c = Conn::connect(port);
        let mut out = vec![
            c.raw(&["AUTH", "lua", "x"]),
            c.raw(&["EVAL", "return redis.call('incr','s1')", "0"]),
            c.raw(&["EVAL", "return redis.pcall('get','other')", "0"]),
            c.raw(&["EVAL", "return redis.call('set','s1','v')", "0"]),
            c.raw(&["SORT", "l1", "BY", "w*"]),
            c.raw(&["SORT", "l1", "BY", "nosort"]),
            c.raw(&["SORT", "l1", "GET", "#"]),
        ];
        out.extend(log_summary(&mut admin));
        out
    });
}

#[test]
fn config_rewrite_writes_the_users_as_redis() {
    let run = |kind: Kind| -> Vec<String> {
        let dir = TempDir::new("aclrw");
        let conf = dir.path().join("s.conf");
        std::fs::write(&conf, "user bob on >x ~k* +get\nuser old on nopass\n").unwrap();
        let s = Server::launch(kind).config(&conf).start();
        let mut c = s.conn();
        c.raw(&["ACL", "SETUSER", "carol", "on", "nopass", "(+set ~x)"]);
        c.raw(&["ACL", "DELUSER", "old"]);
        assert_eq!(c.raw(&["CONFIG", "REWRITE"]), "+OK\r\n");
        let text = std::fs::read_to_string(&conf).unwrap();
        text.lines().filter(|l| l.starts_with("user ")).map(String::from).collect()
    };
    let got = run(Kind::Tandem);
    assert_eq!(got.len(), 3, "{:?}", got);
    if have_redis() {
        assert_eq!(got, run(Kind::Redis));
    }
}
