use super::*;

const M: &str = "4242:M 06 Dec 2026 15:00:00.123 . [6379] ";

fn line(rest: &str) -> TraceLine {
    parse_line(&format!("{M}{rest}")).unwrap_or_else(|| panic!("not parsed: {rest}"))
}

fn norm() -> Filter {
    Filter { normalize: true, ..Filter::default() }
}

/// The arrows of a diagram (its lines after the participant declarations).
fn arrows(d: &str) -> Vec<&str> {
    d.lines().skip(1).filter(|l| !l.trim_start().starts_with("participant ")).map(str::trim).collect()
}

#[test]
fn parses_a_message_with_args_and_metadata() {
    let l = parse_line(
        "4242:M 06 Dec 2026 15:00:00.123 . [6379] client:7 -> keyspace: Psync(replid=?, offset=-1) {conv=127.0.0.1:6380}",
    )
    .unwrap();
    assert_eq!(l.pid, 4242);
    assert_eq!(l.role, 'M');
    assert_eq!(l.stamp, Stamp { date: 20261206, ms: 15 * 3_600_000 + 123 });
    assert_eq!(l.server, "6379");
    assert_eq!((l.from.as_str(), l.arrow, l.to.as_str()), ("client:7", Arrow::Send, "keyspace"));
    assert_eq!(l.kind, "Psync");
    assert_eq!(l.args.as_deref(), Some("replid=?, offset=-1"));
    assert_eq!(l.text, None);
    assert_eq!(l.conv(), Some("127.0.0.1:6380"));
    assert_eq!(l.offset(), None);
    assert_eq!(l.body(), "Psync(replid=?, offset=-1)");
}

#[test]
fn parses_replies_offsets_and_bare_kinds() {
    let l = line("keyspace --> client:7: FullResync {conv=127.0.0.1:6380}");
    assert_eq!((l.arrow, l.kind.as_str(), l.args.clone(), l.text.clone()), (Arrow::Reply, "FullResync", None, None));
    let l = line("keyspace --> client:7: Continue(replid=8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee)");
    assert_eq!(l.kind, "Continue");
    assert!(l.meta.is_empty());
    let l = parse_line("4242:S 06 Dec 2026 15:00:00.130 . [6380] master-link -> keyspace: LoadSnapshot(replid=8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee, offset=0) {off=0 conv=127.0.0.1:6380}").unwrap();
    assert_eq!(l.role, 'S');
    assert_eq!(l.offset(), Some("0"));
    assert_eq!(l.conv(), Some("127.0.0.1:6380"));
    assert_eq!(l.meta, vec![("off".to_string(), "0".to_string()), ("conv".to_string(), "127.0.0.1:6380".to_string())]);
    let l = line("failover -> backlog: CancelSynced");
    assert_eq!((l.kind.as_str(), l.args.as_deref(), l.text.as_deref()), ("CancelSynced", None, None));
}

#[test]
fn parses_wire_lines_nested_args_and_free_text() {
    let l = line("net:127.0.0.1:50432 => replica:127.0.0.1:6380: PSYNC 8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee 14");
    assert_eq!((l.from.as_str(), l.arrow, l.to.as_str()), ("net:127.0.0.1:50432", Arrow::Wire, "replica:127.0.0.1:6380"));
    assert_eq!((l.kind.as_str(), l.text.as_deref()), ("PSYNC", Some("8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee 14")));
    assert!(l.is_wire());
    let l = line("master-link => net:127.0.0.1:6379: RDB end (4711 bytes) {off=0}");
    assert_eq!((l.kind.as_str(), l.args.as_deref(), l.text.as_deref()), ("RDB", None, Some("end (4711 bytes)")));
    assert_eq!(l.body(), "RDB end (4711 bytes)");
    let l = line("client -> master-link: SetMaster(Some((\"127.0.0.1\", 6379))) now");
    assert_eq!(l.args.as_deref(), Some("Some((\"127.0.0.1\", 6379))"));
    assert_eq!(l.text.as_deref(), Some("now"));
    let l = line("backlog -> client:7: WaitEnd -> 2");
    assert_eq!((l.kind.as_str(), l.text.as_deref()), ("WaitEnd", Some("-> 2")));
    // Braces that are not a trailing k=v block stay in the text.
    let l = line("keyspace -> backlog: Note {not a block}");
    assert_eq!(l.text.as_deref(), Some("{not a block}"));
    assert!(l.meta.is_empty());
    let l = line("a -> b: Odd(unbalanced x");
    assert_eq!((l.kind.as_str(), l.args.as_deref(), l.text.as_deref()), ("Odd(unbalanced", None, Some("x")));
}

