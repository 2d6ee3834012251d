#!/usr/bin/env python3
"""Pub/Sub throughput, tandem against real redis-server, side by side, rounds alternated.

Two scenarios, each measured as messages delivered per second (PUBLISH calls per second
times the receivers each PUBLISH answered):
  fanout    50 subscribers (redis-cli SUBSCRIBE processes, reading as fast as they can) on one
            channel; redis-benchmark publishes to it (50 clients, pipeline 16).
  patterns  one PSUBSCRIBE 'ch:*' subscriber; redis-benchmark publishes to 1,000 channels
            ch:<n> (random), so every message is matched against the pattern.

  scripts/bench-pubsub.py --ours target/release/tandem [--rounds 3] [--requests 200000]

Prints ours/redis ratios (above 1.0: ours delivers more). Needs redis-server, redis-cli,
redis-benchmark.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
BENCH = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(port, *args):
    return subprocess.run([CLI, "-p", str(port), *args], capture_output=True, text=True, timeout=30).stdout.strip()


class Server:
    def __init__(self, binary):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="bench-pubsub-")
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while cli(self.port, "PING") != "PONG":
            if time.time() > deadline:
                raise SystemExit(f"{binary} did not start")
            time.sleep(0.05)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def subscribers(port, n, args):
    procs = [subprocess.Popen([CLI, "-p", str(port), *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(n)]
    return procs


def publish_rate(port, cmd, requests):
    out = subprocess.run([BENCH, "-p", str(port), "-n", str(requests), "-c", "50", "-P", "16", "-q", *cmd],
                         capture_output=True, text=True, timeout=600).stdout
    m = re.findall(r"([\d.]+) requests per second", out.replace("\r", "\n"))
    if not m:
        raise SystemExit(f"redis-benchmark gave no figure: {out[-300:]}")
    return float(m[-1])


def run(binary, scenario, requests):
    srv = Server(binary)
    try:
        if scenario == "fanout":
            procs = subscribers(srv.port, 50, ["SUBSCRIBE", "news"])
            want, cmd, probe = 50, ["PUBLISH", "news", "x" * 32], ["PUBSUB", "NUMSUB", "news"]
        else:
            procs = subscribers(srv.port, 1, ["PSUBSCRIBE", "ch:*"])
            want, cmd, probe = 1, ["-r", "1000", "PUBLISH", "ch:__rand_int__", "x" * 32], ["PUBSUB", "NUMPAT"]
        deadline = time.time() + 20
        while True:
            got = cli(srv.port, *probe).split()
            if got and got[-1] == str(want if scenario == "fanout" else 1):
                break
            if time.time() > deadline:
                raise SystemExit("subscribers did not attach")
            time.sleep(0.05)
        receivers = int(cli(srv.port, "PUBLISH", "news" if scenario == "fanout" else "ch:1", "probe"))
        rate = publish_rate(srv.port, cmd, requests)
        for p in procs:
            p.kill()
        return rate * receivers
    finally:
        srv.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ours", required=True)
    p.add_argument("--redis", default="/usr/bin/redis-server")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=200000)
    a = p.parse_args()
    summary = {}
    print(f"{'scenario':<12}{'ours msg/s':>16}{'redis msg/s':>16}{'ours/redis':>12}")
    for scenario in ["fanout", "patterns"]:
        ours, theirs = [], []
        for _ in range(a.rounds):
            ours.append(run(os.path.abspath(a.ours), scenario, a.requests))
            theirs.append(run(a.redis, scenario, a.requests))
        om, rm = statistics.median(ours), statistics.median(theirs)
        summary[f"{scenario}_ratio"] = round(om / rm, 3)
        print(f"{scenario:<12}{om:>16,.0f}{rm:>16,.0f}{om / rm:>12.2f}")
    print(" ".join(f"{k}={v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
