#!/usr/bin/env python3
"""Regenerates the committed seed corpora of tests/fuzz.rs (tests/fuzz-corpus/<target>/).

Starts a real redis-server 7.0 and tandem (target/release/tandem) on loopback, builds the
same dataset in both (every type and encoding: strings int/embstr/raw/LZF, lists listpack,
quicklist and plain nodes, sets intset/hashtable, zsets listpack/skiplist, hashes
listpack/hashtable, streams with consumer groups, HyperLogLogs, expires, functions, several
databases) and saves: whole and per-type RDBs, DUMP payloads of every key, AOF files and
manifests, request and replication streams, configuration files.

usage: scripts/fuzz-seeds.py [redis-server] [tandem]
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "tests", "fuzz-corpus")
REDIS = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/redis-server"
TANDEM = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "target", "release", "tandem")


def resp(argv):
    out = b"*%d\r\n" % len(argv)
    for a in argv:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _more(self):
        chunk = self.s.recv(1 << 16)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            return Exception(rest.decode(errors="replace"))
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._more()
            body, self.buf = self.buf[:n], self.buf[n + 2:]
            return body
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ValueError(line)

    def call(self, *argv):
        self.s.sendall(resp(argv))
        return self._reply()

    def pipeline(self, cmds):
        self.s.sendall(b"".join(resp(c) for c in cmds))
        return [self._reply() for _ in cmds]


def groups():
    """The dataset, by type: (group name, commands)."""
    big = "x" * 100
    g = {}
    g["strings"] = [
        ("SET", "s:int", "12345"), ("SET", "s:neg", "-7"), ("SET", "s:i64", "9223372036854775807"),
        ("SET", "s:embstr", "hello"), ("SET", "s:raw", big), ("SET", "s:lzf", "abcd" * 500),
        ("SET", "s:empty", ""), ("SET", "s:bin", b"\x00\xff\r\n\x80"),
        ("SETBIT", "s:bitmap", "1000", "1"), ("INCRBYFLOAT", "s:float", "3.25"),
        ("SET", "s:ttl", "v", "PX", "100000000"),
    ]
    g["lists"] = [("RPUSH", "l:small", "a", "b", "c", "1", "2", "-300", "70000", "5000000000")]
    g["lists"] += [("RPUSH", "l:big") + tuple("%s-%d" % (big, i) for i in range(300))]
    g["lists"] += [("RPUSH", "l:ints") + tuple(str(i * 7919 - 10**6) for i in range(200))]
    g["lists"] += [("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "200"), ("RPUSH", "l:plain", "p" * 300, "small", "q" * 500),
                   ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1073741824")]
    g["sets"] = [("SADD", "set:int", "1", "2", "3", "-5", "70000", "5000000000"),
                 ("SADD", "set:str", "a", "b", "c", "hello"),
                 ("SADD", "set:bigint") + tuple(str(i * 3) for i in range(600)),
                 ("SADD", "set:big") + tuple("m%d" % i for i in range(200))]
    g["zsets"] = [("ZADD", "z:small", "1", "a", "2.5", "b", "-inf", "c", "+inf", "d", "0", "42"),
                  ("ZADD", "z:big") + tuple(x for i in range(200) for x in (str(i / 3), "m%d" % i)),
                  ("ZADD", "z:long", "1", "l" * 100),
                  ("GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")]
    g["hashes"] = [("HSET", "h:small", "f1", "v1", "f2", "2", "n", "-12345678901"),
                   ("HSET", "h:big") + tuple(x for i in range(200) for x in ("f%d" % i, "v%d" % i)),
                   ("HSET", "h:long", "f", "v" * 100)]
    s = [("XADD", "st", "1-1", "a", "1", "b", "2"), ("XADD", "st", "1-2", "a", "3"),
         ("XADD", "st", "2-0", "c", "x" * 80)]
    s += [("XADD", "st", "%d-0" % (10 + i), "f", str(i), "g", "v%d" % i) for i in range(120)]
    s += [("XDEL", "st", "1-2"), ("XGROUP", "CREATE", "st", "g1", "0"), ("XGROUP", "CREATE", "st", "g2", "$"),
          ("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "st", ">"),
          ("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "st", ">"),
          ("XACK", "st", "g1", "1-1"), ("XGROUP", "CREATECONSUMER", "st", "g2", "carol"),
          ("XADD", "st:empty", "5-5", "k", "v"), ("XDEL", "st:empty", "5-5"),
          ("XADD", "st:trim", "MAXLEN", "2", "*", "a", "1"), ("XADD", "st:trim", "*", "a", "2")]
    g["streams"] = s
    g["hll"] = [("PFADD", "hll:sparse", "a", "b", "c"), ("PFADD", "hll:dense") + tuple("e%d" % i for i in range(3000))]
    g["expires"] = [("SET", "e:1", "v"), ("PEXPIREAT", "e:1", "4102444800000"),
                    ("RPUSH", "e:list", "a"), ("EXPIRE", "e:list", "1000000"),
                    ("HSET", "e:hash", "f", "v"), ("PEXPIRE", "e:hash", "99999999")]
    g["functions"] = [("FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return 1 end)")]
    g["dbs"] = [("SELECT", "1"), ("SET", "db1:k", "v"), ("SELECT", "15"), ("LPUSH", "db15:l", "x"), ("SELECT", "0")]
    return g


def start(binary, workdir, extra=()):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
            "--enable-debug-command", "yes", "--logfile", os.path.join(workdir, "log")] + list(extra)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            c = Client(port)
            if c.call("PING") == b"PONG":
                return proc, c
        except (OSError, EOFError):
            time.sleep(0.05)
    raise RuntimeError("%s did not start" % binary)


def stop(proc):
    proc.terminate()
    proc.wait()


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def build(c, cmds):
    for r in c.pipeline(cmds):
        if isinstance(r, Exception) and "QUICKLIST" not in str(r):
            print("  note:", r)


def save(c, workdir):
    c.call("SAVE")
    with open(os.path.join(workdir, "dump.rdb"), "rb") as f:
        return f.read()


def rdb_and_dumps(tag, binary):
    work = tempfile.mkdtemp(prefix="fuzz-seeds-")
    proc, c = start(binary, work)
    try:
        g = groups()
        for name, cmds in g.items():
            c.call("FLUSHALL")
            c.call("FUNCTION", "FLUSH")
            build(c, cmds)
            write("rdb", "%s-%s.rdb" % (tag, name), save(c, work))
        c.call("FLUSHALL")
        for cmds in g.values():
            build(c, cmds)
        write("rdb", "%s-all.rdb" % tag, save(c, work))
        for db in ("0", "1", "15"):
            c.call("SELECT", db)
            for k in c.call("KEYS", "*"):
                payload = c.call("DUMP", k)
                if isinstance(payload, bytes):
                    write("restore", "%s-%s.dump" % (tag, k.decode().replace(":", "_")), payload)
        c.call("SELECT", "0")
        fd = c.call("FUNCTION", "DUMP")
        if isinstance(fd, bytes):
            write("restore", "%s-functions.dump" % tag, fd)
    finally:
        stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def aof_files(tag, binary, preamble):
    work = tempfile.mkdtemp(prefix="fuzz-seeds-aof-")
    proc, c = start(binary, work, ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble, "--aof-timestamp-enabled", "yes"])
    try:
        g = groups()
        build(c, g["strings"] + g["hashes"] + g["expires"])
        c.call("BGREWRITEAOF")
        time.sleep(1.5)
        build(c, g["lists"][:1] + g["zsets"][:1] + g["streams"][:12] + g["dbs"])
        build(c, [("MULTI",), ("INCR", "s:int"), ("LPUSH", "l:small", "z"), ("EXEC",)])
        time.sleep(1.2)
        d = os.path.join(work, "appendonlydir")
        for f in sorted(os.listdir(d)):
            with open(os.path.join(d, f), "rb") as fh:
                data = fh.read()
            kind = "aof_manifest" if f.endswith(".manifest") else "aof"
            write(kind, "%s-preamble-%s-%s" % (tag, preamble, f), data)
    finally:
        stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def streams():
    """Request pipelines (multibulk and inline) and master replication streams."""
    g = groups()
    write("resp", "pipeline", b"".join(resp(c) for c in g["strings"] + g["hashes"][:1]))
    write("resp", "inline", b"PING\r\nSET k \"a b\\x41\"\nGET k\r\n\r\necho 'it''s'\n")
    write("resp", "mixed", resp(("SET", "k", "v")) + b"PING\r\n" + resp(("MGET",) + tuple("k%d" % i for i in range(70))) + b"*0\r\n*-1\r\n")
    write("resp", "big-bulk", resp(("SET", "k", "v" * 70000)))
    safe = lambda cmds: [c for c in cmds if c[0] not in ("SETBIT", "DEBUG", "FUNCTION")]
    for name, cmds in g.items():
        body = resp(("SELECT", "0")) + b"".join(resp(c) for c in safe(cmds))
        write("repl", name, body)
    write("repl", "multi", resp(("SELECT", "3")) + resp(("MULTI",)) + resp(("SET", "a", "1")) + resp(("INCR", "a")) +
          resp(("EXEC",)) + resp(("PING",)) + resp(("REPLCONF", "GETACK", "*")) + b"\n" +
          resp(("EXPIREAT", "a", "1")) + resp(("DEL", "a")))
    write("repl", "inline-and-junk", b"SET x 1\r\nPING\r\n\n" + resp(("NOSUCHCMD", "a")) + resp(("GET",)))


def configs():
    for src, name in (("/etc/redis/redis.conf", "redis.conf"), (os.path.join(ROOT, "config", "tandem.conf"), "tandem.conf")):
        if os.path.exists(src):
            with open(src, "rb") as f:
                write("config", name, f.read())
    write("config", "small.conf", b"port 0\nsave \"\"\nsave 900 1 300 10\nmaxmemory 1gb\nmaxmemory-policy allkeys-lru\n"
          b"client-output-buffer-limit replica 256mb 64mb 60\nrename-command FLUSHALL \"\"\nuser alice on >pw ~* +@all\n"
          b"notify-keyspace-events KEA\nreplicaof 127.0.0.1 6379\nbind 127.0.0.1 -::1\nlist-max-listpack-size -2\n"
          b"oom-score-adj-values 0 200 800\nlatency-tracking-info-percentiles 50 99 99.9\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    rdb_and_dumps("redis7", REDIS)
    rdb_and_dumps("tandem", TANDEM)
    aof_files("redis7", REDIS, "yes")
    aof_files("redis7", REDIS, "no")
    aof_files("tandem", TANDEM, "yes")
    streams()
    configs()
    for i in range(4):
        write("commands", "random-%d" % i, os.urandom(64 * (i + 1)))
    print("seeds written under", OUT)


if __name__ == "__main__":
    main()
