//! `tandem-trace`: the built binary on sample logs (two files, standard input, filters,
//! errors).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const MASTER_LOG: &str = "\
4242:M 06 Dec 2026 15:00:00.100 * Ready to accept connections tcp
4242:M 06 Dec 2026 15:00:00.200 . [6379] net:127.0.0.1:50432 => client:7: PSYNC ? -1 {conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:00.201 . [6379] client:7 -> keyspace: Psync(replid=?, offset=-1) {conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:00.202 . [6379] keyspace --> client:7: FullResync {conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:00.203 . [6379] replica:127.0.0.1:6380 => net:127.0.0.1:50432: +FULLRESYNC 8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee 0 {conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:00.210 - Some verbose line -> not a trace
4242:M 06 Dec 2026 15:00:01.000 . [6379] net:127.0.0.1:50432 => replica:127.0.0.1:6380: REPLCONF ACK 0 {conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:01.001 . [6379] replica:127.0.0.1:6380 -> backlog: Acked(offset=0) {off=0 conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:02.001 . [6379] replica:127.0.0.1:6380 -> backlog: Acked(offset=14) {off=14 conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:03.001 . [6379] replica:127.0.0.1:6380 -> backlog: Acked(offset=28) {off=28 conv=127.0.0.1:6380}
";

const REPLICA_LOG: &str = "\
4243:S 06 Dec 2026 15:00:00.150 . [6380] master-link => net:127.0.0.1:6379: PING
4243:S 06 Dec 2026 15:00:00.151 . [6380] net:127.0.0.1:6379 => master-link: +PONG
4243:S 06 Dec 2026 15:00:00.199 . [6380] master-link => net:127.0.0.1:6379: PSYNC ? -1 {conv=127.0.0.1:6380}
4243:S 06 Dec 2026 15:00:00.204 . [6380] net:127.0.0.1:6379 => master-link: +FULLRESYNC 8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee 0 {conv=127.0.0.1:6380}
4243:S 06 Dec 2026 15:00:00.300 . [6380] master-link -> keyspace: LoadSnapshot(replid=8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee, offset=0) {off=0 conv=127.0.0.1:6380}
";

const GOLDEN: &str = "\
sequenceDiagram
    participant S1.master_link as S1 master-link
    participant S1.net1 as S1 net1
    participant S2.net2 as S2 net2
    participant S2.client1 as S2 client1
    participant S2.keyspace as S2 keyspace
    participant S2.replica1 as S2 replica1
    participant S1.keyspace as S1 keyspace
    participant S2.backlog as S2 backlog
    S1.master_link-)S1.net1: PING
    S1.net1-)S1.master_link: +PONG
    S1.master_link-)S1.net1: PSYNC ? N
    S2.net2-)S2.client1: PSYNC ? N
    S2.client1->>S2.keyspace: Psync(replid=?, offset=N)
    S2.keyspace-->>S2.client1: FullResync
    S2.replica1-)S2.net2: +FULLRESYNC #60;replid#62; N
    S1.net1-)S1.master_link: +FULLRESYNC #60;replid#62; N
    S1.master_link->>S1.keyspace: LoadSnapshot(replid=#60;replid#62;, offset=N)
    S2.net2-)S2.replica1: REPLCONF ACK N
    S2.replica1->>S2.backlog: Acked(offset=N) (x3)
";

/// A file in the temp directory, removed when dropped.
struct TempLog(PathBuf);

impl TempLog {
    fn new(name: &str, text: &str) -> TempLog {
        let path = std::env::temp_dir().join(format!("tandem-trace-{}-{}", std::process::id(), name));
        std::fs::write(&path, text).unwrap();
        TempLog(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem-trace"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tandem-trace starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout_ok(out: &Output) -> String {
    assert!(out.status.success(), "status {:?}, stderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn two_logs_merge_into_a_normalized_diagram() {
    let m = TempLog::new("master.log", MASTER_LOG);
    let r = TempLog::new("replica.log", REPLICA_LOG);
    assert_eq!(stdout_ok(&run(&["diagram", "--normalize", m.path(), r.path()], "")), GOLDEN);
    // The order of the files does not matter, nor whether one comes from standard input.
    assert_eq!(stdout_ok(&run(&["diagram", "--normalize", r.path(), m.path()], "")), GOLDEN);
    assert_eq!(stdout_ok(&run(&["diagram", "--normalize", m.path(), "-"], REPLICA_LOG)), GOLDEN);
    // Concatenated on standard input.
    assert_eq!(stdout_ok(&run(&["diagram", "--normalize"], &format!("{MASTER_LOG}{REPLICA_LOG}"))), GOLDEN);
}

#[test]
fn filters_on_the_command_line() {
    let both = format!("{MASTER_LOG}{REPLICA_LOG}");
    let out = stdout_ok(&run(&["diagram", "--normalize", "--server", "6380", "--no-wire"], &both));
    assert_eq!(
        out,
        "sequenceDiagram\n    participant S1.master_link as S1 master-link\n    participant S1.keyspace as S1 keyspace\n    \
         S1.master_link->>S1.keyspace: LoadSnapshot(replid=#60;replid#62;, offset=N)\n"
    );
    let out = stdout_ok(&run(&["diagram", "--normalize", "--kind", "handshake"], &both));
    assert_eq!(out.lines().filter(|l| l.contains("-)")).count(), 2, "{out}");
    let out = stdout_ok(&run(&["diagram", "--since", "15:00:01.000", "--until", "15:00:02.500"], &both));
    assert!(out.contains("Acked(offset=0) @0\n") && out.contains("Acked(offset=14) @14\n"), "{out}");
    assert!(!out.contains("@28") && !out.contains("PSYNC"), "{out}");
    let out = stdout_ok(&run(&["diagram", "--replica", "127.0.0.1:6380", "--kind", "psync"], &both));
    assert_eq!(out.lines().filter(|l| l.contains("PSYNC") || l.contains("Psync")).count(), 3, "{out}");
}

#[test]
fn bad_usage_exits_2_with_the_usage() {
    let out = run(&["diagram", "--kind", "nope"], "");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown kind 'nope'") && err.contains("usage: tandem-trace diagram"), "{err}");
    let out = run(&["diagram", "/nonexistent/tandem-trace.log"], "");
    assert_eq!(out.status.code(), Some(2));
    let help = stdout_ok(&run(&["--help"], ""));
    assert!(help.starts_with("usage: tandem-trace diagram [options] [LOG...]"), "{help}");
}