#[test]
fn ignores_non_trace_lines() {
    for bad in [
        "4242:M 06 Dec 2026 15:00:00.123 * Ready to accept connections tcp",
        "4242:M 06 Dec 2026 15:00:00.123 - [6379] client:7 -> keyspace: Exec",
        "4242:M 06 Dec 2026 15:00:00.123 . some debug line",
        "4242:M 06 Dec 2026 15:00:00.123 . client:7 -> keyspace: Exec",
        "4242:M 06 Dec 2026 15:00:00.123 . [6379] client:7 ~> keyspace: Exec",
        "4242:M 06 Dec 2026 15:00:00.123 . [6379] client:7 -> keyspace Exec",
        "4242:M 06 Dec 2026 15:00:00.123 . [6379] client:7 -> keyspace: ",
        "4242:M 06 Dec 2026 15:00:00.123 . [6379] client:7 -> keyspace: {off=1}",
        "4242:M 06 Dec 2026 15:00:00.123 . [] client:7 -> keyspace: Exec",
        "4242:Q 06 Dec 2026 15:00:00.123 . [6379] client:7 -> keyspace: Exec",
        "x:M 06 Dec 2026 15:00:00.123 . [6379] client:7 -> keyspace: Exec",
        "4242:M 06 Foo 2026 15:00:00.123 . [6379] client:7 -> keyspace: Exec",
        "4242:M 06 Dec 2026 15:00:00 . [6379] client:7 -> keyspace: Exec",
        "4242:M 06 Dec 2026 25:00:00.123 . [6379] client:7 -> keyspace: Exec",
        "",
        "garbage",
    ] {
        assert_eq!(parse_line(bad), None, "{bad}");
    }
    assert!(parse_line("4242:C 06 Dec 2026 15:00:00.123 . [6379] client:7 -> keyspace: Exec\r\n").is_some());
}

#[test]
fn times_of_day() {
    assert_eq!(parse_time_of_day("15:00:01.250"), Some(54_001_250));
    assert_eq!(parse_time_of_day("15:00:01.5"), Some(54_001_500));
    assert_eq!(parse_time_of_day("15:00:01"), Some(54_001_000));
    assert_eq!(parse_time_of_day("15:00"), Some(54_000_000));
    for bad in ["", "15", "24:00:00", "15:60:00", "15:00:00.1234", "a:b:c", "15:00.5", "15:00:00."] {
        assert_eq!(parse_time_of_day(bad), None, "{bad}");
    }
}

