#!/usr/bin/env python3
"""In-place string writes, tandem against real redis-server side by side (issue 9).

  scripts/bench-string-writes.py [--ours target/release/tandem] [--rounds 3]

Scenarios (the same commands, written once, sent with redis-cli --pipe to each side):
  append    APPEND of 1 KB to one key, 100,000 times, in 10 steps of 10,000: the rate of each
            step shows whether a call costs more as the value grows (it must not)
  setbit    SETBIT at random offsets in a 16 MB bitmap, 100,000 times
  setrange  SETRANGE of 16 bytes at random offsets in a 64 MB string, 100,000 times

Prints requests per second for each side and the ratio ours/redis (above 1: ours faster).
"""
import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REDIS = "/usr/bin/redis-server"
CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, name):
        self.name, self.port = name, free_port()
        self.dir = tempfile.mkdtemp(prefix=f"bench-str-{name}-")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.cli("PING") == "PONG":
                return
            time.sleep(0.05)
        sys.exit(f"{name} did not start")

    def cli(self, *args):
        r = subprocess.run([CLI, "-p", str(self.port), *args], capture_output=True, text=True)
        return r.stdout.strip()

    def pipe(self, path, n):
        """Sends the commands in `path` with redis-cli --pipe; returns commands per second."""
        t = time.perf_counter()
        with open(path, "rb") as f:
            r = subprocess.run([CLI, "-p", str(self.port), "--pipe"], stdin=f, capture_output=True, text=True)
        dt = time.perf_counter() - t
        if f"replies: {n}" not in r.stdout or "errors: 0" not in r.stdout:
            sys.exit(f"{self.name}: redis-cli --pipe did not get {n} good replies:\n{r.stdout}{r.stderr}")
        return n / dt

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for x in args:
        x = x if isinstance(x, bytes) else str(x).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(x), x))
    return b"".join(out)


def write_cmds(path, cmds):
    with open(path, "wb") as f:
        for c in cmds:
            f.write(resp(*c))
    return path


N = 100_000
BITS = 16 * 1024 * 1024 * 8
STR = 64 * 1024 * 1024


def make_inputs(tmp):
    rnd = random.Random(9)
    return {
        "append": write_cmds(os.path.join(tmp, "append"), [("APPEND", "k", b"x" * 1024)] * (N // 10)),
        "setbit": write_cmds(os.path.join(tmp, "setbit"), [("SETBIT", "bm", rnd.randrange(BITS), rnd.randrange(2)) for _ in range(N)]),
        "setrange": write_cmds(os.path.join(tmp, "setrange"), [("SETRANGE", "s", rnd.randrange(STR - 16), b"0123456789abcdef") for _ in range(N)]),
    }


def append_steps(s, inputs):
    s.cli("DEL", "k")
    return [s.pipe(inputs["append"], N // 10) for _ in range(10)]


def setbit(s, inputs):
    s.cli("DEL", "bm")
    s.cli("SETBIT", "bm", str(BITS - 1), "1")
    return s.pipe(inputs["setbit"], N)


def setrange(s, inputs):
    s.cli("DEL", "s")
    s.cli("SETRANGE", "s", str(STR - 1), "x")
    return s.pipe(inputs["setrange"], N)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", default="target/release/tandem")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-str-input-")
    inputs = make_inputs(tmp)
    results = {"ours": {"append": [], "steps": [], "setbit": [], "setrange": []},
               "redis": {"append": [], "steps": [], "setbit": [], "setrange": []}}
    for _ in range(args.rounds):
        for side, binary in (("ours", args.ours), ("redis", REDIS)):
            s = Server(binary, side)
            try:
                steps = append_steps(s, inputs)
                r = results[side]
                r["steps"].append(steps)
                r["append"].append(len(steps) / sum(1 / x for x in steps))
                r["setbit"].append(setbit(s, inputs))
                r["setrange"].append(setrange(s, inputs))
            finally:
                s.stop()
    summary = []
    for sc in ("append", "setbit", "setrange"):
        o, r = statistics.median(results["ours"][sc]), statistics.median(results["redis"][sc])
        print(f"{sc:9s} ours {o:10.0f}/s  redis {r:10.0f}/s  ratio {o / r:.2f}")
        summary.append(f"{sc}={o / r:.2f}")
    for side in ("ours", "redis"):
        steps = [statistics.median(col) for col in zip(*results[side]["steps"])]
        print(f"append steps ({side}, 10k each as the value grows to 100 MB): "
              + " ".join(f"{x:.0f}" for x in steps)
              + f"  last/first {steps[-1] / steps[0]:.2f}")
    print(" ".join(summary))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
