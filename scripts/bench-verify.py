#!/usr/bin/env python3
"""Cost of the consistency proof (tandem-verify) on master throughput: a tandem master with N
keys and a tandem replica, redis-benchmark SET -P 16 on the master's keys for D seconds, with
repl-verify-period 0 (no rounds) and with the given periods, alternating, medians.

Usage: scripts/bench-verify.py [--keys N] [--seconds D] [--rounds R] [--periods 60,5,1]
"""
import argparse
import re
import socket
import statistics
import subprocess
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True).stdout.strip()


def start(binary, port, extra):
    d = tempfile.mkdtemp(prefix="verifybench")
    p = subprocess.Popen([binary, "--port", str(port), "--save", "", "--dir", d, "--logfile", f"{d}/log"] + extra,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if cli(port, "PING") == "PONG":
            return p
        time.sleep(0.02)
    raise SystemExit("did not start")


def run(binary, keys, seconds, period):
    mp, rp = free_port(), free_port()
    m = start(binary, mp, ["--repl-verify-period", str(period)])
    subprocess.run(["redis-benchmark", "-p", str(mp), "-t", "set", "-n", str(2 * keys), "-r", str(keys), "-d", "100", "-P", "32", "-q"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = start(binary, rp, ["--replicaof", "127.0.0.1", str(mp)])
    while "master_link_status:up" not in cli(rp, "INFO", "replication"):
        time.sleep(0.05)
    n = 400_000 * seconds
    out = subprocess.run(["redis-benchmark", "-p", str(mp), "-t", "set", "-n", str(n), "-r", str(keys), "-d", "100", "-P", "16", "-c", "50", "-q"],
                         capture_output=True, text=True).stdout
    rps = float(re.findall(r"([0-9.]+) requests per second", out)[-1])
    info = cli(mp, "INFO", "replication")
    rounds = re.search(r"repl_verify_rounds:(\d+)", info)
    for p in (r, m):
        p.kill()
        p.wait()
    return rps, int(rounds.group(1)) if rounds else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", default="target/release/tandem")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--periods", default="60,5,1")
    a = ap.parse_args()
    periods = [0] + [int(p) for p in a.periods.split(",")]
    results = {p: [] for p in periods}
    rounds = {p: 0 for p in periods}
    for _ in range(a.rounds):
        for p in periods:
            rps, n = run(a.ours, a.keys, a.seconds, p)
            results[p].append(rps)
            rounds[p] += n
    base = statistics.median(results[0])
    print(f"{a.keys} keys, SET -P 16 -c 50 for about {a.seconds} s, median of {a.rounds}")
    for p in periods:
        med = statistics.median(results[p])
        print(f"repl-verify-period {p:3}: {med:12,.0f} ops/s  {med / base:6.3f} of no rounds  ({rounds[p]} rounds in all)")


if __name__ == "__main__":
    main()