const TWO_MASTER: &str = "\
4242:M 06 Dec 2026 15:00:00.100 * Ready to accept connections tcp
4242:M 06 Dec 2026 15:00:00.200 . [6379] net:127.0.0.1:50432 => client:7: PSYNC ? -1
4242:M 06 Dec 2026 15:00:00.201 . [6379] client:7 -> keyspace: Psync(replid=?, offset=-1) {conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:00.202 . [6379] keyspace --> client:7: FullResync {conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:00.203 . [6379] replica:127.0.0.1:6380 => net:127.0.0.1:50432: +FULLRESYNC 8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee 0 {conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:01.000 . [6379] net:127.0.0.1:50432 => replica:127.0.0.1:6380: REPLCONF ACK 0 {conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:01.001 . [6379] replica:127.0.0.1:6380 -> backlog: Acked(offset=0) {off=0 conv=127.0.0.1:6380}
4242:M 06 Dec 2026 15:00:02.000 . [6379] client:9 -> keyspace: Exec(1 items)
4242:M 06 Dec 2026 15:00:02.001 . [6379] keyspace -> backlog: Append(31 bytes) {off=31}
";

const TWO_REPLICA: &str = "\
4243:S 06 Dec 2026 15:00:00.150 . [6380] master-link => net:127.0.0.1:6379: PING
4243:S 06 Dec 2026 15:00:00.151 . [6380] net:127.0.0.1:6379 => master-link: +PONG
4243:S 06 Dec 2026 15:00:00.199 . [6380] master-link => net:127.0.0.1:6379: PSYNC ? -1 {conv=127.0.0.1:6380}
4243:S 06 Dec 2026 15:00:00.204 . [6380] net:127.0.0.1:6379 => master-link: +FULLRESYNC 8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee 0 {conv=127.0.0.1:6380}
4243:S 06 Dec 2026 15:00:00.300 . [6380] master-link -> keyspace: LoadSnapshot(replid=8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee, offset=0) {off=0 conv=127.0.0.1:6380}
4243:S 06 Dec 2026 15:00:02.010 . [6380] link-io -> keyspace: ApplyStream(1 items, 31 bytes) {off=31 conv=127.0.0.1:6380}
";

#[test]
fn merges_two_servers_by_time() {
    let lines = merge(&[TWO_MASTER, TWO_REPLICA]);
    assert_eq!(lines.len(), 14);
    assert!(lines.windows(2).all(|w| w[0].stamp <= w[1].stamp));
    let order: Vec<(&str, &str)> = lines.iter().take(4).map(|l| (l.server.as_str(), l.kind.as_str())).collect();
    assert_eq!(order, [("6380", "PING"), ("6380", "+PONG"), ("6380", "PSYNC"), ("6379", "PSYNC")]);
    // The same two logs concatenated in one text merge the same way.
    let concatenated = format!("{TWO_MASTER}{TWO_REPLICA}");
    assert_eq!(merge(&[&concatenated]), lines);
    assert_eq!(diagram(&concatenated, &norm()), diagram_logs(&[TWO_REPLICA, TWO_MASTER], &norm()));
}

#[test]
fn equal_times_keep_log_order() {
    let a = "1:M 06 Dec 2026 15:00:00.000 . [a] x -> y: First\n1:M 06 Dec 2026 15:00:00.000 . [a] x -> y: Second\n";
    let b = "2:M 06 Dec 2026 15:00:00.000 . [b] x -> y: Third\n1:M 05 Dec 2026 23:59:59.999 . [b] x -> y: Yesterday\n";
    let kinds: Vec<String> = merge(&[a, b]).into_iter().map(|l| l.kind).collect();
    assert_eq!(kinds, ["Yesterday", "First", "Second", "Third"]);
}

#[test]
fn normalized_golden_diagram() {
    let d = diagram_logs(&[TWO_MASTER, TWO_REPLICA], &norm());
    let want = "\
sequenceDiagram
    participant S1.master_link as S1 master-link
    participant S1.net1 as S1 net1
    participant S2.net2 as S2 net2
    participant S2.client1 as S2 client1
    participant S2.keyspace as S2 keyspace
    participant S2.replica1 as S2 replica1
    participant S1.keyspace as S1 keyspace
    participant S2.backlog as S2 backlog
    participant S2.client2 as S2 client2
    participant S1.link_io as S1 link-io
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
    S2.replica1->>S2.backlog: Acked(offset=N)
    S2.client2->>S2.keyspace: Exec(N items)
    S2.keyspace->>S2.backlog: Append(N bytes)
    S1.link_io->>S1.keyspace: ApplyStream(N items, N bytes)
";
    assert_eq!(d, want);
}

#[test]
fn real_names_and_offsets_without_normalize() {
    let d = diagram(TWO_MASTER, &Filter::default());
    assert!(d.contains("    participant S6379.replica_127_0_0_1_6380 as 6379 replica:127.0.0.1:6380\n"), "{d}");
    assert!(d.contains("    S6379.replica_127_0_0_1_6380->>S6379.backlog: Acked(offset=0) @0\n"), "{d}");
    assert!(d.contains("    S6379.keyspace->>S6379.backlog: Append(31 bytes) @31\n"), "{d}");
    assert!(d.contains("+FULLRESYNC 8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee 0\n"), "{d}");
    // Ids never hold ':' '-' or spaces.
    for l in d.lines().filter(|l| l.trim_start().starts_with("participant ")) {
        let id = l.split_whitespace().nth(1).unwrap();
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'), "{id}");
    }
}

#[test]
fn sanitized_ids_that_collide_get_suffixes() {
    let log = "1:M 06 Dec 2026 15:00:00.000 . [a] x:1 -> x_1: Ping\n";
    let d = diagram(log, &Filter::default());
    assert!(d.contains("participant Sa.x_1 as a x:1\n"), "{d}");
    assert!(d.contains("participant Sa.x_1_2 as a x_1\n"), "{d}");
    assert!(d.contains("Sa.x_1->>Sa.x_1_2: Ping\n"), "{d}");
}

#[test]
fn normalize_collapses_consecutive_repeats_only() {
    let log = "\
1:M 06 Dec 2026 15:00:00.000 . [6379] replica:127.0.0.1:6380 -> backlog: Acked(offset=14) {off=14}
1:M 06 Dec 2026 15:00:01.000 . [6379] replica:127.0.0.1:6380 -> backlog: Acked(offset=28) {off=28}
1:M 06 Dec 2026 15:00:02.000 . [6379] replica:127.0.0.1:6380 -> backlog: Acked(offset=42) {off=42}
1:M 06 Dec 2026 15:00:03.000 . [6379] backlog -> replica:127.0.0.1:6380: Stream(14 bytes)
1:M 06 Dec 2026 15:00:04.000 . [6379] replica:127.0.0.1:6380 -> backlog: Acked(offset=56) {off=56}
";
    let d = diagram(log, &norm());
    assert_eq!(
        arrows(&d),
        [
            "S1.replica1->>S1.backlog: Acked(offset=N) (x3)",
            "S1.backlog->>S1.replica1: Stream(N bytes)",
            "S1.replica1->>S1.backlog: Acked(offset=N)",
        ]
    );
    // Without --normalize nothing is collapsed.
    assert_eq!(arrows(&diagram(log, &Filter::default())).len(), 5);
}

#[test]
fn normalize_aliases_servers_and_names_in_order_of_first_appearance() {
    let log = "\
1:M 06 Dec 2026 15:00:00.000 . [21345] client:17 -> keyspace: Subscribe(replica:127.0.0.1:50123, from=0)
1:M 06 Dec 2026 15:00:00.001 . [21345] replica:127.0.0.1:50123 -> backlog: Online
2:S 06 Dec 2026 15:00:00.002 . [21346] client:17 -> keyspace: Exec(2 items)
2:S 06 Dec 2026 15:00:00.003 . [21346] client:3 -> keyspace: Exec(2 items)
1:M 06 Dec 2026 15:00:00.004 . [21345] client:3 -> keyspace: Unwatch
";
    let d = diagram(log, &norm());
    assert_eq!(
        arrows(&d),
        [
            "S1.client1->>S1.keyspace: Subscribe(replica1, from=N)",
            "S1.replica1->>S1.backlog: Online",
            "S2.client1->>S2.keyspace: Exec(N items)",
            "S2.client2->>S2.keyspace: Exec(N items)",
            "S1.client2->>S1.keyspace: Unwatch",
        ]
    );
    assert!(d.contains("    participant S2.client1 as S2 client1\n"));
}

#[test]
fn normalize_rewrites_replids_and_numbers() {
    use render::{replace_numbers, replace_replids};
    let id = "8de1c0ffee8de1c0ffee8de1c0ffee8de1c0ffee";
    assert_eq!(replace_replids(&format!("PSYNC {id} 14")), "PSYNC <replid> 14");
    assert_eq!(replace_replids(&format!("x{id}")), format!("x{id}"));
    assert_eq!(replace_replids(&format!("$EOF:{id}")), "$EOF:<replid>");
    assert_eq!(replace_numbers("offset=-1, n=42 (4711 bytes) 127.0.0.1:6380"), "offset=N, n=N (N bytes) N.N.N.N:N");
    assert_eq!(replace_numbers("client1 a-1 x_2 S1"), "client1 a-N x_2 S1");
    assert_eq!(replace_numbers("-5 3-4"), "N N-N");
}

#[test]
fn mermaid_escaping() {
    assert_eq!(escape("a;b#c<d>e%f"), "a#59;b#35;c#60;d#62;e#37;f");
    assert_eq!(escape("x\ny"), "x y");
    let log = "1:M 06 Dec 2026 15:00:00.000 . [6379] client:1 -> keyspace: Exec(a;b) #1 50% {off=3}\n";
    let d = diagram(log, &Filter::default());
    assert!(d.contains("S6379.client_1->>S6379.keyspace: Exec(a#59;b) #35;1 50#37; @3\n"), "{d}");
    let body = d.lines().last().unwrap().split_once(": ").unwrap().1;
    assert!(!body.contains(';') || body.matches(';').count() == body.matches('#').count(), "{body}");
}

fn kinds_kept(filter: &Filter, log: &str) -> Vec<String> {
    merge(&[log]).into_iter().filter(|l| filter.keeps(l)).map(|l| l.kind).collect()
}

#[test]
fn filter_replica() {
    let log = "\
1:M 06 Dec 2026 15:00:00.000 . [6379] client:7 -> keyspace: A {conv=127.0.0.1:6380}
1:M 06 Dec 2026 15:00:00.001 . [6379] replica:127.0.0.1:6380 -> backlog: B
1:M 06 Dec 2026 15:00:00.002 . [6379] backlog -> replica:127.0.0.1:6381: C {conv=127.0.0.1:6381}
1:M 06 Dec 2026 15:00:00.003 . [6379] backlog -> replica:127.0.0.1:63801: D
1:S 06 Dec 2026 15:00:00.004 . [6380] master-link => net:127.0.0.1:6380: E
1:M 06 Dec 2026 15:00:00.005 . [6379] client:7 -> keyspace: F
";
    let f = Filter { replica: Some("127.0.0.1:6380".into()), ..Filter::default() };
    assert_eq!(kinds_kept(&f, log), ["A", "B", "E"]);
}

#[test]
fn filter_time_window_server_and_wire() {
    let log = "\
1:M 06 Dec 2026 15:00:00.000 . [6379] a -> b: A
1:M 06 Dec 2026 15:00:01.000 . [6379] a => net:1.2.3.4:5: B
2:S 06 Dec 2026 15:00:02.000 . [6380] a -> b: C
1:M 06 Dec 2026 15:00:03.000 . [6379] a -> b: D
";
    let at = |s| parse_time_of_day(s);
    let f = Filter { since: at("15:00:01.000"), until: at("15:00:02.000"), ..Filter::default() };
    assert_eq!(kinds_kept(&f, log), ["B", "C"]);
    let f = Filter { since: at("15:00:02.001"), ..Filter::default() };
    assert_eq!(kinds_kept(&f, log), ["D"]);
    let f = Filter { server: Some("6379".into()), ..Filter::default() };
    assert_eq!(kinds_kept(&f, log), ["A", "B", "D"]);
    let f = Filter { server: Some("[6380]".into()), ..Filter::default() };
    assert_eq!(kinds_kept(&f, log), ["C"]);
    let f = Filter { no_wire: true, ..Filter::default() };
    assert_eq!(kinds_kept(&f, log), ["A", "C", "D"]);
}

#[test]
fn filter_kind_uses_the_table() {
    let log = "\
1:S 06 Dec 2026 15:00:00.000 . [6380] master-link => net:127.0.0.1:6379: PING
1:S 06 Dec 2026 15:00:00.001 . [6380] master-link => net:127.0.0.1:6379: REPLCONF listening-port 6380
1:S 06 Dec 2026 15:00:00.002 . [6380] master-link => net:127.0.0.1:6379: PSYNC ? -1
1:M 06 Dec 2026 15:00:00.003 . [6379] client:7 -> keyspace: Psync(replid=?, offset=-1)
1:M 06 Dec 2026 15:00:00.004 . [6379] keyspace --> client:7: FullResync
1:M 06 Dec 2026 15:00:00.005 . [6379] replica:127.0.0.1:6380 => net:127.0.0.1:50432: +FULLRESYNC abc 0
1:S 06 Dec 2026 15:00:00.006 . [6380] net:127.0.0.1:6379 => link-io: RDB end (4711 bytes)
1:M 06 Dec 2026 15:00:00.007 . [6379] keyspace -> backlog: Append(31 bytes)
1:M 06 Dec 2026 15:00:00.008 . [6379] client:9 -> backlog: WaitAcks(target=31, n=1)
1:M 06 Dec 2026 15:00:00.009 . [6379] replica:127.0.0.1:6380 => net:127.0.0.1:50432: REPLCONF GETACK *
1:M 06 Dec 2026 15:00:00.010 . [6379] replica:127.0.0.1:6380 -> backlog: Acked(offset=45)
1:M 06 Dec 2026 15:00:00.011 . [6379] failover -> backlog: WaitSynced(offset=45)
1:M 06 Dec 2026 15:00:00.012 . [6379] master-link => net:127.0.0.1:6380: PSYNC abc 46 FAILOVER
1:S 06 Dec 2026 15:00:00.013 . [6380] master-link -> keyspace: SetRole(replica=false)
1:M 06 Dec 2026 15:00:00.014 . [6379] client:7 -> keyspace: SomethingNew
1:M 06 Dec 2026 15:00:00.015 . [6379] a => net:1.2.3.4:5: PINGS
";
    let kept = |k: &str| {
        let f = Filter { kind: kind_spec(k), ..Filter::default() };
        assert!(f.kind.is_some(), "{k}");
        kinds_kept(&f, log)
    };
    assert_eq!(kept("handshake"), ["PING", "REPLCONF"]);
    assert_eq!(kept("psync"), ["PSYNC", "Psync", "FullResync", "+FULLRESYNC", "PSYNC"]);
    assert_eq!(kept("fullsync"), ["FullResync", "+FULLRESYNC", "RDB", "SetRole"]);
    assert_eq!(kept("propagation"), ["Append", "REPLCONF", "Acked"]);
    assert_eq!(kept("wait"), ["WaitAcks", "REPLCONF", "Acked"]);
    assert_eq!(kept("failover"), ["WaitSynced", "PSYNC", "SetRole"]);
    assert_eq!(kept("PROMOTION"), ["PSYNC", "SetRole"]);
    // Unknown names (SomethingNew, PINGS) only under `all`.
    assert_eq!(kinds_kept(&Filter::default(), log).len(), 16);
    let unknown: Vec<TraceLine> = merge(&[log]).into_iter().filter(|l| kinds_of(l).is_empty()).collect();
    assert_eq!(unknown.iter().map(|l| l.kind.as_str()).collect::<Vec<_>>(), ["SomethingNew", "PINGS"]);
    assert_eq!(kind_spec("all"), None);
    assert_eq!(kind_names()[0], "all");
    assert_eq!(kind_names().len(), KINDS.len() + 1);
}

#[test]
fn wire_patterns() {
    use kinds::wire_matches;
    assert!(wire_matches("PING", "PING"));
    assert!(wire_matches("PING", "ping now"));
    assert!(!wire_matches("PING", "PINGS"));
    assert!(wire_matches("*", "*3"));
    assert!(wire_matches("REPLCONF ACK", "REPLCONF ACK 14"));
    assert!(!wire_matches("REPLCONF ACK", "REPLCONF ACKS"));
    assert!(wire_matches("PSYNC ... FAILOVER", "PSYNC abc 46 FAILOVER"));
    assert!(!wire_matches("PSYNC ... FAILOVER", "PSYNC abc 46"));
    assert!(!wire_matches("PSYNC ... FAILOVER", "PSYNC abc NOFAILOVER"));
    assert!(wire_matches("PSYNC ... FAILOVER", "PSYNC FAILOVER"));
    assert!(!wire_matches("PSYNC ... FAILOVER", "FAILOVER"));
    assert!(!wire_matches("PSYNC ... PSYNC", "PSYNC"));
}

#[test]
fn cli_parses_options() {
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    match cli::parse_args(&args(
        "diagram --replica 127.0.0.1:6380 --since 15:00:00.500 --until=15:00:01 --kind wait --server 6379 --no-wire --normalize a.log -",
    ))
    .unwrap()
    {
        cli::Command::Diagram { filter, files } => {
            assert_eq!(filter.replica.as_deref(), Some("127.0.0.1:6380"));
            assert_eq!(filter.since, Some(54_000_500));
            assert_eq!(filter.until, Some(54_001_000));
            assert_eq!(filter.kind.map(|k| k.name), Some("wait"));
            assert_eq!(filter.server.as_deref(), Some("6379"));
            assert!(filter.no_wire && filter.normalize);
            assert_eq!(files, ["a.log", "-"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(cli::parse_args(&args("diagram --kind all")), Ok(cli::Command::Diagram { filter, .. }) if filter.kind.is_none()));
    assert!(matches!(cli::parse_args(&args("--help")), Ok(cli::Command::Help)));
    assert!(matches!(cli::parse_args(&args("diagram -h")), Ok(cli::Command::Help)));
    for bad in ["", "draw", "diagram --kind nope", "diagram --since 9", "diagram --replica", "diagram --bogus", "diagram --normalize=1"] {
        assert!(cli::parse_args(&args(bad)).is_err(), "{bad}");
    }
}

#[test]
fn cli_reads_stdin_when_no_file_is_named() {
    let mut input = TWO_MASTER.as_bytes();
    let out = cli::run(&["diagram".to_string(), "--normalize".to_string()], &mut input).unwrap();
    assert_eq!(out, diagram(TWO_MASTER, &norm()));
    let help = cli::run(&["--help".to_string()], &mut &b""[..]).unwrap();
    assert_eq!(help, cli::USAGE);
    assert!(cli::run(&["diagram".to_string(), "/nonexistent/x.log".to_string()], &mut &b""[..]).is_err());
}
